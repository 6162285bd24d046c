"""(d) Memory per connection, by tracemalloc: half-open, ESTABLISHED, TIME_WAIT.

Each case builds its connections in a fresh Simulation through the network
(real handshakes, real closes), with tracemalloc on from before the
Simulation exists. The figure is

    (traced memory when the N connections exist - traced memory just before
     the first one was started) / divisor

both taken after ``gc.collect()`` and while no packet is in flight, so the
simulation's fixed cost (topology, stacks, listener, apps) cancels. What is
counted is everything a connection keeps alive in the simulator: its TCB and
buffers, its socket, the stack's tables (4-tuple map, port references),
listener queues, and its pending timer wake-up on SimPy's event queue.

* ``half-open``: ``N`` spoofed SYNs (the ``syn-flood`` app, 10^6/s) to a
  listener with cookies off and room for all of them
  (``tcp_syncookies=0``, ``somaxconn``, ``tcp_max_syn_backlog`` and the
  backlog at 2N); measured 0.1 s after the last SYN, before the first SYN-ACK
  retransmission. Divided by the number of SYN_RECV entries (forged sources
  may collide, rarely).
* ``established``: ``N`` connections from client hosts (at most 25,000 per
  host, for ephemeral ports) to one server; both ends live in the same
  simulation and both sockets are held open with empty buffers. Divided by
  **2N, the number of endpoints** (a client and a server endpoint per connection).
* ``time-wait``: ``N`` connections that the client closes as soon as it is
  connected; the server reads end of file and closes, so its side is gone
  (CLOSED and forgotten) and the client side sits in TIME_WAIT (60 s).
  Divided by N, the number of TIME_WAIT sockets.

tracemalloc slows a run 4-6x, so N is 20,000 in full mode (100,000 would
take about four minutes for the three cases); the figure per connection
hardly moves with N (``--set mem_n=100000`` to check). Each case also lists
the allocation sites that grew most (tracemalloc snapshots compared by line),
from a separate build of ``SITES_N`` connections.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import simpy

from bench.common import Context, Figure, Result, traced_bytes
from bench.runner import ROOT
from tcpsim.apps.attack import SynFlood
from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import Socket
from tcpsim.net.tcp_layer import TcpStack, stack_of
from tcpsim.tcp.state import State
from tcpsim.trace.records import Level

NAME = "memory"
LETTER = "d"
TITLE = "memory per half-open, ESTABLISHED and TIME_WAIT connection (tracemalloc)"
TIMED = False

SERVER = "198.51.100.80"
PORT = 80
MEM_N = (20_000, 5_000)
PER_CLIENT_HOST = 25_000
OPEN_RATE = 20_000.0   # connections started per simulated second
FLOOD_RATE = 1e6
LINK_DELAY = 0.001
START = 0.01           # the first connection starts here; the baseline is taken just before
SETTLE = 3.0           # simulated seconds after the last start (stale 1 s RTO wake-ups have fired)
TOP_SITES = 8
SITES_N = 2_000        # connections in the build whose allocation sites are listed

TARGETS = {"half_open": 1024.0, "established": 2048.0, "time_wait": 512.0}


def _sites(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, divisor: int) -> list[dict[str, Any]]:
    """The allocation sites that grew most, in bytes per counted connection."""
    out = []
    mine = [tracemalloc.Filter(False, tracemalloc.__file__)]  # the first snapshot, alive in the second
    for stat in after.filter_traces(mine).compare_to(before.filter_traces(mine), "lineno")[:TOP_SITES]:
        frame = stat.traceback[0]
        path = Path(frame.filename)
        try:
            where = str(path.resolve().relative_to(ROOT))
        except ValueError:
            where = "/".join(path.parts[-2:])
        out.append({"where": f"{where}:{frame.lineno}", "bytes_per_conn": round(stat.size_diff / divisor, 1),
                    "blocks_per_conn": round(stat.count_diff / divisor, 2)})
    return out


Build = Callable[[], tuple[Simulation, float, Callable[[], int], Callable[[], str | None]]]


def _measure(build: Build, snapshots: bool) -> dict[str, Any]:
    """Build a simulation, take the baseline just before START, run to its end, measure again.

    ``build`` returns (simulation, end time, count of the connections to divide by, a check
    that returns a problem or None). The simulation is gone when this returns.
    """
    t0 = time.perf_counter()
    sim, end, count, check = build()
    sim.run(until=START / 2)
    before = traced_bytes()
    snap0 = None
    snap_cost = 0
    if snapshots:
        # A snapshot is itself traced memory, and it stays alive through the run: subtract it.
        snap0 = tracemalloc.take_snapshot()
        snap_cost = traced_bytes() - before
    t1 = time.perf_counter()
    sim.run(until=end)
    t2 = time.perf_counter()
    after = traced_bytes() - snap_cost
    divisor = count()
    out: dict[str, Any] = {"grown_bytes": after - before, "divisor": divisor, "problem": check(),
                           "simulated_s": end, "run_wall_s": round(t2 - t1, 2)}
    if snap0 is not None:
        snap1 = tracemalloc.take_snapshot()
        out["top_sites"] = _sites(snap0, snap1, max(divisor, 1))
        del snap0, snap1
    del sim
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def build_half_open(n: int) -> tuple[Simulation, float, Callable[[], int], Callable[[], str | None]]:
    room = 2 * n
    sysctls: dict[str, object] = {"net.ipv4.tcp_syncookies": 0, "net.core.somaxconn": room, "net.ipv4.tcp_max_syn_backlog": room}
    sim = Simulation(seed=1, trace_level=Level.COUNTERS)
    sim.add_host("attacker", "192.0.2.66")
    server = sim.add_host("server", SERVER, sysctls=sysctls)
    sim.add_router("r1")
    sim.add_link("attacker", "r1", LinkParams(delay=LINK_DELAY))
    sim.add_link("r1", "server", LinkParams(delay=LINK_DELAY))
    ss = stack_of(server)
    lsock = ss.socket("server")
    lsock.bind(PORT)
    lsock.listen(room)
    SynFlood(sim, sim.host("attacker"), "flood", dst=SERVER, port=PORT, rate=FLOOD_RATE, count=n, start=START)
    sim.compute_routes()
    end = START + n / FLOOD_RATE + 0.1  # the first SYN-ACK retransmission is 1 s after each SYN

    def count() -> int:
        return sum(1 for c in ss.conns.values() if c.state is State.SYN_RCVD)

    def check() -> str | None:
        # Forged sources may repeat (rarely): a repeated SYN meets its existing request.
        k = count()
        return None if k >= 0.99 * n else f"only {k} SYN_RECV entries for {n} SYNs"

    # The listen socket outlives this function: the stack keeps it (listen_sockets).
    return sim, end, count, check


def _client_server(n: int) -> tuple[Simulation, list[TcpStack], TcpStack, Socket]:
    sim = Simulation(seed=1, trace_level=Level.COUNTERS)
    server = sim.add_host("server", SERVER, sysctls={"net.core.somaxconn": 65535})
    sim.add_router("r1")
    sim.add_link("r1", "server", LinkParams(delay=LINK_DELAY))
    stacks = []
    for i in range(-(-n // PER_CLIENT_HOST)):
        h = sim.add_host(f"client{i}")
        sim.add_link(h.name, "r1", LinkParams(delay=LINK_DELAY))
        stacks.append(stack_of(h))
    ss = stack_of(server)
    lsock = ss.socket("server")
    lsock.bind(PORT)
    lsock.listen(65535)
    sim.compute_routes()
    return sim, stacks, ss, lsock


def _starts(sim: Simulation, n: int, start: Callable[[int], None]) -> None:
    """Call ``start(i)`` for i < n, OPEN_RATE a second from START: one pending call at a time,
    so the baseline holds no per-connection schedule."""

    def step(i: int) -> None:
        start(i)
        if i + 1 < n:
            sim.call_at(START + (i + 1) / OPEN_RATE, step, i + 1)

    sim.call_at(START, step, 0)


def build_established(n: int) -> tuple[Simulation, float, Callable[[], int], Callable[[], str | None]]:
    """Both ends held open (a list of sockets, 8 bytes each); callbacks, not processes, so no
    app state is counted."""
    sim, stacks, ss, lsock = _client_server(n)
    held: list[Socket] = []

    def on_accept(ev: simpy.Event) -> None:
        sock = cast(Socket, ev.value)  # accept()'s value
        held.append(sock)
        lsock.accept().callbacks.append(on_accept)

    lsock.accept().callbacks.append(on_accept)

    def start(i: int) -> None:
        sock = stacks[i % len(stacks)].socket("client")

        def connected(ev: simpy.Event) -> None:
            if ev.ok:
                held.append(sock)

        sock.connect(SERVER, PORT).callbacks.append(connected)

    _starts(sim, n, start)

    def count() -> int:
        return sum(1 for s in (*stacks, ss) for c in s.conns.values() if c.state is State.ESTABLISHED)

    def check() -> str | None:
        k = count()
        return None if k == 2 * n and len(held) == 2 * n else f"{k} ESTABLISHED endpoints, expected {2 * n}"

    return sim, START + n / OPEN_RATE + SETTLE, count, check


def build_time_wait(n: int) -> tuple[Simulation, float, Callable[[], int], Callable[[], str | None]]:
    """The client closes once connected; the server closes at end of file. Nothing is held."""
    sim, stacks, ss, lsock = _client_server(n)

    def on_accept(ev: simpy.Event) -> None:
        sock = cast(Socket, ev.value)  # accept()'s value

        def eof(_ev: simpy.Event) -> None:
            sock.close()

        sock.recv().callbacks.append(eof)
        lsock.accept().callbacks.append(on_accept)

    lsock.accept().callbacks.append(on_accept)

    def start(i: int) -> None:
        sock = stacks[i % len(stacks)].socket("client")

        def connected(ev: simpy.Event) -> None:
            if ev.ok:
                sock.close()

        sock.connect(SERVER, PORT).callbacks.append(connected)

    _starts(sim, n, start)
    end = START + n / OPEN_RATE + SETTLE
    if end > 50.0:
        raise ValueError(f"{n} connections at {OPEN_RATE:g}/s outlast TIME_WAIT; raise OPEN_RATE")

    def count() -> int:
        return sum(1 for s in stacks for c in s.conns.values() if c.state is State.TIME_WAIT)

    def check() -> str | None:
        k = count()
        if k != n:
            return f"{k} TIME_WAIT sockets, expected {n}"
        left = Counter(c.state.value for c in ss.conns.values())
        return f"the server still holds {dict(left)}" if left else None

    return sim, end, count, check


CASES = (
    ("half_open", "bytes per half-open request (SYN_RECV)", "SYN_RECV entries", build_half_open),
    ("established", "bytes per ESTABLISHED endpoint (total / 2N)",
     "endpoints (2 per connection: client and server)", build_established),
    ("time_wait", "bytes per TIME_WAIT socket", "TIME_WAIT sockets (the server side is gone)", build_time_wait),
)


def run(ctx: Context) -> Result:
    n = int(ctx.pick(*MEM_N, name="mem_n"))
    snapshots = bool(ctx.pick(1, 0, "snapshots"))  # the sites are for the docs, not for CI
    res = Result(params={"n": n, "trace": "counters", "open_rate_per_s": OPEN_RATE,
                         "per_client_host": PER_CLIENT_HOST, "link_delay_s": LINK_DELAY,
                         "target_unit": "KiB (1 KB = 1024 bytes)"})
    k = min(n, SITES_N)
    tracemalloc.start()
    for key, label, divided_by, build in CASES:
        m = _measure(lambda build=build: build(n), False)  # type: ignore[misc]
        gc.collect()
        problem = m.pop("problem")
        value = None if problem else m["grown_bytes"] / m["divisor"]
        res.figures.append(Figure(key, label, value, "B", TARGETS[key], "<=", error=problem))
        res.details[key] = {"divided_by": divided_by, **m}
        if snapshots:
            # Where the bytes go, from a smaller build of the same case: snapshots of N
            # connections' traces would cost more than the measurement itself.
            small = _measure(lambda build=build: build(k), True)  # type: ignore[misc]
            gc.collect()
            res.details[key]["sites_from_n"] = k
            res.details[key]["sites_build_bytes_per_conn"] = small["grown_bytes"] / max(small["divisor"], 1)
            res.details[key]["top_sites"] = small["top_sites"]
    res.details["established"]["per_connection_pair_bytes"] = res.details["established"]["grown_bytes"] / n
    res.details["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return res
