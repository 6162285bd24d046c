"""How long the Python API takes to turn a big trace into DataFrames (``python -m bench.frames``).

The ``syn-flood`` scenario at trace level ``packets`` with the flood raised to
``SYNS`` spoofed SYNs in its 5 s (default one million): the simulation runs
once, then ``Run.packets``, ``Run.states`` and ``Run.counts`` are built and
timed, each the first time (they are cached afterwards). Prints one line per
table: rows and seconds. A measurement, not a test (see docs/performance.md).

    python -m bench.frames            # 1,000,000 SYNs
    python -m bench.frames 100000     # a smaller flood
"""

from __future__ import annotations

import sys
import time

import tcpsim


def main(argv: list[str]) -> int:
    syns = int(argv[0]) if argv else 1_000_000
    t0 = time.perf_counter()
    run = tcpsim.run("syn-flood", set={"flood_rate": syns / 5.0}, until=6.0, trace="packets")
    sim_s = time.perf_counter() - t0
    sent = run.summary["apps"]["flood"]["results"]["syns_sent"]
    print(f"syn-flood, {sent:,} SYNs sent, trace level packets: {len(run.records):,} records, "
          f"simulated in {sim_s:.1f} s")
    for name in ("packets", "states", "counts"):
        t0 = time.perf_counter()
        frame = getattr(run, name)
        took = time.perf_counter() - t0
        print(f"run.{name}: {len(frame):,} rows x {len(frame.columns)} columns in {took:.2f} s "
              f"({frame.memory_usage(deep=False).sum() / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
