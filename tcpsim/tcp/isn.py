"""Initial sequence numbers.

``rfc6528``: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
with M a 4-microsecond clock and F a keyed hash (RFC 6528 §3). ``random``:
one draw per connection from the host's seeded stream. Both are pure: the
clock is the ``now`` passed in, the key and the stream belong to the host.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


class RandomSource(Protocol):
    """What the core needs of a seeded stream (``random.Random`` fits)."""

    def getrandbits(self, k: int, /) -> int: ...


class IsnGenerator:
    __slots__ = ("mode", "rng", "secret")

    def __init__(self, mode: str, rng: RandomSource) -> None:
        if mode not in ("rfc6528", "random"):
            raise ValueError(f"unknown ISN generator {mode!r} (expected rfc6528 or random)")
        self.mode = mode
        self.rng = rng
        self.secret = rng.getrandbits(128).to_bytes(16, "big")

    def __call__(self, now: float, laddr: str, lport: int, raddr: str, rport: int) -> int:
        if self.mode == "random":
            return self.rng.getrandbits(32)
        m = int(now * 250_000)  # RFC 6528: M ticks every 4 microseconds
        h = hashlib.blake2s(f"{laddr}:{lport}>{raddr}:{rport}".encode(), key=self.secret, digest_size=4).digest()
        return (m + int.from_bytes(h, "big")) & 0xFFFFFFFF
