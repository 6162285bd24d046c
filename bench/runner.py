"""Run the chosen benchmarks in subprocesses, print the table, write results.json.

Timed benchmarks run one at a time, so none competes with another for a
core; memory-only benchmarks (no wall-clock figure) run afterwards, as many
at once as there are cores (at most two), which keeps a full run inside its
five minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from bench import load
from bench.reference import NOMINAL_BARE_RATE

__all__ = ["ROOT", "format_markdown", "format_table", "machine_info", "run_all"]

ROOT = Path(__file__).resolve().parent.parent

#: A timed benchmark that got less CPU time than this share of its wall time ran on a busy
#: machine: the table says so.
BUSY_SHARE = 0.9


# -- machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def machine_info() -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "tcpsim")
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity is not None else os.cpu_count(),
        "simpy": version("simpy"),
        "tcpsim": version("tcpsim"),
        "git_commit": commit,
        "tcpsim_tree_modified": bool(dirty) if dirty is not None else None,
    }


# -- running -----------------------------------------------------------------------------


@dataclass
class Job:
    name: str
    proc: subprocess.Popen[bytes]
    result: Path
    log: Path
    log_fp: IO[bytes]
    started: float


def _start(name: str, quick: bool, profile: bool, sets: list[str], tmp: Path) -> Job:
    result = tmp / f"{name}.json"
    log = tmp / f"{name}.log"
    cmd = [sys.executable, "-m", "bench", "--worker", name, "--result-file", str(result)]
    if quick:
        cmd.append("--quick")
    if profile:
        cmd.append("--profile")
    for s in sets:
        cmd += ["--set", s]
    fp = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fp, stderr=subprocess.STDOUT)
    return Job(name, proc, result, log, fp, time.perf_counter())


def _finish(job: Job, timed_out: bool, err: IO[str]) -> dict[str, Any]:
    job.log_fp.close()
    wall = time.perf_counter() - job.started
    data: dict[str, Any]
    if job.result.exists():
        data = json.loads(job.result.read_text())
    else:
        mod = load(job.name)
        data = {"name": job.name, "letter": mod.LETTER, "title": mod.TITLE, "timed": mod.TIMED, "ok": False,
                "figures": {}}
        tail = job.log.read_text(errors="replace").strip().splitlines()[-15:]
        why = "timed out" if timed_out else f"exited with status {job.proc.returncode}"
        data["error"] = f"worker {why} without a result" + ("\n" + "\n".join(tail) if tail else "")
    data["process_wall_s"] = wall
    status = "ok" if data.get("ok") else "FAILED"
    share = data.get("cpu_share")
    busy = ""
    if data.get("timed") and share is not None and share < BUSY_SHARE:
        busy = f" (it had {share:.0%} of a core: the machine is busy, its speeds read low)"
    print(f"[bench] {job.name:10s} {status} in {wall:6.1f} s{busy}", file=err, flush=True)
    if not data.get("ok") and data.get("error"):
        print("[bench]   " + str(data["error"]).replace("\n", "\n[bench]   "), file=err, flush=True)
    return data


def _wait(job: Job, timeout: float, err: IO[str]) -> dict[str, Any]:
    try:
        job.proc.wait(timeout=max(0.0, timeout - (time.perf_counter() - job.started)))
        timed_out = False
    except subprocess.TimeoutExpired:
        job.proc.kill()
        job.proc.wait()
        timed_out = True
    return _finish(job, timed_out, err)


def run_all(names: list[str], quick: bool, out: Path | None, profile: bool = False, sets: list[str] | None = None,
            timeout: float | None = None, err: IO[str] = sys.stderr) -> dict[str, Any]:
    """Run ``names`` (timed ones first, one at a time), return and write the results document."""
    sets = sets or []
    limit = timeout if timeout is not None else (180.0 if quick else 600.0)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    timed = [n for n in names if load(n).TIMED]
    untimed = [n for n in names if not load(n).TIMED]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tcpsim-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for name in timed:
            print(f"[bench] {name:10s} running ({'quick' if quick else 'full'} mode)", file=err, flush=True)
            results[name] = _wait(_start(name, quick, profile, sets, tmp), limit, err)
        width = max(1, min(2, os.cpu_count() or 1))
        pending = list(untimed)
        running: list[Job] = []
        while pending or running:
            while pending and len(running) < width:
                name = pending.pop(0)
                print(f"[bench] {name:10s} running ({'quick' if quick else 'full'} mode, memory only)",
                      file=err, flush=True)
                running.append(_start(name, quick, profile, sets, tmp))
            time.sleep(0.05)
            for job in list(running):
                overdue = time.perf_counter() - job.started > limit
                if job.proc.poll() is not None or overdue:
                    running.remove(job)
                    results[job.name] = _wait(job, 0.0 if overdue else limit, err)
    doc = build_document(names, results, quick, started, time.perf_counter() - t0)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return doc


def build_document(names: list[str], results: dict[str, dict[str, Any]], quick: bool, started: dt.datetime,
                   wall: float) -> dict[str, Any]:
    bares = [r["bare_rate"] for r in results.values() if r.get("bare_rate")]
    figures = [f for r in results.values() for f in r.get("figures", {}).values()]
    return {
        "suite": "tcpsim benchmarks (python -m bench)",
        "mode": "quick" if quick else "full",
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_s": wall,
        "machine": machine_info(),
        "nominal_bare_rate": NOMINAL_BARE_RATE,
        "bare_simpy_rate": statistics.median(bares) if bares else None,
        "bare_simpy_rates": {n: r["bare_rate"] for n, r in results.items() if r.get("bare_rate")},
        "summary": {
            "benchmarks": len(results),
            "failed": [n for n in names if not results.get(n, {}).get("ok")],
            "figures": len(figures),
            "met": sum(1 for f in figures if f.get("met")),
            "missed": sum(1 for f in figures if not f.get("met")),
        },
        "benchmarks": {n: results[n] for n in names if n in results},
    }


# -- the table ---------------------------------------------------------------------------


def _num(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g} M"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if a >= 0.01 else f"{v:.2g}"


def _with_unit(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "x":
        return f"{_num(v)} x"
    return f"{_num(v)} {unit}"


def _target(f: dict[str, Any]) -> str:
    op = {">=": ">=", "<=": "<=", "<": "<"}[f["op"]]
    if f["basis"] == "ratio":
        return f"{op} {f['target']:.2f} x bare"
    return f"{op} {_with_unit(f['target'], f['unit'])}"


def _aside(f: dict[str, Any]) -> str:
    if f["basis"] == "ratio" and f.get("ratio") is not None:
        return f"{f['ratio']:.2f} x bare"
    if f["basis"] == "normalized" and f.get("normalized") is not None:
        return f"{_with_unit(f['normalized'], f['unit'])} norm."
    return ""


HEADER = ("benchmark", "figure", "measured", "target", "ratio / normalized", "result")


def _rows(doc: dict[str, Any]) -> tuple[list[tuple[str, ...]], list[str]]:
    """The table's rows (without the header), and the timed benchmarks that ran on a busy machine."""
    rows: list[tuple[str, ...]] = []
    busy = []
    for name, r in doc["benchmarks"].items():
        label = f"({r.get('letter', '?')}) {name}"
        share = r.get("cpu_share")
        if r.get("timed") and share is not None and share < BUSY_SHARE:
            busy.append(f"{name} ({share:.0%})")
        figs = list(r.get("figures", {}).values())
        if not figs:
            rows.append((label, "(no figures)", "-", "-", "", "FAIL"))
            continue
        for f in figs:
            result = "FAIL" if f.get("error") else ("pass" if f["met"] else "MISS")
            rows.append((label, f["label"], _with_unit(f["value"], f["unit"]), _target(f), _aside(f), result))
            label = ""
    return rows, busy


def format_markdown(doc: dict[str, Any]) -> str:
    """The table as Markdown, for docs/performance.md."""
    rows, _busy = _rows(doc)
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(out) + "\n"


def format_table(doc: dict[str, Any]) -> str:
    body, busy = _rows(doc)
    rows = [HEADER, *body]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    bare = doc.get("bare_simpy_rate")
    foot = (f"bare SimPy: {bare / 1e6:.3f} M callbacks/s on this machine (median of the timed benchmarks); "
            f"normalized = figure at {doc['nominal_bare_rate'] / 1e6:.1f} M callbacks/s") if bare else ""
    if busy:
        foot += ("\nbusy machine: these timed benchmarks got less than "
                 f"{BUSY_SHARE:.0%} of a core, their speeds read low: {', '.join(busy)}")
    m = doc["machine"]
    head = (f"tcpsim benchmarks, {doc['mode']} mode, {doc['started_utc']}: Python {m['python']}, "
            f"{m['cpu_count']} CPUs ({m['cpu']}), run took {doc['wall_s']:.0f} s")
    return "\n".join([head, "", *lines, "", foot]).rstrip() + "\n"
