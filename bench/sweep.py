"""How well does ``tcpsim sweep`` use the cores, and what does it cost per run?

A sweep of 40 short runs (a SYN flood of 2,000 to 5,000 SYN/s against two
backlogs, five replications each, trace level ``counters``), timed three ways:

* **serial, no sweep machinery**: the same 40 runs in this process, one after
  the other: build, run, summary, metrics; the scenarios validated beforehand
  (the sweep validates each combination once too). This is the work itself.
* **sweep, 1 worker** and **sweep, 2 workers**: ``load_sweep`` + ``run_sweep``
  into a fresh directory (YAML, validation of every combination, worker
  processes, pipes, the runs.jsonl record, the CSV and Parquet tables).

Printed: the speedup from 1 to 2 workers (the target on a 2-core machine is
1.8x or better) and the per-run overhead, ``(sweep with 1 worker - serial) /
runs``. Each figure is the best of ``--repeat`` tries (default 3), since other
programs on the machine only ever make a try slower. Asserts nothing; the
figures also go to ``bench/sweep-results.json``::

    python bench/sweep.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, uninstalled

from tcpsim import __version__  # noqa: E402
from tcpsim.scenario.build import build  # noqa: E402
from tcpsim.scenario.run import RunResult  # noqa: E402
from tcpsim.sweep import load_sweep, run_sweep  # noqa: E402
from tcpsim.sweep.expr import compile_metric, evaluate  # noqa: E402
from tcpsim.sweep.spec import scenario_for  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "sweep-results.json"

SWEEP = """\
name: bench-sweep
scenario: syn-flood
seed: 1
replications: 5
trace: counters
until: 20s
grid:
  flood_rate: [2000, 3000, 4000, 5000]
  backlog: [16, 128]
metrics:
  listen_drops: counter('server', 'tcp:listen_drops')
  client_connected: apps.client.results.connections_made
"""


def serial(path: Path, limit: int | None = None) -> tuple[float, int]:
    """The runs alone, in this process: seconds, number of runs."""
    plan = load_sweep(path)
    runs = plan.runs()[:limit]
    scenarios = {r.values: scenario_for(plan, r.values) for r in runs}
    metrics = [compile_metric(m.text, plan.shape, m.name) for m in plan.metrics]
    t0 = time.perf_counter()
    for r in runs:
        doc, scenario = scenarios[r.values]
        built = build(scenario, seed=r.seed, doc=doc).run()
        summary = RunResult(built).summary()
        for m in metrics:
            evaluate(m, summary, built.sim.trace.counters)
    return time.perf_counter() - t0, len(runs)


def swept(path: Path, jobs: int, work: Path) -> float:
    out = work / f"out-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    report = run_sweep(load_sweep(path), out, jobs=jobs)
    wall = time.perf_counter() - t0
    if report.done != report.total:
        raise SystemExit(f"bench sweep: {report.line()}")
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--repeat", type=int, default=3, help="tries per figure; the best counts (default 3)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tcpsim-bench-sweep-") as tmp:
        work = Path(tmp)
        path = work / "bench-sweep.yaml"
        path.write_text(SWEEP, encoding="utf-8")
        serial(path, limit=2)  # warm up: imports, caches
        tries: dict[str, list[float]] = {"serial": [], "jobs1": [], "jobs2": []}
        n = 0
        for _ in range(args.repeat):
            t, n = serial(path)
            tries["serial"].append(t)
            tries["jobs1"].append(swept(path, 1, work))
            tries["jobs2"].append(swept(path, 2, work))
    best = {k: min(v) for k, v in tries.items()}
    speedup = best["jobs1"] / best["jobs2"]
    overhead = (best["jobs1"] - best["serial"]) / n
    figures: dict[str, Any] = {
        "tcpsim": __version__, "python": platform.python_version(), "cpus": os.cpu_count(),
        "runs": n, "repeat": args.repeat,
        "serial_s": round(best["serial"], 4), "sweep_1_worker_s": round(best["jobs1"], 4),
        "sweep_2_workers_s": round(best["jobs2"], 4),
        "mean_run_s": round(best["serial"] / n, 5),
        "speedup_1_to_2_workers": round(speedup, 3),
        "overhead_per_run_ms": round(overhead * 1000, 3),
        "tries": {k: [round(x, 4) for x in v] for k, v in tries.items()},
    }
    print(f"sweep bench: {n} runs of syn-flood (2,000-5,000 SYN/s), mean run {best['serial'] / n * 1000:.0f} ms")
    print(f"  serial, no sweep machinery  {best['serial']:7.2f} s")
    print(f"  sweep, 1 worker             {best['jobs1']:7.2f} s")
    print(f"  sweep, 2 workers            {best['jobs2']:7.2f} s")
    print(f"  speedup 1 -> 2 workers      {speedup:7.2f} x   (target >= 1.8 on 2 cores)")
    print(f"  overhead per run            {overhead * 1000:7.2f} ms  (sweep with 1 worker - serial, per run)")
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"  figures written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
