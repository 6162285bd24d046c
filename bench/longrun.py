"""(f) A simulated day of churn: memory at 24 h must stay within 10% of memory at 1 h.

A client host and a server host around one router (5 ms, 100 Mbit/s links).
Short connections arrive at ``CHURN_RATE`` per simulated second: connect,
send 1,000 bytes, close (the client keeps each TIME_WAIT for 60 s); the
server reads to end of file and closes. Beside them ``IDLE`` long-lived
connections stay open and silent with SO_KEEPALIVE on, the client host's
``net.ipv4.tcp_keepalive_time`` lowered to 300 s (``tcp_keepalive_intvl``
30 s), so each sends a keepalive probe every five minutes for the whole day.
Every connection is a SimPy process on each side, as an application's would be.

The simulation runs in steps of one simulated hour (``Simulation.run(until=...)``);
after each, tracemalloc's current memory (after ``gc.collect()``) less the
memory traced before the Simulation was built is the simulation's memory.
The figure is memory at the last hour / memory at 1 h: once TIME_WAIT,
closed TCBs and timers are released as fast as they are made, it stays near 1.
tracemalloc slows the run 5-6x, which is why the churn rate is modest; even
so about 25,000 lifecycles run between 1 h and 24 h, and the simulation
holds about 1.4 MB at 1 h, so a leak of 6 bytes per lifecycle would already
break the 10% bound.

Quick mode simulates 2 h and compares 2 h with 1 h.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from collections.abc import Generator
from typing import Any

from bench.common import Context, Figure, Result, traced_bytes
from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import Socket, SocketError
from tcpsim.net.tcp_layer import stack_of
from tcpsim.trace.records import Level

NAME = "longrun"
LETTER = "f"
TITLE = "24 simulated hours of churn + keepalive: memory at 24 h vs 1 h"
TIMED = False

SERVER = "198.51.100.80"
PORT = 80
HOURS = (24, 2)
CHURN_RATE = 0.3        # short connections per simulated second
IDLE = 100              # long-lived idle connections with keepalive
REQUEST_BYTES = 1000
KEEPALIVE_TIME = 300
KEEPALIVE_INTVL = 30
LINK_DELAY = 0.005
LINK_BANDWIDTH = 100e6
TARGET_GROWTH = 1.10


def run(ctx: Context) -> Result:
    hours = int(ctx.pick(*HOURS, name="hours"))
    rate = float(ctx.pick(CHURN_RATE, CHURN_RATE, "churn_rate"))
    tracemalloc.start()
    base = traced_bytes()
    sim = Simulation(seed=1, trace_level=Level.COUNTERS)
    env = sim.env
    client = sim.add_host("client", "192.0.2.10", sysctls={"net.ipv4.tcp_keepalive_time": KEEPALIVE_TIME,
                                                          "net.ipv4.tcp_keepalive_intvl": KEEPALIVE_INTVL})
    server = sim.add_host("server", SERVER)
    sim.add_router("r1")
    params = LinkParams(delay=LINK_DELAY, bandwidth=LINK_BANDWIDTH)
    sim.add_link("client", "r1", params)
    sim.add_link("r1", "server", params)
    cs, ss = stack_of(client), stack_of(server)
    tally: Counter[str] = Counter()
    errors: list[str] = []
    request = b"q" * REQUEST_BYTES

    def serve(sock: Socket) -> Generator[Any, Any, None]:
        got = 0
        try:
            while True:
                data = yield sock.recv(65536)
                if not data:
                    break
                got += len(data)
        except SocketError as e:
            errors.append(f"{env.now:.1f} s server: {e}")
        sock.close()
        if got == REQUEST_BYTES:
            tally["served"] += 1

    def acceptor() -> Generator[Any, Any, None]:
        lsock = ss.socket("server")
        lsock.bind(PORT)
        lsock.listen(1024)
        while True:
            sock = yield lsock.accept()
            env.process(serve(sock))

    def short() -> Generator[Any, Any, None]:
        sock = cs.socket("churn")
        try:
            yield sock.connect(SERVER, PORT)
            yield sock.send(request)
        except SocketError as e:
            errors.append(f"{env.now:.1f} s client: {e}")
        sock.close()
        tally["closed"] += 1

    def idle() -> Generator[Any, Any, None]:
        sock = cs.socket("idle")
        sock.setsockopt("SO_KEEPALIVE", 1)
        try:
            yield sock.connect(SERVER, PORT)
            tally["idle_connected"] += 1
            yield sock.recv(65536)   # the server never speaks: blocked all day
            errors.append(f"{env.now:.1f} s idle connection ended")
        except SocketError as e:
            errors.append(f"{env.now:.1f} s idle: {e}")

    def churn() -> Generator[Any, Any, None]:
        gap = 1.0 / rate
        i = 0
        while True:
            at = 1.0 + i * gap
            if at > env.now:
                yield env.timeout(at - env.now)
            tally["started"] += 1
            env.process(short())
            i += 1

    env.process(acceptor())
    for _ in range(IDLE):
        env.process(idle())
    env.process(churn())

    series: list[dict[str, Any]] = []
    own = 0  # bytes of this loop's own records (``series``), which are not the simulation's
    t0 = time.perf_counter()
    for h in range(1, hours + 1):
        sim.run(until=h * 3600.0)
        now = traced_bytes()
        mem = now - base - own
        states = Counter(c.state.value for c in cs.conns.values())
        series.append({"hour": h, "sim_bytes": mem, "wall_s": round(time.perf_counter() - t0, 2),
                       "client_conns": dict(states), "server_conns": len(ss.conns),
                       "event_queue": len(env._queue), "gc_objects": len(gc.get_objects()),
                       "lifecycles": tally["served"]})
        del states
        own += traced_bytes() - now
    wall = time.perf_counter() - t0
    counters = sim.trace.counters
    probes = counters[("client", "timer:keepalive")]
    tracemalloc.stop()

    res = Result(params={"hours": hours, "churn_rate_per_s": rate, "idle_keepalive_connections": IDLE,
                         "tcp_keepalive_time_s": KEEPALIVE_TIME, "request_bytes": REQUEST_BYTES,
                         "trace": "counters"})
    res.details = {"series": series, "wall_s": wall, "keepalive_timer_fired": probes,
                   "lifecycles": tally["served"], "started": tally["started"], "errors": errors[:5],
                   "mem_1h_bytes": series[0]["sim_bytes"], "mem_last_bytes": series[-1]["sim_bytes"]}
    problems = []
    if errors:
        problems.append(f"{len(errors)} errors (first: {errors[0]})")
    if tally["idle_connected"] != IDLE:
        problems.append(f"{tally['idle_connected']} of {IDLE} idle connections connected")
    expected_probes = IDLE * int((hours * 3600 - 10) // KEEPALIVE_TIME)
    if probes < 0.9 * expected_probes:
        problems.append(f"{probes} keepalive timers fired, expected about {expected_probes}")
    if tally["served"] < tally["started"] - 2:  # the last one or two may still be in flight
        problems.append(f"{tally['served']} of {tally['started']} short connections served")
    problem = "; ".join(problems) or None
    ratio = series[-1]["sim_bytes"] / series[0]["sim_bytes"]
    res.figures.append(Figure("growth", f"memory at {hours} h / memory at 1 h", None if problem else ratio, "x",
                              TARGET_GROWTH, "<=", error=problem))
    return res
