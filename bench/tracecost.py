"""(e) What recording costs: lifecycles (b) at each trace level, against level counters.

The lifecycle run of ``lifecycles.py`` (2,000 connections; 500 in quick
mode) at trace levels counters, states, packets and full, each level run
``REPEAT`` times in interleaved order, the fastest run of each kept. The
figure is the slowdown: wall time at a level / wall time at counters. The
target (<= 2x) is issue #10's for full; states and packets, which record a
subset of what full records, are held to the same bound.
"""

from __future__ import annotations

from bench.common import Context, Figure, Result
from bench.lifecycles import LifecycleError, run_lifecycles
from tcpsim.trace.records import Level

NAME = "tracecost"
LETTER = "e"
TITLE = "slowdown of (b) at 2,000 connections by trace level, vs counters"
TIMED = True

N = (2_000, 500)
REPEAT = 2
TARGET_SLOWDOWN = 2.0
LEVELS = (Level.COUNTERS, Level.STATES, Level.PACKETS, Level.FULL)


def run(ctx: Context) -> Result:
    n = int(ctx.pick(*N, name="n"))
    res = Result(params={"n": n, "repeat": REPEAT, "levels": [lv.name.lower() for lv in LEVELS]})
    best: dict[Level, float] = {}
    errors: dict[Level, str] = {}
    for _ in range(REPEAT):
        for level in LEVELS:
            if level in errors:
                continue
            try:
                r = run_lifecycles(n, level)
            except LifecycleError as e:
                errors[level] = str(e)
                continue
            best[level] = min(best.get(level, r.wall), r.wall)
    res.details["best_wall_s"] = {lv.name.lower(): w for lv, w in best.items()}
    res.details["lifecycles_per_s"] = {lv.name.lower(): n / w for lv, w in best.items()}
    base = best.get(Level.COUNTERS)
    for level in LEVELS[1:]:
        name = level.name.lower()
        error = errors.get(level) or (errors.get(Level.COUNTERS) and "the counters run failed")
        value = best[level] / base if base and level in best and not error else None
        res.figures.append(Figure(f"slowdown_{name}", f"slowdown at trace={name} vs counters", value, "x",
                                  TARGET_SLOWDOWN, "<=", error=error or None))
    return res
