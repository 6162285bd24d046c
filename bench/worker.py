"""One benchmark in this process: calibrate, run, write the result as JSON.

The runner starts ``python -m bench --worker NAME --result-file PATH`` in a
fresh subprocess for each benchmark, so each one starts with a clean heap
(its peak RSS is its own) and a crash loses only that benchmark.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import load
from bench.common import Context
from bench.reference import CALIBRATION_PACKETS, bare_rate

__all__ = ["PROFILE_TOP", "run_worker"]

PROFILE_TOP = 15


def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB, macOS in bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def profile_text(prof: cProfile.Profile, total: float) -> str:
    """The top functions by own time, with their share of the profiled wall time."""
    stats = pstats.Stats(prof)
    rows: list[tuple[float, float, int, str]] = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename
        for marker in ("/tcpsim/", "/simpy/", "/bench/"):
            if marker in filename:
                where = marker[1:] + filename.split(marker, 1)[1]
                break
        rows.append((tottime, cumtime, ncalls, f"{where}:{line}({func})"))
    rows.sort(reverse=True)
    out = io.StringIO()
    out.write(f"{'own s':>7} {'share':>6} {'cum s':>7} {'calls':>10}  function\n")
    for tottime, cumtime, ncalls, name in rows[:PROFILE_TOP]:
        out.write(f"{tottime:7.2f} {tottime / total:6.1%} {cumtime:7.2f} {ncalls:10d}  {name}\n")
    by_file: dict[str, float] = {}
    for tottime, _cum, _n, name in rows:
        where = name.split(":", 1)[0] if not name.startswith("~") else "(built-ins)"
        by_file[where] = by_file.get(where, 0.0) + tottime
    out.write(f"\nown time by file (of {total:.2f} s profiled):\n")
    for where, t in sorted(by_file.items(), key=lambda kv: -kv[1])[:PROFILE_TOP]:
        out.write(f"{t:7.2f} {t / total:6.1%}  {where}\n")
    return out.getvalue()


def run_worker(name: str, quick: bool, result_file: Path, profile: bool = False,
               overrides: dict[str, Any] | None = None) -> int:
    mod = load(name)
    ctx = Context(quick=quick, overrides=dict(overrides or {}))
    out: dict[str, Any] = {"name": mod.NAME, "letter": mod.LETTER, "title": mod.TITLE, "timed": mod.TIMED,
                           "mode": "quick" if quick else "full", "profiled": profile}
    t0 = time.perf_counter()
    try:
        if mod.TIMED:
            ctx.bare_rate = bare_rate(CALIBRATION_PACKETS[1] if quick else CALIBRATION_PACKETS[0])
        out["bare_rate"] = ctx.bare_rate
        prof = cProfile.Profile() if profile else None
        t1 = time.perf_counter()
        c1 = time.process_time()
        if prof is not None:
            prof.enable()
        res = mod.run(ctx)
        if prof is not None:
            prof.disable()
            out["profile"] = profile_text(prof, time.perf_counter() - t1)
        # CPU time / wall time of the benchmark proper: well below 1 means other processes
        # took this one's core part of the time, and the timed figures are pessimistic.
        out["cpu_share"] = (time.process_time() - c1) / max(time.perf_counter() - t1, 1e-9)
        out["ok"] = all(f.error is None and f.value is not None for f in res.figures)
        out["figures"] = {f.key: f.to_json() for f in res.figures}
        out["params"] = res.params
        out["details"] = res.details
        errors = [f"{f.key}: {f.error}" for f in res.figures if f.error is not None]
        out["error"] = "; ".join(errors) or None
    except Exception:
        out["ok"] = False
        out["error"] = traceback.format_exc(limit=8)
        out.setdefault("figures", {})
    out["wall_s"] = time.perf_counter() - t0
    out["peak_rss_mib"] = peak_rss_mib()
    result_file.write_text(json.dumps(out, indent=1, default=str))
    return 0 if out["ok"] else 1
