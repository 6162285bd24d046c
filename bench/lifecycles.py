"""(b) Whole TCP connections per wall-clock second, and whether the rate stays flat.

Each lifecycle is one client connection through the public socket API:
connect(), ten send() calls of 1,000 bytes with TCP_NODELAY (ten data
segments, each ACKed: a fresh connection is in quick-ACK mode), close(). The
server accepts it, reads until end of file, checks it got 10,000 bytes and
closes. About 27 segments cross the router per lifecycle.

Topology: ``CLIENT_HOSTS`` client hosts - r1 - server, 5 ms and 1 Gbit/s per
link (20 ms round trip). New connections arrive at a fixed rate
(``ARRIVAL_RATE`` per simulated second, round-robin over the client hosts),
so a few hundred are open at once; the client hosts share the TIME_WAIT load
(each has 28,232 ephemeral ports towards the server and every port stays in
TIME_WAIT for 60 s). Each client and each server connection is a SimPy
process, as an application would be written.

A lifecycle counts when both ends are done: the client called close() after
its ten sends, and the server read exactly 10,000 bytes, saw end of file and
closed. The run then checks that every byte arrived, every connection
completed without a socket error and every client connection reached
TIME_WAIT (its FIN was acknowledged and the server's FIN arrived); if not,
the size reports the failure instead of a rate.

The wall time covers ``Simulation.run`` only (not building the topology).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from bench.common import Context, Figure, GcTimer, Result
from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import Socket, SocketError
from tcpsim.net.tcp_layer import TcpStack, stack_of
from tcpsim.trace.records import Level

NAME = "lifecycles"
LETTER = "b"
TITLE = "TCP lifecycles (connect, 10 x 1,000 B, close) per wall second"
TIMED = True

TARGET_RATE = 13_000.0
TARGET_FLAT = 0.9  # our reading of "flat": the largest size keeps >= 90% of the smallest one's rate

SERVER = "198.51.100.1"
PORT = 80
SEGMENTS = 10
SEGMENT_BYTES = 1000
TOTAL_BYTES = SEGMENTS * SEGMENT_BYTES
CLIENT_HOSTS = 8
ARRIVAL_RATE = 8000.0   # new connections per simulated second
LINK_DELAY = 0.005
LINK_BANDWIDTH = 1e9
TAIL = 1.0              # simulated seconds after the last arrival (lifecycles take ~40 ms)

SIZES = ((2_000, 10_000, 100_000), (500, 2_000))


class LifecycleError(Exception):
    """A lifecycle run did not do what it should: the rate would mean nothing."""


@dataclass
class Tally:
    started: int = 0
    client_closed: int = 0
    server_done: int = 0
    server_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    area: float = 0.0   # integral of active lifecycles over simulated time
    last_t: float = 0.0


@dataclass
class LifecycleRun:
    n: int
    level: str
    wall: float
    cpu: float      # process CPU time over the same span (close to wall on an idle machine)
    gc: dict[str, Any]  # time in the garbage collector during the run (GcTimer.to_json)
    rate: float
    sim_time: float
    peak_concurrent: int
    mean_concurrent: float  # while connections arrive: arrival rate x mean lifetime (Little's law)
    mean_lifetime_s: float
    segments_per_lifecycle: float
    time_wait_entered: int


def run_lifecycles(n: int, level: Level = Level.COUNTERS, arrival_rate: float = ARRIVAL_RATE,
                   client_hosts: int = CLIENT_HOSTS) -> LifecycleRun:
    """Run ``n`` lifecycles and check them; raises :class:`LifecycleError` on any failure."""
    sim = Simulation(seed=1, trace_level=level)
    env = sim.env
    sim.add_host("server", SERVER)
    sim.add_router("r1")
    params = LinkParams(delay=LINK_DELAY, bandwidth=LINK_BANDWIDTH)
    sim.add_link("r1", "server", params)
    stacks: list[TcpStack] = []
    for i in range(client_hosts):
        h = sim.add_host(f"client{i}")
        sim.add_link(h.name, "r1", params)
        stacks.append(stack_of(h))
    server_stack = stack_of(sim.host("server"))
    tally = Tally()
    chunk = b"x" * SEGMENT_BYTES

    def note(delta: int) -> None:
        now = env.now
        tally.area += tally.active * (now - tally.last_t)
        tally.last_t = now
        tally.active += delta
        if tally.active > tally.peak:
            tally.peak = tally.active

    def serve(sock: Socket) -> Generator[Any, Any, None]:
        got = 0
        try:
            while True:
                data = yield sock.recv(65536)
                if not data:
                    break
                got += len(data)
            sock.close()
        except SocketError as e:
            tally.errors.append(f"server: {e}")
            return
        tally.server_bytes += got
        if got == TOTAL_BYTES:
            tally.server_done += 1
            note(-1)
        else:
            tally.errors.append(f"server read {got} bytes, expected {TOTAL_BYTES}")

    def acceptor() -> Generator[Any, Any, None]:
        lsock = server_stack.socket("server")
        lsock.bind(PORT)
        lsock.listen(4096)
        while True:
            sock = yield lsock.accept()
            env.process(serve(sock))

    def client(stack: TcpStack) -> Generator[Any, Any, None]:
        sock = stack.socket("client")
        sock.setsockopt("TCP_NODELAY", 1)
        note(+1)
        try:
            yield sock.connect(SERVER, PORT)
            for _ in range(SEGMENTS):
                yield sock.send(chunk)
            sock.close()
        except SocketError as e:
            tally.errors.append(f"client: {e}")
            return
        tally.client_closed += 1

    def arrivals() -> Generator[Any, Any, None]:
        gap = 1.0 / arrival_rate
        for i in range(n):
            at = i * gap   # absolute times: no drift
            if at > env.now:
                yield env.timeout(at - env.now)
            tally.started += 1
            env.process(client(stacks[i % client_hosts]))

    env.process(acceptor())
    env.process(arrivals())
    until = (n - 1) / arrival_rate + TAIL
    sim.compute_routes()
    t0 = time.perf_counter()
    c0 = time.process_time()
    with GcTimer() as gct:
        sim.run(until=until)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0

    counters = sim.trace.counters
    names = [s.host.name for s in stacks]
    tw = sum(counters[(h, "tcp:enter:TIME_WAIT")] for h in names)
    sent = sum(counters[(h, "send")] for h in [*names, "server"])
    problems = []
    if tally.errors:
        problems.append(f"{len(tally.errors)} socket errors (first: {tally.errors[0]})")
    if tally.started != n:
        problems.append(f"{tally.started} of {n} clients started")
    if tally.client_closed != n:
        problems.append(f"{tally.client_closed} of {n} clients closed")
    if tally.server_done != n:
        problems.append(f"{tally.server_done} of {n} server connections read {TOTAL_BYTES} bytes and closed")
    if tally.server_bytes != n * TOTAL_BYTES:
        problems.append(f"server read {tally.server_bytes} bytes, expected {n * TOTAL_BYTES}")
    if tw != n:
        problems.append(f"{tw} of {n} client connections reached TIME_WAIT")
    if problems:
        raise LifecycleError(f"{n} lifecycles at trace={level.name.lower()}: " + "; ".join(problems))
    note(0)
    return LifecycleRun(n=n, level=level.name.lower(), wall=wall, cpu=cpu, gc=gct.to_json(), rate=n / wall, sim_time=until,
                        peak_concurrent=tally.peak, mean_concurrent=arrival_rate * tally.area / n,
                        mean_lifetime_s=tally.area / n, segments_per_lifecycle=sent / n,
                        time_wait_entered=tw)


def run(ctx: Context) -> Result:
    picked = ctx.pick(*SIZES, name="sizes")
    sizes = (picked,) if isinstance(picked, int) else tuple(picked)
    res = Result(params={"sizes": list(sizes), "arrival_rate_per_s": ARRIVAL_RATE, "client_hosts": CLIENT_HOSTS,
                         "link_delay_s": LINK_DELAY, "link_bandwidth_bps": LINK_BANDWIDTH, "trace": "counters",
                         "segments": SEGMENTS, "segment_bytes": SEGMENT_BYTES})
    rates: dict[int, float] = {}
    runs: dict[str, Any] = {}
    for n in sizes:
        try:
            r = run_lifecycles(n)
        except LifecycleError as e:
            res.figures.append(ctx.rate_figure(f"rate_{n}", f"lifecycles/s at {n:,}", None, "lifecycles/s",
                                               TARGET_RATE, error=str(e)))
            continue
        rates[n] = r.rate
        runs[str(n)] = {k: v for k, v in vars(r).items() if k != "level"}
        res.figures.append(ctx.rate_figure(f"rate_{n}", f"lifecycles/s at {n:,}", r.rate, "lifecycles/s",
                                           TARGET_RATE))
    res.details["runs"] = runs
    lo, hi = sizes[0], sizes[-1]
    if lo in rates and hi in rates:
        res.figures.append(Figure("flatness", f"rate at {hi:,} / rate at {lo:,}", rates[hi] / rates[lo], "x",
                                  TARGET_FLAT, ">="))
    else:
        res.figures.append(Figure("flatness", f"rate at {hi:,} / rate at {lo:,}", None, "x", TARGET_FLAT, ">=",
                                  error="a size failed"))
    return res
