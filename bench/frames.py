"""How long the Python API takes to turn a big trace into DataFrames (``python -m bench.frames``).

The ``syn-flood`` scenario at trace level ``packets`` with the flood raised to
``SYNS`` spoofed SYNs in its 5 s (default one million): the simulation runs
once, then ``Run.packets``, ``Run.states`` and ``Run.counts`` are built and
timed, each the first time (they are cached afterwards). Then the packet
table again from the run's packet records repeated up to ``--rows`` rows
(default a million): the cost per row of the table alone, at that size,
without simulating that much. Prints one line per table: rows and seconds.
A measurement, not a test (see docs/performance.md).

    python -m bench.frames                    # 1,000,000 SYNs
    python -m bench.frames 100000 --rows 1000000
"""

from __future__ import annotations

import sys
import time

import tcpsim


def main(argv: list[str]) -> int:
    rows = 1_000_000
    if "--rows" in argv:
        i = argv.index("--rows")
        rows = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    syns = int(argv[0]) if argv else 1_000_000
    t0 = time.perf_counter()
    run = tcpsim.run("syn-flood", set={"flood_rate": syns / 5.0}, until=6.0, trace="packets")
    sim_s = time.perf_counter() - t0
    sent = run.summary["apps"]["flood"]["results"]["syns_sent"]
    print(f"syn-flood, {sent:,} SYNs sent, trace level packets: {len(run.records):,} records, "
          f"simulated in {sim_s:.1f} s")
    # CPU seconds beside wall seconds: on a shared machine the wall clock says more about the neighbours.
    for name in ("packets", "states", "counts"):
        t0, c0 = time.perf_counter(), time.process_time()
        frame = getattr(run, name)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"run.{name}: {len(frame):,} rows x {len(frame.columns)} columns in {took:.2f} s "
              f"({cpu:.2f} s CPU, {frame.memory_usage(deep=False).sum() / 2**20:.0f} MiB)")
    from tcpsim.frames import packets_frame, paused_gc
    from tcpsim.trace.records import PKT

    pk = [r for r in run.records if r[1] == PKT]
    if pk and rows > len(pk):
        many = (pk * (rows // len(pk) + 1))[:rows]
        t0, c0 = time.perf_counter(), time.process_time()
        with paused_gc():
            frame = packets_frame(many)
        print(f"packets table of those records repeated: {len(frame):,} rows in {time.perf_counter() - t0:.2f} s "
              f"({time.process_time() - c0:.2f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
