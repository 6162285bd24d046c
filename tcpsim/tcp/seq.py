"""Sequence-number arithmetic modulo 2**32 (RFC 9293 §3.4, RFC 1982).

Comparisons are valid for numbers less than 2**31 apart, which TCP's window
rules guarantee.
"""

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31


def add(a: int, n: int) -> int:
    return (a + n) & MASK


def sub(a: int, b: int) -> int:
    """The signed distance a - b, in (-2**31, 2**31]."""
    d = (a - b) & MASK
    return d - MOD if d >= HALF else d


def lt(a: int, b: int) -> bool:
    return ((a - b) & MASK) >= HALF


def le(a: int, b: int) -> bool:
    return a == b or ((a - b) & MASK) >= HALF


def gt(a: int, b: int) -> bool:
    return lt(b, a)


def ge(a: int, b: int) -> bool:
    return le(b, a)


def between(lo: int, x: int, hi: int) -> bool:
    """lo <= x <= hi in sequence space."""
    return ((x - lo) & MASK) <= ((hi - lo) & MASK)
