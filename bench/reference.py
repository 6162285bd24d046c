"""The bare SimPy reference that every timed figure is divided by.

A chain of ``HOPS`` one-way hops, one packet injected every ``GAP`` seconds,
each hop ``DELAY`` long: one ``env.timeout`` + callback per hop (and one per
injection), no packet object, no queue, no trace. It is the cheapest way
SimPy can move a "packet" through the same chain that ``hops.py`` builds, so
its callbacks per second measure how fast this machine runs SimPy's event
loop right now. Figures measured in the same process are reported beside it
(as a ratio) or normalized by it (``normalize_rate``), which cancels most of
the machine's speed and its momentary load.
"""

from __future__ import annotations

import time
from typing import Any

import simpy

__all__ = ["CALIBRATION_PACKETS", "DELAY", "GAP", "HOPS", "NOMINAL_BARE_RATE", "ROUTERS", "bare_rate", "run_bare"]

ROUTERS = 10
HOPS = ROUTERS + 1
DELAY = 0.001
GAP = 0.001

#: Bare SimPy callbacks per second on the reference machine (2 cores, CPython 3.11),
#: the speed that absolute targets such as "13,000 lifecycles/s" assume.
NOMINAL_BARE_RATE = 1.1e6

#: Packets per calibration run (full mode, quick mode); each run is ``HOPS`` callbacks per packet.
CALIBRATION_PACKETS = (50_000, 10_000)


def run_bare(packets: int) -> tuple[float, int]:
    """(wall seconds, callbacks) for ``packets`` packets through ``HOPS`` bare SimPy hops."""
    env = simpy.Environment()
    count = [0, 0]

    def hop(ev: simpy.Event) -> None:
        n: Any = ev.value   # no cast(): this loop is the baseline, keep it bare
        count[1] += 1
        if n < HOPS:
            env.timeout(DELAY, n + 1).callbacks.append(hop)

    def inject(ev: simpy.Event) -> None:
        env.timeout(DELAY, 1).callbacks.append(hop)
        count[0] += 1
        if count[0] < packets:
            env.timeout(GAP).callbacks.append(inject)

    env.timeout(0.0).callbacks.append(inject)
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert count[1] == packets * HOPS
    return wall, packets * HOPS


def bare_rate(packets: int, repeat: int = 3) -> float:
    """Bare SimPy hops (callbacks) per second: the best of ``repeat`` runs."""
    wall = min(run_bare(packets)[0] for _ in range(repeat))
    return packets * HOPS / wall
