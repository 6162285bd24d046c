"""TCP apps driven directly on a Simulation: their behaviours, results and life cycle."""

from __future__ import annotations

import ipaddress

import pytest

from tcpsim.apps import (
    BulkSender,
    Churn,
    PortScan,
    Sink,
    SynFlood,
    TcpClient,
    TcpServer,
    VanishingClient,
    parse_ports,
)
from tcpsim.net import LinkParams, Simulation
from tcpsim.net.node import Host
from tcpsim.trace.records import PKT, SEND, STATE
from tcpsim.wire.segment import ACK, FIN, RST, SYN, Segment


def pair(delay: float = 0.01, **host_kw: object) -> tuple[Simulation, Host, Host]:
    sim = Simulation(seed=1)
    c = sim.add_host("client", address="192.0.2.1", **host_kw)  # type: ignore[arg-type]
    s = sim.add_host("server", address="192.0.2.2")
    sim.add_link("client", "server", LinkParams(delay=delay))
    return sim, c, s


def states(sim: Simulation, node: str) -> list[str]:
    return [r[5] for r in sim.trace.records if r[1] == STATE and r[2] == node and not r[3].endswith("0.0.0.0:*")]


def segments(sim: Simulation, node: str) -> list[Segment]:
    return [r[4].payload for r in sim.trace.records if r[1] == PKT and r[3] == SEND and r[2] == node]


def test_echo_server_and_half_closing_client() -> None:
    sim, c, s = pair()
    srv = TcpServer(sim, s, "echo", port=7, behaviour="echo")
    cli = TcpClient(sim, c, "cli", dst=s.address, port=7, send=3000, requests=0, finish="shutdown")
    sim.run(until=5)
    assert cli.results()["bytes_received"] == 3000 and srv.results()["bytes_sent"] == 3000
    assert states(sim, "client") == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]
    assert srv.results()["transfers"][0]["bytes"] == 3000


def test_close_after_response_leaves_the_time_wait_on_the_server() -> None:
    sim, c, s = pair()
    TcpServer(sim, s, "web", behaviour="close-after-response")
    cli = TcpClient(sim, c, "cli", dst=s.address, requests=1, finish="hold")
    sim.run(until=5)
    assert states(sim, "server")[-1] == "TIME_WAIT"
    assert states(sim, "client")[-1] == "CLOSED"
    assert cli.results()["requests"] == 1


def test_never_close_leaks_close_wait_and_worker_limit_stops_accepting() -> None:
    sim, c, s = pair()
    srv = TcpServer(sim, s, "buggy", behaviour="never-close", worker_limit=2)
    cli = TcpClient(sim, c, "cli", dst=s.address, count=4, stagger=0.5)
    sim.run(until=10)
    r = srv.results()
    assert (r["accepted"], r["open"], r["requests"]) == (2, 2, 2)
    assert states(sim, "server").count("CLOSE_WAIT") == 2
    assert cli.results()["requests"] == 2 and cli.results()["connections_made"] == 4
    assert r["listener"]["completed"] == 4 and r["listener"]["accepted"] == 2


def test_linger0_resets() -> None:
    sim, c, s = pair()
    TcpServer(sim, s, "web")
    TcpClient(sim, c, "cli", dst=s.address, finish="linger0")
    sim.run(until=5)
    assert segments(sim, "client")[-1].flags == RST | ACK
    assert "TIME_WAIT" not in states(sim, "client")


def test_bulk_to_a_sink_reports_goodput() -> None:
    sim = Simulation(seed=1)
    a = sim.add_host("a")
    b = sim.add_host("b")
    sim.add_link("a", "b", LinkParams(delay=0.01, bandwidth=10e6))
    sink = Sink(sim, b, "sink")
    bulk = BulkSender(sim, a, "bulk", dst=b.address, nbytes=500_000)
    sim.run(until=10)
    r = bulk.results()
    assert r["bytes_sent"] == 500_000 and sink.results()["bytes_received"] == 500_000
    assert 0.4 < r["completion_time"] < 1.0
    assert r["goodput_bps"] == pytest.approx(500_000 * 8 / r["completion_time"])
    assert r["goodput_bps"] < 10e6
    with pytest.raises(ValueError):
        BulkSender(sim, a, "x", dst=b.address)


def test_syn_flood_forges_sources_from_its_prefix() -> None:
    sim, c, s = pair()
    TcpServer(sim, s, "web", backlog=8)
    flood = SynFlood(sim, c, "flood", dst=s.address, rate=100, count=50, spoof="10.99.0.0/16")
    sim.run(until=2)
    syns = [r[4] for r in sim.trace.records if r[1] == PKT and r[3] == SEND and r[2] == "client"]
    assert len(syns) == 50 and flood.results()["syns_sent"] == 50
    net = ipaddress.IPv4Network("10.99.0.0/16")
    assert all(ipaddress.IPv4Address(p.src) in net and p.payload.flags == SYN for p in syns)
    assert len({p.src for p in syns}) > 40
    assert flood.results()["last"] == pytest.approx(0.49)
    one = SynFlood(sim, c, "one", dst=s.address, rate=10, count=3, spoof="203.0.113.7", start=3)
    sim.run(until=4)
    assert one.results()["syns_sent"] == 3


def test_port_scan_states() -> None:
    sim, c, s = pair()
    TcpServer(sim, s, "web", port=80)
    scan = PortScan(sim, c, "scan", dst=s.address, ports=[79, 80, 81])
    sim.run(until=5)
    assert (scan.results()["open"], scan.results()["closed"], scan.results()["filtered"]) == ([80], [79, 81], [])
    assert segments(sim, "client")[-1].flags == RST
    assert parse_ports("20-22,80") == [20, 21, 22, 80]
    assert parse_ports([443, 22, 22]) == [22, 443]
    for bad in ("x", "5-1", 0, True, [1.5], "70000"):
        with pytest.raises(ValueError):
            parse_ports(bad)  # type: ignore[arg-type]


def test_churn_runs_out_of_ports_and_a_pool_does_not() -> None:
    sim, c, s = pair(sysctls={"net.ipv4.ip_local_port_range": "40000 40004"})
    TcpServer(sim, s, "web")
    churn = Churn(sim, c, "churn", dst=s.address, rate=10, connections=8)
    sim.run(until=5)
    r = churn.results()
    assert (r["attempts"], r["connections_made"], r["connections_failed"]) == (8, 5, 3)
    assert r["error_counts"] == {"EADDRNOTAVAIL": 3}
    assert [e["t"] for e in r["errors"]] == pytest.approx([0.5, 0.6, 0.7])
    sim, c, s = pair(sysctls={"net.ipv4.ip_local_port_range": "40000 40004"})
    TcpServer(sim, s, "web")
    pooled = Churn(sim, c, "pooled", dst=s.address, rate=10, connections=8, pool=2)
    sim.run(until=5)
    assert (pooled.results()["connections_made"], pooled.results()["requests"]) == (2, 8)


@pytest.mark.parametrize("vanish", ["crash", "unplug"])
def test_vanishing_client_leaves_dead_connections_behind(vanish: str) -> None:
    sim, c, s = pair()
    TcpServer(sim, s, "web")
    v = VanishingClient(sim, c, "v", dst=s.address, after=1, down_for=2, times=2, vanish=vanish)
    sim.run(until=10)
    assert v.results()["vanished"] == 2 and v.results()["connections_made"] == 3
    assert v.results()["errors"] == []
    server_states = [r for r in sim.trace.records if r[1] == STATE and r[2] == "server" and r[5] == "ESTABLISHED"]
    assert len(server_states) == 3
    assert not any(seg.flags & (FIN | RST) for seg in segments(sim, "server"))


def test_an_app_stops_with_its_host_and_restarts_fresh() -> None:
    sim, c, s = pair()
    srv = TcpServer(sim, s, "web")
    cli = TcpClient(sim, c, "cli", dst=s.address, count=3, stagger=2)
    sim.call_at(1.0, sim.node_down, "server")
    sim.call_at(1.5, sim.node_up, "server")
    sim.run(until=3)
    assert not srv.running
    assert cli.results()["error_counts"] == {"ECONNREFUSED": 1}  # the client at 2 s: nothing listens
    srv.restart()
    sim.run(until=5)
    assert srv.running and srv.results()["starts"] == 2 and srv.results()["accepted"] == 2
    srv.kill()
    assert srv.results()["kills"] == 1 and not srv.running
    srv.kill()  # killing a dead app does nothing
    assert srv.results()["kills"] == 1


def test_sockopts_reach_the_socket() -> None:
    sim, c, s = pair()
    TcpServer(sim, s, "web")
    cli = TcpClient(sim, c, "cli", dst=s.address, finish="hold",
                    sockopts={"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 2, "TCP_KEEPINTVL": 1, "TCP_KEEPCNT": 2})
    sim.run(until=1)
    (sock,) = cli.sockets
    assert sock.conn is not None and sock.conn.keepalive and sock.conn.keep_idle == 2.0
    sim.call_at(1.0, sim.node_down, "server")
    sim.run(until=10)
    # The last segment heard at 0.04 s; probes at 2.04 and 3.04 s; given up at 2 + 2 x 1 s after it.
    assert [(e["errno"], round(e["t"], 3)) for e in cli.results()["errors"]] == [("ETIMEDOUT", 4.04)]


def test_bad_arguments() -> None:
    sim, c, s = pair()
    with pytest.raises(ValueError, match="unknown behaviour"):
        TcpServer(sim, s, "x", behaviour="chatty")
    with pytest.raises(ValueError, match="unknown finish"):
        TcpClient(sim, c, "x", dst=s.address, finish="slam")
    with pytest.raises(ValueError):
        SynFlood(sim, c, "x", dst=s.address, rate=0, count=1)
    sim.add_host("multi")
    sim.add_link("multi", "client", LinkParams())
    sim.add_link("multi", "server", LinkParams())
    with pytest.raises(ValueError, match="say which one to unplug"):
        VanishingClient(sim, sim.host("multi"), "v", dst=s.address, vanish="unplug")
