"""(c) A million spoofed SYNs at 100,000/s against a server with SYN cookies, clients still served.

The scenario of ``scenarios/syn-flood-syncookies.yaml`` at scale: an attacker,
a client and a server around one router (5 ms, 1 Gbit/s links). The server
has ``net.ipv4.tcp_syncookies=1`` and listens with a backlog of 128; the
``syn-flood`` app (``tcpsim/apps/attack.py``) sends ``SYNS`` SYNs from forged
sources in 100.64.0.0/10. Once the SYN queue holds 128 half-open requests
every further SYN is answered with a cookie SYN-ACK and no state; the router
has no route back to the forged sources and answers each SYN-ACK with an ICMP
unreachable, which the server ignores. So every SYN costs four packet hops
and a cookie computation.

Meanwhile a legitimate client connects every 100 ms (from 50 ms on, while
the flood lasts), closes once connected, and the server accepts and closes
in turn. Reported: the wall time of the run, the process's peak RSS
(``ru_maxrss``; the calibration run and the interpreter are included), how
many clients connected and their mean connect time.

Trace level counters. No tracemalloc: it would double the run time.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from bench.common import Context, Figure, Result
from bench.worker import peak_rss_mib
from tcpsim.apps.attack import SynFlood
from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import Socket, SocketError
from tcpsim.net.tcp_layer import stack_of
from tcpsim.trace.records import Level

NAME = "synflood"
LETTER = "c"
TITLE = "1,000,000 spoofed SYNs at 100,000/s, syncookies on, clients connecting"
TIMED = True

SERVER = "198.51.100.80"
PORT = 80
FLOOD_RATE = 100_000.0
SYNS = (1_000_000, 20_000)
BACKLOG = 128
CLIENT_EVERY = 0.1
CLIENT_FIRST = 0.05
LINK_DELAY = 0.005
LINK_BANDWIDTH = 1e9
TAIL = 1.0  # simulated seconds after the last SYN, for the last client's handshake and close

TARGET_WALL = 60.0
TARGET_RSS_MIB = 2048.0
TARGET_CONNECT_S = 1.0  # below the initial RTO: no client SYN had to be retransmitted


def run(ctx: Context) -> Result:
    syns = int(ctx.pick(*SYNS, name="syns"))
    duration = syns / FLOOD_RATE
    sim = Simulation(seed=1, trace_level=Level.COUNTERS)
    env = sim.env
    sim.add_host("attacker", "192.0.2.66")
    client = sim.add_host("client", "192.0.2.10")
    server = sim.add_host("server", SERVER, sysctls={"net.ipv4.tcp_syncookies": 1})
    sim.add_router("r1")
    params = LinkParams(delay=LINK_DELAY, bandwidth=LINK_BANDWIDTH)
    for h in ("attacker", "client"):
        sim.add_link(h, "r1", params)
    sim.add_link("r1", "server", params)
    cs, ss = stack_of(client), stack_of(server)
    connect_times: list[float] = []
    errors: list[str] = []
    attempts = [0]
    listener: dict[str, Any] = {}

    def serve(sock: Socket) -> Generator[Any, Any, None]:
        try:
            while (yield sock.recv(65536)):
                pass
        except SocketError as e:
            errors.append(f"server: {e}")
        sock.close()

    def acceptor() -> Generator[Any, Any, None]:
        lsock = ss.socket("server")
        lsock.bind(PORT)
        lsock.listen(BACKLOG)
        listener["lst"] = lsock.listener
        while True:
            sock = yield lsock.accept()
            env.process(serve(sock))

    def one_client() -> Generator[Any, Any, None]:
        sock = cs.socket("client")
        t0 = env.now
        try:
            yield sock.connect(SERVER, PORT)
        except SocketError as e:
            errors.append(f"client at {t0:.2f} s: {e}")
            sock.close()
            return
        connect_times.append(env.now - t0)
        sock.close()

    def clients() -> Generator[Any, Any, None]:
        k = 0
        while True:
            at = CLIENT_FIRST + k * CLIENT_EVERY
            if at >= duration:
                return
            if at > env.now:
                yield env.timeout(at - env.now)
            attempts[0] += 1
            env.process(one_client())
            k += 1

    env.process(acceptor())
    env.process(clients())
    flood = SynFlood(sim, sim.host("attacker"), "flood", dst=SERVER, port=PORT, rate=FLOOD_RATE, count=syns)
    sim.compute_routes()
    t0 = time.perf_counter()
    c0 = time.process_time()
    sim.run(until=duration + TAIL)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    rss = peak_rss_mib()

    counters = dict(listener["lst"].counters)
    res = Result(params={"syns": syns, "flood_rate_per_s": FLOOD_RATE, "backlog": BACKLOG, "syncookies": 1,
                         "client_every_s": CLIENT_EVERY, "link_delay_s": LINK_DELAY,
                         "link_bandwidth_bps": LINK_BANDWIDTH, "trace": "counters"})
    res.details = {
        "wall_s": wall, "cpu_s": cpu, "simulated_s": duration + TAIL, "syns_sent": flood.syns_sent,
        "listener": counters, "client_attempts": attempts[0], "client_errors": errors[:5],
        "syns_per_wall_s": flood.syns_sent / wall, "peak_rss_mib_includes": "interpreter, imports, calibration",
    }
    problem = None
    if flood.syns_sent != syns:
        problem = f"the flood sent {flood.syns_sent} of {syns} SYNs"
    elif counters.get("syns_received", 0) < syns:
        problem = f"the listener saw {counters.get('syns_received', 0)} SYNs, fewer than the {syns} sent"
    elif counters.get("cookies_sent", 0) < syns - BACKLOG:
        problem = f"only {counters.get('cookies_sent', 0)} cookies for {syns} SYNs"
    res.figures.append(ctx.duration_figure("wall", f"wall time for {syns:,} SYNs", None if problem else wall,
                                           "s", TARGET_WALL, error=problem))
    res.figures.append(Figure("peak_rss", "peak RSS of the process", rss, "MiB", TARGET_RSS_MIB, "<"))
    res.figures.append(Figure("clients_connected", f"clients connected (of {attempts[0]})", float(len(connect_times)),
                              "clients", float(attempts[0]), ">="))
    mean = sum(connect_times) / len(connect_times) if connect_times else None
    res.figures.append(Figure("mean_connect", "clients' mean connect time", mean, "s", TARGET_CONNECT_S, "<",
                              error=None if connect_times else "no client connected"))
    return res
