"""What every benchmark shares: its context (mode, calibration) and its figures.

A benchmark module exposes ``NAME``, ``LETTER``, ``TITLE``, ``TIMED`` and
``run(ctx) -> Result``. ``TIMED`` says whether its figures are wall-clock
speeds: timed benchmarks get a bare SimPy calibration run first (in the same
process, see ``reference.py``) and are run one at a time; memory-only
benchmarks skip the calibration and may run beside each other.

A :class:`Figure` is one measured number with its target. ``basis`` names
which form of the number is held against the target:

* ``raw``: the number as measured (memory, ratios of two tcpsim runs);
* ``ratio``: the number divided by the bare SimPy rate of the same process;
* ``normalized``: the number brought to the nominal machine speed
  (``NOMINAL_BARE_RATE`` bare callbacks/s): a rate is multiplied by
  nominal / measured bare rate, a duration by measured / nominal.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.reference import NOMINAL_BARE_RATE

__all__ = ["Context", "Figure", "GcTimer", "Result", "traced_bytes"]

OPS = (">=", "<=", "<")


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str
    target: float
    op: str
    basis: str = "raw"
    ratio: float | None = None
    normalized: float | None = None
    error: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"figure {self.key}: op must be one of {OPS}, got {self.op!r}")
        if self.basis not in ("raw", "ratio", "normalized"):
            raise ValueError(f"figure {self.key}: unknown basis {self.basis!r}")

    @property
    def compared(self) -> float | None:
        """The form of the figure that is held against the target."""
        if self.basis == "ratio":
            return self.ratio
        if self.basis == "normalized":
            return self.normalized
        return self.value

    @property
    def met(self) -> bool:
        v = self.compared
        if v is None or self.error is not None or not math.isfinite(v):
            return False
        if self.op == ">=":
            return v >= self.target
        if self.op == "<=":
            return v <= self.target
        return v < self.target

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["met"] = self.met
        return d


@dataclass
class Result:
    """What one benchmark returns: its figures, the parameters it ran with, raw details."""

    figures: list[Figure] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """The mode a benchmark runs in, and the machine's speed measured just before it."""

    quick: bool
    bare_rate: float | None = None  # bare SimPy callbacks/s in this process (timed benchmarks)
    overrides: dict[str, Any] = field(default_factory=dict)

    def pick(self, full: Any, quick: Any, name: str | None = None) -> Any:
        """The size for this mode (``name`` lets ``--set name=value`` override it)."""
        if name is not None and name in self.overrides:
            return self.overrides[name]
        return quick if self.quick else full

    # -- figures of speed ---------------------------------------------------------

    def _bare(self) -> float:
        if self.bare_rate is None:
            raise RuntimeError("a timed figure needs the bare SimPy calibration (TIMED = True)")
        return self.bare_rate

    def rate_figure(self, key: str, label: str, value: float | None, unit: str, target: float,
                    op: str = ">=", error: str | None = None, note: str = "") -> Figure:
        """An absolute rate target (higher is better), judged at the nominal machine speed."""
        norm = None if value is None else value * NOMINAL_BARE_RATE / self._bare()
        return Figure(key, label, value, unit, target, op, "normalized", ratio=None if value is None else value / self._bare(),
                      normalized=norm, error=error, note=note)

    def duration_figure(self, key: str, label: str, value: float | None, unit: str, target: float,
                        op: str = "<", error: str | None = None, note: str = "") -> Figure:
        """An absolute wall-time target (lower is better), judged at the nominal machine speed."""
        norm = None if value is None else value * self._bare() / NOMINAL_BARE_RATE
        return Figure(key, label, value, unit, target, op, "normalized", normalized=norm, error=error, note=note)

    def bare_ratio_figure(self, key: str, label: str, value: float, unit: str, target: float,
                          note: str = "") -> Figure:
        """A rate held against the bare SimPy rate of the same process (target: a fraction of it)."""
        return Figure(key, label, value, unit, target, ">=", "ratio", ratio=value / self._bare(), note=note)


def traced_bytes() -> int:
    """tracemalloc's current traced memory after a full collection (tracing must be on)."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


class GcTimer:
    """Time spent in the cyclic garbage collector while the context is active, per generation.

    ``with GcTimer() as g: ...`` then ``g.seconds``, ``g.collections`` ([gen0, gen1, gen2]),
    ``g.gen2_seconds``. One callback pair per collection: negligible next to a collection.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.gen2_seconds = 0.0
        self.collections = [0, 0, 0]
        self._t = 0.0

    def _cb(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
            return
        dt = time.perf_counter() - self._t
        gen = int(info.get("generation", 0))
        self.seconds += dt
        self.collections[gen] += 1
        if gen == 2:
            self.gen2_seconds += dt

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._cb)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._cb)

    def to_json(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 3), "gen2_seconds": round(self.gen2_seconds, 3),
                "collections": list(self.collections)}
