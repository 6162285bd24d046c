"""SYN cookies: the listener's state folded into the ISN of its SYN-ACK.

The layout follows Linux's secure_tcp_syn_cookie(): the cookie is
H1(4-tuple) + the peer's ISN + (minute counter << 24) + ((H2(4-tuple,
counter) + MSS index) mod 2**24). The final ACK carries cookie + 1 back; the
listener recomputes the hashes and accepts it when the counter is less than
two minutes old and the MSS index is valid. Only the MSS survives, rounded
down to the table {536, 1300, 1440, 1460}; with timestamps, the low six bits
of our TS value carry the peer's window scale and SACK permission
(cookie_init_timestamp()), which the ACK's TS echo returns.

Pure: the clock is ``now``, the key is the host's.
"""

from __future__ import annotations

import hashlib

MSS_TABLE = (536, 1300, 1440, 1460)
COOKIE_BITS = 24
COOKIE_MASK = (1 << COOKIE_BITS) - 1
MAX_AGE = 2  # minutes (Linux MAX_SYNCOOKIE_AGE)
TS_OPT_MASK = 0x3F
TS_WSCALE_NONE = 0xF
TS_SACK = 1 << 4


def mss_index(mss: int) -> int:
    """The largest table entry that does not exceed ``mss``."""
    idx = 0
    for i, v in enumerate(MSS_TABLE):
        if v <= mss:
            idx = i
    return idx


class SynCookies:
    __slots__ = ("key",)

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _h(self, laddr: str, lport: int, raddr: str, rport: int, count: int, c: int) -> int:
        msg = f"{raddr}:{rport}>{laddr}:{lport}/{count}/{c}".encode()
        return int.from_bytes(hashlib.blake2s(msg, key=self.key, digest_size=4).digest(), "big")

    @staticmethod
    def counter(now: float) -> int:
        return int(now // 60)

    def make(self, now: float, laddr: str, lport: int, raddr: str, rport: int, peer_isn: int, mss: int) -> tuple[int, int]:
        """(our ISN, the MSS it encodes) for a SYN from ``raddr:rport`` announcing ``mss``."""
        idx = mss_index(mss)
        count = self.counter(now)
        cookie = (self._h(laddr, lport, raddr, rport, 0, 0) + peer_isn + (count << COOKIE_BITS)
                  + ((self._h(laddr, lport, raddr, rport, count, 1) + idx) & COOKIE_MASK))
        return cookie & 0xFFFFFFFF, MSS_TABLE[idx]

    def check(self, now: float, laddr: str, lport: int, raddr: str, rport: int, peer_isn: int, cookie: int) -> int | None:
        """The MSS the cookie carries, or None if it is forged or stale."""
        v = (cookie - self._h(laddr, lport, raddr, rport, 0, 0) - peer_isn) & 0xFFFFFFFF
        count = self.counter(now)
        diff = (count - (v >> COOKIE_BITS)) & (0xFFFFFFFF >> COOKIE_BITS)
        if diff >= MAX_AGE:
            return None
        idx = (v - self._h(laddr, lport, raddr, rport, count - diff, 1)) & COOKIE_MASK
        if idx >= len(MSS_TABLE):
            return None
        return MSS_TABLE[idx]


def encode_ts(ts_now: int, wscale: int | None, sack_ok: bool) -> int:
    """Our TS value on a cookie SYN-ACK, with the peer's options in the low six bits."""
    opts = (wscale if wscale is not None else TS_WSCALE_NONE) | (TS_SACK if sack_ok else 0)
    ts = (ts_now & ~TS_OPT_MASK) | opts
    if ts > ts_now:
        ts -= TS_OPT_MASK + 1
    return ts & 0xFFFFFFFF


def decode_ts(ts_ecr: int) -> tuple[int | None, bool]:
    """(peer window scale or None, SACK permitted) from the echoed TS value."""
    opts = ts_ecr & TS_OPT_MASK
    ws = opts & 0xF
    return (None if ws == TS_WSCALE_NONE else ws), bool(opts & TS_SACK)
