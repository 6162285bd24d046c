"""The TCP segment as it travels (RFC 9293 §3.1)."""

from __future__ import annotations

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80

TCP_HEADER_LEN = 20

# tcpdump's table order (print-tcp.c): F S R P . U E W, with "." for ACK.
_FLAG_LETTERS = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."), (URG, "U"), (ECE, "E"), (CWR, "W"))

_flags_cache: dict[int, str] = {}


def flags_text(flags: int) -> str:
    """tcpdump's rendering of the flag byte: ``S``, ``S.``, ``.``, ``P.``, ``F.``, ``R``, ``R.``."""
    text = _flags_cache.get(flags)
    if text is None:
        text = "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit) or "none"
        _flags_cache[flags] = text
    return text


class Segment:
    """One TCP segment.

    ``window`` is the raw 16-bit header field (already right-shifted by the
    sender's window scale). Options are carried as typed fields, ``None`` or
    empty when absent. ``payload`` holds the real bytes of the segment text.
    """

    __slots__ = (
        "sport", "dport", "seq", "ack", "flags", "window", "payload",
        "mss", "wscale", "sack_ok", "ts_val", "ts_ecr", "sack", "urg_ptr",
    )

    def __init__(
        self,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        window: int,
        payload: bytes = b"",
        mss: int | None = None,
        wscale: int | None = None,
        sack_ok: bool = False,
        ts_val: int | None = None,
        ts_ecr: int | None = None,
        sack: tuple[tuple[int, int], ...] = (),
        urg_ptr: int = 0,
    ) -> None:
        self.sport = sport
        self.dport = dport
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.window = window
        self.payload = payload
        self.mss = mss
        self.wscale = wscale
        self.sack_ok = sack_ok
        self.ts_val = ts_val
        self.ts_ecr = ts_ecr
        self.sack = sack
        self.urg_ptr = urg_ptr

    @property
    def length(self) -> int:
        """Bytes of segment text (tcpdump's ``length``)."""
        return len(self.payload)

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293: text plus one for SYN and one for FIN."""
        n = len(self.payload)
        if self.flags & SYN:
            n += 1
        if self.flags & FIN:
            n += 1
        return n

    def options_len(self) -> int:
        """Bytes of TCP options as they would be encoded (padded to 4)."""
        n = 0
        if self.mss is not None:
            n += 4
        if self.wscale is not None:
            n += 3
        if self.sack_ok:
            n += 2
        if self.ts_val is not None:
            n += 10
        if self.sack:
            n += 2 + 8 * len(self.sack)
        return (n + 3) & ~3

    @property
    def header_len(self) -> int:
        if self.mss is None and self.wscale is None and not self.sack_ok and self.ts_val is None and not self.sack:
            return TCP_HEADER_LEN
        return TCP_HEADER_LEN + self.options_len()

    def options_text(self) -> str:
        """Options in tcpdump's spelling, e.g. ``mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7``."""
        parts: list[str] = []
        if self.mss is not None:
            parts.append(f"mss {self.mss}")
        if self.sack_ok:
            parts.append("sackOK")
        if self.ts_val is not None:
            parts.append(f"TS val {self.ts_val} ecr {self.ts_ecr or 0}")
        if self.sack:
            parts.append(f"sack {len(self.sack)} " + " ".join(f"{{{a}:{b}}}" for a, b in self.sack))
        if self.wscale is not None:
            parts.append("nop")
            parts.append(f"wscale {self.wscale}")
        return ",".join(parts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in Segment.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        text = f"Segment({self.sport}>{self.dport} {flags_text(self.flags)} seq={self.seq} ack={self.ack} win={self.window} len={len(self.payload)}"
        opts = self.options_text()
        if opts:
            text += f" <{opts}>"
        return text + ")"
