"""One run of a sweep, as a worker makes it: scenario, simulation, summary, metrics; nothing else comes back.

``execute`` never raises for a problem of the run itself: an exception in the
simulation becomes a failed ``Outcome`` carrying its error, so one bad run
never stops the others. The scenario of each combination of values is
validated once per process and reused by its replications (scenarios are
frozen values; a run only reads its own).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tcpsim import __version__
from tcpsim.sweep.expr import Compiled, compile_metric, evaluate
from tcpsim.sweep.spec import Plan, RunSpec, scenario_for

__all__ = ["Outcome", "execute", "execute_chunk"]

# Test-only: called with each RunSpec before it runs (the tests make runs raise, or kill the worker).
_test_hook: Callable[[RunSpec], None] | None = None

_CACHE_LIMIT = 256
_scenarios: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Any, Any]] = {}
_metrics: dict[str, list[tuple[str, Compiled]]] = {}


@dataclass
class Outcome:
    """What a run gives back: its metrics, or its error; the run directory's files only with keep."""

    index: int
    run_id: str
    status: str                       # "done" or "failed"
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    detail: str | None = None         # the traceback of a failed run (kept in runs.jsonl, not in the table)
    wall_time: float = 0.0
    files: dict[str, str] | None = None

    def record(self, run: RunSpec) -> dict[str, Any]:
        """The runs.jsonl line of this outcome."""
        return {
            "run_id": self.run_id, "run": self.index, "params": dict(run.params), "replication": run.replication,
            "seed": run.seed, "status": self.status, "metrics": self.metrics, "error": self.error,
            "detail": self.detail, "wall_time": self.wall_time,
        }


def _key(v: Any) -> Any:
    return (type(v).__name__, v) if isinstance(v, bool | int | float | str) or v is None else repr(v)


def _scenario(plan: Plan, values: Sequence[tuple[int, Any]]) -> tuple[Any, Any]:
    # By target (not its index in this plan): a Dask worker lives on from one sweep to the next.
    key = (plan.fingerprint, tuple((plan.targets[t].key, _key(v)) for t, v in values))
    hit = _scenarios.get(key)
    if hit is None:
        if len(_scenarios) >= _CACHE_LIMIT:
            _scenarios.clear()
        hit = scenario_for(plan, values)
        _scenarios[key] = hit
    return hit


def _compiled(plan: Plan) -> list[tuple[str, Compiled]]:
    out = _metrics.get(plan.fingerprint)
    if out is None:
        out = [(m.name, compile_metric(m.text, plan.shape, m.name)) for m in plan.metrics]
        _metrics[plan.fingerprint] = out
    return out


def _scalar(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    kind = f"a list of {len(value)} items" if isinstance(value, list) else "a mapping"
    raise ValueError(f"metric {name!r} gave {kind}; expected a number, a string or true/false "
                     "(reduce it with len(), sum(), min(), max(), mean() or an index)")


def execute(plan: Plan, run: RunSpec, keep: bool = False) -> Outcome:
    """Make one run; a failure is an ``Outcome`` with status ``failed``, never an exception."""
    from tcpsim.scenario.build import build
    from tcpsim.scenario.run import RunResult

    start = time.perf_counter()
    try:
        if _test_hook is not None:
            _test_hook(run)
        doc, scenario = _scenario(plan, run.values)
        built = build(scenario, seed=run.seed, doc=doc).run()
        result = RunResult(built, plan.variant)
        summary = result.summary()
        counters = built.sim.trace.counters
        metrics = {name: _scalar(name, evaluate(c, summary, counters)) for name, c in _compiled(plan)}
        files = result.files() if keep else None
    except Exception as exc:  # noqa: BLE001 - any failure of the run is the run's result
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return Outcome(run.index, run.run_id, "failed", error=message + where,
                       detail="".join(traceback.format_exception(exc)), wall_time=time.perf_counter() - start)
    return Outcome(run.index, run.run_id, "done", metrics=metrics, wall_time=time.perf_counter() - start,
                   files=files)


def execute_chunk(plan: Plan, runs: Sequence[RunSpec], keep: bool = False, version: str | None = None) -> list[Outcome]:
    """Several runs in a row (the unit of work of a Dask task)."""
    if version is not None and version != __version__:
        msg = f"this worker has tcpsim {__version__}, the sweep was started with tcpsim {version}"
        return [Outcome(r.index, r.run_id, "failed", error=msg) for r in runs]
    return [execute(plan, r, keep) for r in runs]
