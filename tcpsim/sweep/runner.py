"""A whole sweep: skip what is done, make the rest (local pool or Dask), record each run, write the table."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpsim.sweep.spec import Plan, RunSpec
from tcpsim.sweep.store import (
    CSV,
    MANIFEST,
    PARQUET,
    RECORDS,
    StoreError,
    check_dir,
    read_records,
    table_rows,
    write_atomic,
    write_tables,
)
from tcpsim.sweep.worker import Outcome

__all__ = ["SweepReport", "default_jobs", "describe_plan", "run_sweep", "table_order"]


@dataclass
class SweepReport:
    """What a sweep did: the counts a person wants, and where the table is."""

    name: str
    total: int
    done: int           # made now, done
    failed: int         # made now, failed
    skipped: int        # done by an earlier invocation
    failed_in_table: int
    pending: int        # not made (interrupted)
    wall_time: float
    out: Path
    jobs: str
    interrupted: bool = False

    def line(self) -> str:
        text = (f"{self.name}: {self.total} runs: {self.done} done, {self.failed} failed, {self.skipped} skipped "
                f"(done before), in {self.wall_time:.1f} s "
                + (f"({self.jobs})" if self.jobs.startswith("nothing") else f"on {self.jobs}"))
        if self.pending:
            text += f"; {self.pending} not run (interrupted: run the same command again to finish)"
        return text + f"; table: {self.out / CSV} (and {PARQUET})"


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def table_order(plan: Plan) -> list[str]:
    return ["run", "run_id", *plan.columns, "replication", "seed", *(m.name for m in plan.metrics),
            "status", "error", "wall_time"]


def run_sweep(plan: Plan, out: Path, *, jobs: int | None = None, dask: str | None = None, client: Any = None,
              keep: bool = False, progress: Callable[[Outcome], None] | None = None,
              started: Callable[[int, int], None] | None = None) -> SweepReport:
    """Make every run of ``plan`` not already done in ``out``; write the tables. ``started(todo, skipped)``
    is called once the work is known, ``progress`` after each run."""
    check_dir(out)
    records = read_records(out)
    runs = plan.runs()
    todo = [r for r in runs if (records.get(r.run_id) or {}).get("status") != "done"]
    skipped = len(runs) - len(todo)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / MANIFEST, (json.dumps(plan.manifest(), indent=2, allow_nan=False) + "\n").encode())
    except OSError as exc:
        raise StoreError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    if started is not None:
        started(len(todo), skipped)
    counts = {"done": 0, "failed": 0}
    t0 = time.perf_counter()
    interrupted = False
    n_jobs = jobs or default_jobs()
    n_local = min(n_jobs, len(todo))
    where = ("nothing left to run" if not todo else
             f"Dask {dask}" if dask else "a Dask cluster" if client is not None else
             f"{n_local} local process{'es' if n_local > 1 else ''}")
    with open(out / RECORDS, "a", encoding="utf-8") as fp:

        def on_outcome(run: RunSpec, outcome: Outcome) -> None:
            if keep and outcome.files is not None:
                from tcpsim.scenario.run import OutputError, write_run_dir

                try:
                    write_run_dir(out / "runs" / run.run_id, outcome.files)
                except OutputError as exc:
                    raise StoreError(str(exc)) from None
            rec = outcome.record(run)
            fp.write(json.dumps(rec, allow_nan=False) + "\n")
            fp.flush()
            records[run.run_id] = rec
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if progress is not None:
                progress(outcome)

        try:
            if client is not None:
                from tcpsim.sweep.cluster import run_dask

                run_dask(plan, todo, client, on_outcome, keep=keep)
            elif dask is not None:
                from tcpsim.sweep.cluster import dask_client, run_dask

                if todo:
                    with dask_client(dask) as c:
                        run_dask(plan, todo, c, on_outcome, keep=keep)
            else:
                from tcpsim.sweep.pool import run_local

                run_local(plan, todo, n_jobs, on_outcome, keep=keep)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            os.fsync(fp.fileno())
    rows = table_rows(runs, plan.columns, [m.name for m in plan.metrics], records)
    try:
        write_tables(out, rows, table_order(plan))
    except OSError as exc:
        raise StoreError(f"{out}: cannot write the table: {exc.strerror or exc}") from None
    return SweepReport(
        name=plan.name, total=len(runs), done=counts["done"], failed=counts["failed"], skipped=skipped,
        failed_in_table=sum(1 for r in rows if r["status"] == "failed"),
        pending=sum(1 for r in rows if r["status"] == "pending"), wall_time=time.perf_counter() - t0, out=out,
        jobs=where, interrupted=interrupted,
    )


def describe_plan(plan: Plan) -> str:
    """``--dry-run``: what would run."""
    axes = ", ".join(f"{c} ({len(v)} value{'s' if len(v) != 1 else ''})"
                     for c, v in ((p["column"], p["values"]) for p in plan.manifest()["parameters"]))
    n = len(plan.runs())
    return (f"{plan.name}: {plan.n_combinations} combination{'s' if plan.n_combinations != 1 else ''} x "
            f"{plan.replications} replication{'s' if plan.replications != 1 else ''} = {n} run{'s' if n != 1 else ''} "
            f"of {plan.scenario_file} at trace level {plan.level}; parameters: {axes or 'none'}; metrics: "
            f"{', '.join(m.name for m in plan.metrics)}")
