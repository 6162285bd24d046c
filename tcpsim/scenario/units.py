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
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

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

_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")

DURATION_HINT = "a duration such as 5ms, 1.5s or 2min (a bare number is seconds; units: us, ms, s, min, h)"
BANDWIDTH_HINT = "a bandwidth such as 10Mbit or 1.5Gbit (a bare number is bit/s; units: bit, kbit, Mbit, Gbit, kbps, Mbps, Gbps, all in bits)"
SIZE_HINT = "a size in bytes such as 1500, 64KB or 1MiB (units: B, KB, MB, KiB, MiB)"


def describe(value: Any) -> str:
    """Show a user's value inside an error message the way they wrote it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _number_and_unit(value: Any, hint: str) -> tuple[float, str]:
    # bool is an int subclass; ``delay: yes`` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected {hint}, got {describe(value)}")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        m = _QUANTITY.match(value)
        if m is None:
            raise ValueError(f"expected {hint}, got {describe(value)}")
        number, unit = float(m.group(1)), m.group(2)
    if not math.isfinite(number):
        raise ValueError(f"expected {hint}, got {describe(value)}")
    return number, unit


def parse_duration(value: Any, *, positive: bool = False) -> float:
    """Seconds from ``5ms``, ``1.5s``, ``2min``, ``1h``, ``250us`` or a bare number.

    Durations are never negative; ``positive`` also rejects zero (intervals,
    end times), because a zero there would stall or end the run at once.

    The value is exact to the nanosecond: the decimal text is scaled exactly
    and rounded to whole nanoseconds (halves to even), then given as the float
    nearest to that many nanoseconds, so ``1ms`` is the float nearest 0.001 s
    (not 1 times the float nearest 0.001) and ``duration_ns`` gets the integer
    back for sums that must add up as written.
    """
    number, unit = _number_and_unit(value, DURATION_HINT)
    if unit and unit not in DURATION_UNITS:
        raise ValueError(f"unknown unit {unit!r} in {describe(value)}; expected {DURATION_HINT}")
    if positive and number <= 0:
        raise ValueError(f"expected a duration > 0, got {describe(value)}")
    if number < 0:
        raise ValueError(f"expected a duration >= 0, got {describe(value)}")
    text = value.strip()[: len(value.strip()) - len(unit)] if isinstance(value, str) else repr(float(value))
    ns = int((Decimal(text) * _DURATION_NS[unit or "s"]).to_integral_value(rounding=ROUND_HALF_EVEN))
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
            raise ValueError(f"unknown unit {unit!r} in {describe(value)}; expected {BANDWIDTH_HINT}")
        number *= BANDWIDTH_UNITS[unit]
    if number <= 0:
        raise ValueError(f"expected a bandwidth > 0 (leave it out or use null for unlimited), got {describe(value)}")
    return number


def parse_size(value: Any) -> int:
    """Bytes from ``1500``, ``1500B``, ``64KB`` (SI, 1000) or ``64KiB`` (1024)."""
    number, unit = _number_and_unit(value, SIZE_HINT)
    if unit:
        if unit not in SIZE_UNITS:
            raise ValueError(f"unknown unit {unit!r} in {describe(value)}; expected {SIZE_HINT}")
        number *= SIZE_UNITS[unit]
    if number < 0 or number != int(number):
        raise ValueError(f"expected a whole number of bytes >= 0, got {describe(value)}")
    return int(number)


def parse_probability(value: Any) -> float:
    """A probability from ``0.01`` or ``1%``; must lie in [0, 1]."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number, unit = _number_and_unit(value.strip()[:-1], "a probability between 0 and 1 (or a percentage such as 5%)")
        if unit:
            raise ValueError(f"expected a probability between 0 and 1 (or a percentage such as 5%), got {describe(value)}")
        number /= 100.0
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
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


def _schema(description: str, pattern: str, minimum: float | None = None) -> WithJsonSchema:
    number: dict[str, Any] = {"type": "number"}
    if minimum is not None:
        number["minimum"] = minimum
    return WithJsonSchema({"anyOf": [number, {"type": "string", "pattern": pattern}], "description": description})


_DUR_PATTERN = r"^\s*[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(us|ms|s|min|h)?\s*$"
_BW_PATTERN = r"^\s*[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(bit|bps|[kKmMgG]bit|[kKmMgG]bps)?\s*$"
_SIZE_PATTERN = r"^\s*[+]?\d+(\.\d*)?\s*(B|KB|MB|KiB|MiB)?\s*$"

Duration = Annotated[
    float,
    BeforeValidator(_wrap("duration", parse_duration)),
    _schema("Seconds, or a string with a unit: us, ms, s, min, h.", _DUR_PATTERN, 0),
]
PositiveDuration = Annotated[
    float,
    BeforeValidator(_wrap("duration", lambda v: parse_duration(v, positive=True))),
    _schema("Seconds (> 0), or a string with a unit: us, ms, s, min, h.", _DUR_PATTERN, 0),
]
Bandwidth = Annotated[
    float,
    BeforeValidator(_wrap("bandwidth", parse_bandwidth)),
    _schema("Bit/s, or a string with a unit: bit, kbit, Mbit, Gbit, kbps, Mbps, Gbps (all bits).", _BW_PATTERN, 0),
]
Size = Annotated[
    int,
    BeforeValidator(_wrap("size", parse_size)),
    _schema("Bytes, or a string with a unit: B, KB, MB (powers of 1000), KiB, MiB (powers of 1024).", _SIZE_PATTERN, 0),
]
Probability = Annotated[
    float,
    BeforeValidator(_wrap("probability", parse_probability)),
    WithJsonSchema({
        "anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*%\s*$"}],
        "description": "A probability in [0, 1], or a percentage string such as '5%'.",
    }),
]
