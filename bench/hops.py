"""(a) How fast does a packet cross a router chain, compared with bare SimPy?

A chain ``src - r1 - ... - r10 - dst`` (11 link hops per packet), loss 0. A
sender callback injects one packet every ``GAP`` seconds; each link has
``DELAY`` of propagation, so about 11 packets are in flight at once, and the
event heap stays small in both runs.

The baseline does the same with bare SimPy in the same process (see
``reference.py``): one ``env.timeout`` + callback per hop (and one per
injection), no packet, no queue, no trace. The ratio ``tcpsim hops/s / bare
hops/s`` is the figure to watch (target >= 0.5): it is the price of links,
routers and recording.

Part of ``python -m bench`` (``--only hops``); also runs alone, printing
figures and asserting nothing::

    python bench/hops.py [packets]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, uninstalled

from bench.common import Context, GcTimer, Result  # noqa: E402
from bench.reference import CALIBRATION_PACKETS, DELAY, GAP, HOPS, ROUTERS, run_bare  # noqa: E402
from tcpsim.net import LinkParams, Simulation  # noqa: E402
from tcpsim.trace import Level  # noqa: E402
from tcpsim.wire import ACK, IPPROTO_TCP, IPPacket, Segment  # noqa: E402

NAME = "hops"
LETTER = "a"
TITLE = "packet hops through 10 routers vs bare SimPy"
TIMED = True
TARGET_RATIO = 0.5


def run_tcpsim(packets: int, level: Level, bandwidth: float | None) -> tuple[float, int]:
    sim = Simulation(seed=1, trace_level=level)
    src = sim.add_host("src")
    dst = sim.add_host("dst")
    prev = "src"
    params = LinkParams(bandwidth=bandwidth, delay=DELAY)
    for i in range(1, ROUTERS + 1):
        sim.add_router(f"r{i}")
        sim.add_link(prev, f"r{i}", params)
        prev = f"r{i}"
    sim.add_link(prev, "dst", params)
    got = [0]

    def sink(pkt: IPPacket) -> None:
        got[0] += 1

    dst.handlers[IPPROTO_TCP] = sink
    seg = Segment(40000, 80, 1, 1, ACK, 65535, b"x" * 1000)
    sent = [0]
    daddr = dst.address

    def inject() -> None:
        src.ip_send(daddr, IPPROTO_TCP, seg)
        sent[0] += 1
        if sent[0] < packets:
            sim.call_later(GAP, inject)

    sim.call_at(0.0, inject)
    sim.compute_routes()
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    assert got[0] == packets, got
    return wall, packets * HOPS


def best_of(n: int, fn: Callable[..., tuple[float, int]], *args: object) -> tuple[float, int]:
    return min((fn(*args) for _ in range(n)), key=lambda r: r[0])


def main() -> None:
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    wall, hops = best_of(3, run_bare, packets)
    bare = hops / wall
    print(f"{packets} packets x {HOPS} hops through {ROUTERS} routers (best of 3)")
    print(f"  bare SimPy, one timeout per hop        {bare / 1e6:6.3f} M hops/s")
    for level in (Level.COUNTERS, Level.PACKETS):
        for bw in (None, 1e9):
            wall, hops = best_of(3, run_tcpsim, packets, level, bw)
            rate = hops / wall
            label = f"tcpsim trace={level.name.lower():8s} bw={'inf' if bw is None else f'{bw:.0e}'}"
            print(f"  {label:38s} {rate / 1e6:6.3f} M hops/s   ratio {rate / bare:.2f}")


def run(ctx: Context) -> Result:
    """The benchmark: the calibration run is the bare figure (same chain, same packet count)."""
    packets = ctx.pick(*CALIBRATION_PACKETS)
    res = Result(params={"packets": packets, "hops_per_packet": HOPS, "routers": ROUTERS, "delay_s": DELAY,
                         "gap_s": GAP, "bandwidth": "infinite", "repeat": 3})
    bare = ctx.bare_rate
    assert bare is not None
    res.details["bare_hops_per_s"] = bare
    for level in (Level.COUNTERS, Level.PACKETS):
        name = level.name.lower()
        with GcTimer() as gct:
            wall, hops = best_of(3, run_tcpsim, packets, level, None)
        res.details[f"gc_{name}_3_runs"] = gct.to_json()
        rate = hops / wall
        res.figures.append(ctx.bare_ratio_figure(
            f"hop_rate_{name}", f"hop rate, trace={name}", rate, "hops/s", TARGET_RATIO))
    return res


if __name__ == "__main__":
    main()
