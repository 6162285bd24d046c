"""Quantities with units, as scenario authors write them.

Scenario files are read by people who think in ``5ms`` and ``10Mbit``, and the
simulator works in float seconds, bit/s and bytes. The parsers here are the
single place where one becomes the other, so the CLI (``--until 30s``) and the
YAML loader accept exactly the same spellings and fail with the same message.

Each parser takes what YAML produced (an ``int``, a ``float`` or a ``str``)
and either returns the value in base units or raises ``ValueError`` whose text
says what was expected; the pydantic types at the bottom wrap that text into a
``PydanticCustomError`` so it reaches the user unchanged.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

# Unit -> multiplier to base units. Units are case-sensitive where case carries
# meaning (``ms`` vs ``Ms`` or ``MB`` vs ``Mb`` would be a trap), and the
# bandwidth table also takes tc(8)'s all-lowercase spellings.
DURATION_UNITS: dict[str, float] = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
BANDWIDTH_UNITS: dict[str, float] = {
    "bit": 1.0, "bps": 1.0,
    "kbit": 1e3, "Kbit": 1e3, "kbps": 1e3, "Kbps": 1e3,
    "Mbit": 1e6, "mbit": 1e6, "Mbps": 1e6, "mbps": 1e6,
    "Gbit": 1e9, "gbit": 1e9, "Gbps": 1e9, "gbps": 1e9,
}
SIZE_UNITS: dict[str, int] = {"B": 1, "KB": 1000, "MB": 1000**2, "KiB": 1024, "MiB": 1024**2}

# Applied to the stripped text; the one ``\s*`` sits between classes that cannot overlap
# (digits and letters), so a long run of spaces cannot make the match backtrack.
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)")
_MAX_TEXT = 64  # longer quantities are refused before any matching

# The ranges every quantity must lie in (docs/scenario-format.md lists them per field; the JSON
# schema of `tcpsim schema` carries them as minimum/maximum, from the same definitions).
MAX_DURATION = 10_000_000.0      # seconds: about 116 days of simulated time
MIN_POSITIVE_DURATION = 1e-6     # 1us, the smallest unit; intervals and timeouts are at least this
MIN_BANDWIDTH = 1.0              # bit/s
MAX_BANDWIDTH = 1e12             # 1 Tbit/s
MAX_SIZE = 2**40                 # bytes: 1 TiB
MAX_COUNT = 1_000_000            # counts of things a run makes one by one (clients, requests, SYNs, probes)
MAX_RATE = 1_000_000.0           # per second (SYNs, new connections)
MAX_QUEUE = 10_000_000           # packets waiting on a link
MAX_SEED = 2**63 - 1

DURATION_HINT = "a duration such as 5ms, 1.5s or 2min (a bare number is seconds; units: us, ms, s, min, h)"
BANDWIDTH_HINT = "a bandwidth such as 10Mbit or 1.5Gbit (a bare number is bit/s; units: bit, kbit, Mbit, Gbit, kbps, Mbps, Gbps, all in bits)"
SIZE_HINT = "a size in bytes such as 1500, 64KB or 1MiB (units: B, KB, MB, KiB, MiB)"


def describe(value: Any) -> str:
    """Show a user's value inside an error message the way they wrote it, cut if it is long."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int) and abs(value) >= 10**24:
        digits = len(str(abs(value))) if abs(value) < 10**300 else int(abs(value).bit_length() * math.log10(2)) + 1
        return f"an integer of {digits} digits"
    return str(value)


def quote(text: str, limit: int = 40) -> str:
    """``repr`` of a user's string, cut to ``limit`` characters (a 1 MB value stays a short line)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _number_and_unit(value: Any, hint: str) -> tuple[float, str]:
    # bool is an int subclass; ``delay: yes`` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected {hint}, got {describe(value)}")
    if isinstance(value, int | float):
        try:
            number, unit = float(value), ""
        except OverflowError:  # an int beyond the float range
            raise ValueError(f"expected {hint}, got {describe(value)}") from None
    else:
        text = value.strip()
        m = _QUANTITY.fullmatch(text) if len(text) <= _MAX_TEXT else None
        if m is None:
            raise ValueError(f"expected {hint}, got {describe(value)}")
        number, unit = float(m.group(1)), m.group(2)
    if not math.isfinite(number):
        raise ValueError(f"expected {hint}, got {describe(value)}")
    return number, unit


def _fmt(x: float) -> str:
    """A bound as a person writes it: 10000000, 1e-06, 1099511627776."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def _check_range(number: float, lo: float, hi: float, what: str, value: Any, *, lo_open: bool = False) -> None:
    if number < lo or number > hi or (lo_open and number == lo):
        low = f"> {_fmt(lo)}" if lo_open else f">= {_fmt(lo)}"
        raise ValueError(f"expected {what} {low} and <= {_fmt(hi)}, got {describe(value)}")


def parse_duration(value: Any, *, positive: bool = False, lo: float | None = None,
                   hi: float = MAX_DURATION) -> float:
    """Seconds from ``5ms``, ``1.5s``, ``2min``, ``1h``, ``250us`` or a bare number.

    Durations are never negative; ``positive`` also rejects zero (intervals,
    end times), because a zero there would stall or end the run at once:
    they are at least ``MIN_POSITIVE_DURATION``. At most ``hi`` (default
    ``MAX_DURATION``), so that no time overflows or outlives any run.

    The value is exact to the nanosecond: the decimal text is scaled exactly
    and rounded to whole nanoseconds (halves to even), then given as the float
    nearest to that many nanoseconds, so ``1ms`` is the float nearest 0.001 s
    (not 1 times the float nearest 0.001) and ``duration_ns`` gets the integer
    back for sums that must add up as written.
    """
    number, unit = _number_and_unit(value, DURATION_HINT)
    if unit:
        if unit not in DURATION_UNITS:
            raise ValueError(f"unknown unit {quote(unit)} in {describe(value)}; expected {DURATION_HINT}")
        number *= DURATION_UNITS[unit]
    if positive and number <= 0:
        raise ValueError(f"expected a duration > 0, got {describe(value)}")
    if number < 0:
        raise ValueError(f"expected a duration >= 0, got {describe(value)}")
    low = lo if lo is not None else (MIN_POSITIVE_DURATION if positive else 0.0)
    if number < low or number > hi:
        raise ValueError(f"expected a duration between {_fmt(low)} s and {_fmt(hi)} s, got {describe(value)}")
    try:
        text = value.strip()[: len(value.strip()) - len(unit)] if isinstance(value, str) else repr(float(value))
        ns = int((Decimal(text) * _DURATION_NS[unit or "s"]).to_integral_value(rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, KeyError, ValueError):
        ns = round(number * 1e9)
    if positive and ns == 0:
        raise ValueError(f"expected a duration of at least 1ns, got {describe(value)}")
    return ns / 1e9


_DURATION_NS: dict[str, Decimal] = {"us": Decimal(1000), "ms": Decimal(10**6), "s": Decimal(10**9),
                                    "min": Decimal(60 * 10**9), "h": Decimal(3600 * 10**9)}


def duration_ns(seconds: float) -> int:
    """Whole nanoseconds of a duration (as ``parse_duration`` gave it): sums of these are exact."""
    return round(seconds * 1e9)


def parse_bandwidth(value: Any) -> float:
    """Bit/s from ``10Mbit``, ``1Gbps``, ``64kbit`` or a bare number of bit/s.

    Unlike tc(8), ``kbps``/``Mbps``/``Gbps`` mean *bits* per second here, as
    everyone but tc reads them; the docs say so next to the table.
    """
    number, unit = _number_and_unit(value, BANDWIDTH_HINT)
    if unit:
        if unit not in BANDWIDTH_UNITS:
            raise ValueError(f"unknown unit {quote(unit)} in {describe(value)}; expected {BANDWIDTH_HINT}")
        number *= BANDWIDTH_UNITS[unit]
    if number <= 0:
        raise ValueError(f"expected a bandwidth > 0 (leave it out or use null for unlimited), got {describe(value)}")
    if number < MIN_BANDWIDTH or number > MAX_BANDWIDTH:
        raise ValueError(f"expected a bandwidth between {_fmt(MIN_BANDWIDTH)} and {_fmt(MAX_BANDWIDTH)} bit/s, "
                         f"got {describe(value)}")
    return number


def parse_size(value: Any, *, lo: int = 0, hi: int = MAX_SIZE) -> int:
    """Bytes from ``1500``, ``1500B``, ``64KB`` (SI, 1000) or ``64KiB`` (1024), in ``lo..hi``."""
    number, unit = _number_and_unit(value, SIZE_HINT)
    if unit:
        if unit not in SIZE_UNITS:
            raise ValueError(f"unknown unit {quote(unit)} in {describe(value)}; expected {SIZE_HINT}")
        number *= SIZE_UNITS[unit]
    if number < 0 or number != int(number):
        raise ValueError(f"expected a whole number of bytes >= 0, got {describe(value)}")
    if number < lo or number > hi:
        raise ValueError(f"expected a size between {lo} and {hi} bytes, got {describe(value)}")
    return int(number)


def parse_number(value: Any, lo: float, hi: float, what: str = "a number", *, lo_open: bool = False) -> float:
    """A finite plain number (int or float, not a string or a boolean) in ``lo..hi``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected {what}, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"expected {what}, got {describe(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected {what} (a finite number), got {describe(value)}")
    _check_range(number, lo, hi, what, value, lo_open=lo_open)
    return number


def parse_probability(value: Any) -> float:
    """A probability from ``0.01`` or ``1%``; must lie in [0, 1]."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number, unit = _number_and_unit(value.strip()[:-1], "a probability between 0 and 1 (or a percentage such as 5%)")
        if unit:
            raise ValueError(f"expected a probability between 0 and 1 (or a percentage such as 5%), got {describe(value)}")
        number /= 100.0
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) if not isinstance(value, int) or abs(value) <= 1 else 2.0  # no float(10**400)
    else:
        raise ValueError(f"expected a probability between 0 and 1 (or a percentage such as 5%), got {describe(value)}")
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"expected a probability between 0 and 1, got {describe(value)}")
    return number


# -- pydantic glue --------------------------------------------------------------


def _wrap(kind: str, fn: Any) -> Any:
    """Turn a parser's ``ValueError`` into a pydantic error whose text is ours verbatim."""

    def validate(value: Any) -> Any:
        try:
            return fn(value)
        except ValueError as exc:
            raise PydanticCustomError(kind, "{text}", {"text": str(exc)}) from None

    return validate


def _schema(description: str, pattern: str, minimum: float, maximum: float, *,
            exclusive_minimum: bool = False) -> WithJsonSchema:
    number: dict[str, Any] = {"type": "number", "maximum": maximum}
    number["exclusiveMinimum" if exclusive_minimum else "minimum"] = minimum
    return WithJsonSchema({"anyOf": [number, {"type": "string", "pattern": pattern}], "description": description})


_DUR_PATTERN = r"^\s*[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(us|ms|s|min|h)?\s*$"
_BW_PATTERN = r"^\s*[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(bit|bps|[kKmMgG]bit|[kKmMgG]bps)?\s*$"
_SIZE_PATTERN = r"^\s*[+]?\d+(\.\d*)?\s*(B|KB|MB|KiB|MiB)?\s*$"


def duration_type(*, positive: bool = False, lo: float | None = None, hi: float = MAX_DURATION) -> Any:
    """A duration field with its range: the parser and the JSON schema get the same bounds."""
    low = lo if lo is not None else (MIN_POSITIVE_DURATION if positive else 0.0)
    text = "Seconds" + (" (> 0)" if positive else "") + ", or a string with a unit: us, ms, s, min, h."
    return Annotated[
        float,
        BeforeValidator(_wrap("duration", lambda v: parse_duration(v, positive=positive, lo=lo, hi=hi))),
        _schema(text, _DUR_PATTERN, low, hi),
    ]


def size_type(lo: int = 0, hi: int = MAX_SIZE) -> Any:
    """A size field in bytes with its range (parser and schema from the same bounds)."""
    return Annotated[
        int,
        BeforeValidator(_wrap("size", lambda v: parse_size(v, lo=lo, hi=hi))),
        _schema("Bytes, or a string with a unit: B, KB, MB (powers of 1000), KiB, MiB (powers of 1024).",
                _SIZE_PATTERN, lo, hi),
    ]


def number_type(lo: float, hi: float, what: str = "a number", *, lo_open: bool = False) -> Any:
    """A plain number field (a rate, a factor) with its range (parser and schema from the same bounds)."""
    schema: dict[str, Any] = {"type": "number", "maximum": hi}
    schema["exclusiveMinimum" if lo_open else "minimum"] = lo
    return Annotated[
        float,
        BeforeValidator(_wrap("number", lambda v: parse_number(v, lo, hi, what, lo_open=lo_open))),
        WithJsonSchema(schema),
    ]


if TYPE_CHECKING:  # to a type checker these are the plain types the validators return
    Duration = float
    PositiveDuration = float
    Size = int
    RequestSize = int
    PingSize = int
    Mtu = int
    SynRate = float
    ConnRate = float
else:
    Duration = duration_type()
    PositiveDuration = duration_type(positive=True)
    Size = size_type()
    RequestSize = size_type(1)           # bytes that make one request: at least one
    PingSize = size_type(0, 65507)       # ICMP echo data: 65535 - 20 (IP) - 8 (ICMP)
    Mtu = size_type(68, 65535)           # RFC 791: every IPv4 link carries 68 bytes; 16-bit total length
    SynRate = number_type(0, MAX_RATE, "a rate in SYNs per second", lo_open=True)
    ConnRate = number_type(0, MAX_RATE, "a rate in connections per second", lo_open=True)
Bandwidth = Annotated[
    float,
    BeforeValidator(_wrap("bandwidth", parse_bandwidth)),
    _schema("Bit/s, or a string with a unit: bit, kbit, Mbit, Gbit, kbps, Mbps, Gbps (all bits).", _BW_PATTERN,
            MIN_BANDWIDTH, MAX_BANDWIDTH),
]
Probability = Annotated[
    float,
    BeforeValidator(_wrap("probability", parse_probability)),
    WithJsonSchema({
        "anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*%\s*$"}],
        "description": "A probability in [0, 1], or a percentage string such as '5%'.",
    }),
]
