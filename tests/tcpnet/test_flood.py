"""1,000 spoofed SYNs a second against a listen(128) server, with and without SYN cookies."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tcpsim.apps.attack import SynFlood
from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import SocketError
from tcpsim.net.tcp_layer import stack_of
from tcpsim.trace.records import Level

SERVER = "198.51.100.1"


def flood(syncookies: int, duration: float, clients: list[float], until: float) -> dict[str, Any]:
    sim = Simulation(seed=7, trace_level=Level.STATES)
    sim.add_host("attacker", "203.0.113.66")
    client = sim.add_host("client", "192.0.2.1")
    server = sim.add_host("server", SERVER, sysctls={"net.ipv4.tcp_syncookies": syncookies})
    sim.add_router("r1")
    for h in ("attacker", "client"):
        sim.add_link(h, "r1", LinkParams(delay=0.001, bandwidth=100e6))
    sim.add_link("r1", "server", LinkParams(delay=0.001, bandwidth=100e6))
    cs, ss = stack_of(client), stack_of(server)
    res: dict[str, Any] = {"connected": [], "errors": [], "peak_syn_recv": 0}

    def srv() -> Generator[Any, Any, None]:
        lst = ss.socket("server")
        lst.bind(80)
        lst.listen(128)
        res["listener"] = lst.listener
        while True:
            c = yield lst.accept()
            res.setdefault("mss", []).append(c.conn.mss)

    def cli(start: float) -> Generator[Any, Any, None]:
        yield sim.env.timeout(start)
        s = cs.socket("client")
        s.setsockopt("TCP_MAXSEG", 1400)
        try:
            yield s.connect(SERVER, 80)
            res["connected"].append(round(sim.now, 6))
        except SocketError as e:
            res["errors"].append((e.errno, round(sim.now, 6)))

    def watch() -> Generator[Any, Any, None]:
        while True:
            n = sum(1 for c in ss.conns.values() if c.state.value == "SYN_RECV")
            res["peak_syn_recv"] = max(res["peak_syn_recv"], n)
            yield sim.env.timeout(0.5)

    sim.env.process(srv())
    for t in clients:
        sim.env.process(cli(t))
    sim.env.process(watch())
    SynFlood(sim, sim.host("attacker"), "flood", dst=SERVER, port=80, rate=1000, duration=duration)
    sim.run(until=until)
    res["counters"] = dict(res["listener"].counters)
    return res


def test_without_cookies_syn_recv_saturates_and_clients_time_out() -> None:
    r = flood(0, duration=140, clients=[1.0], until=141)
    c = r["counters"]
    assert r["peak_syn_recv"] == 128
    # Each request lives 63 s (SYN-ACKs at 0, 1, 3, 7, 15, 31 s): the queue refills as they expire.
    assert c["syns_received"] == 140_000 + 11  # the flood, and the client's SYNs at 1..68 s
    assert c["synacks_sent"] == 128 * 3  # the queue filled at 0 s, 63 s and 126 s
    assert c["requests_dropped"] == 128 * 2
    assert c["listen_drops"] == c["syns_received"] - c["synacks_sent"]
    assert c.get("cookies_sent", 0) == 0
    assert r["connected"] == [] and r["errors"] == [("ETIMEDOUT", 132.0)]


def test_with_cookies_clients_connect_and_no_state_is_kept() -> None:
    r = flood(1, duration=5, clients=[1.0, 2.5], until=10)
    c = r["counters"]
    assert r["peak_syn_recv"] == 128
    assert c["syns_received"] == 5000 + 2
    assert c["cookies_sent"] == 5000 + 2 - 128
    assert c["cookies_validated"] == 2
    # A round trip of 2 ms plus serialization: connected when the cookie SYN-ACK arrives.
    assert r["connected"] == [pytest.approx(1.004, abs=1e-4), pytest.approx(2.504, abs=1e-4)]
    # 1400 rounded down to the cookie table's 1300, less 12 bytes of timestamp option per segment.
    assert r["mss"] == [1300 - 12, 1300 - 12]
