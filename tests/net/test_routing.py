"""Routing tables: shortest paths by delay or hops, deterministic ties, failover and repair."""

from __future__ import annotations

import pytest
from net_helpers import Sink, send_at

from tcpsim.net import LinkParams, Ping, Simulation


def diamond(routing: str = "delay") -> Simulation:
    """h1 - r1 = {r2 (fast, 2 hops) | r3 - r5 (slow... or 3 hops)} = r4 - h2."""
    sim = Simulation(routing=routing)
    sim.add_host("h1")
    sim.add_host("h2")
    for r in ("r1", "r2", "r3", "r4", "r5"):
        sim.add_router(r)
    sim.add_link("h1", "r1", LinkParams(delay=0.001))
    sim.add_link("r1", "r2", LinkParams(delay=0.010))
    sim.add_link("r2", "r4", LinkParams(delay=0.010))
    sim.add_link("r1", "r3", LinkParams(delay=0.002))
    sim.add_link("r3", "r5", LinkParams(delay=0.002))
    sim.add_link("r5", "r4", LinkParams(delay=0.002))
    sim.add_link("r4", "h2", LinkParams(delay=0.001))
    return sim


def path_of(sim: Simulation, src: str, dst_addr: str) -> list[str]:
    node, path = sim.nodes[src], [src]
    while not node.owns(dst_addr):
        node = node.routes[dst_addr].dst
        path.append(node.name)
    return path


def test_shortest_path_by_delay_and_by_hops() -> None:
    by_delay = diamond("delay")
    by_delay.compute_routes()
    assert path_of(by_delay, "h1", "192.0.2.2") == ["h1", "r1", "r3", "r5", "r4", "h2"]
    by_hops = diamond("hops")
    by_hops.compute_routes()
    assert path_of(by_hops, "h1", "192.0.2.2") == ["h1", "r1", "r2", "r4", "h2"]
    # Same path both ways.
    assert path_of(by_delay, "h2", "192.0.2.1") == ["h2", "r4", "r5", "r3", "r1", "h1"]


def test_delay_metric_averages_the_two_directions() -> None:
    sim = Simulation()
    sim.add_host("a")
    sim.add_host("b")
    sim.add_router("x")
    sim.add_router("y")
    sim.add_link("a", "x", LinkParams())
    sim.add_link("a", "y", LinkParams())
    sim.add_link("x", "b", LinkParams(delay=0.001), LinkParams(delay=0.009))   # average 5 ms
    sim.add_link("y", "b", LinkParams(delay=0.004))                             # average 4 ms
    sim.compute_routes()
    assert path_of(sim, "a", "192.0.2.2") == ["a", "y", "b"]
    assert path_of(sim, "b", "192.0.2.1") == ["b", "y", "a"]


def test_ties_break_by_name_then_are_stable() -> None:
    sim = Simulation()
    sim.add_host("a")
    sim.add_host("b")
    for r in ("rz", "rb", "rm"):
        sim.add_router(r)
        sim.add_link("a", r, LinkParams(delay=0.001))
        sim.add_link(r, "b", LinkParams(delay=0.001))
    sim.compute_routes()
    assert path_of(sim, "a", "192.0.2.2") == ["a", "rb", "b"]
    sim.link_down("a-rb")
    assert path_of(sim, "a", "192.0.2.2") == ["a", "rm", "b"]


def test_equal_delay_prefers_fewer_hops() -> None:
    sim = Simulation()
    sim.add_host("a")
    sim.add_host("b")
    for r in ("r1", "r2", "r3"):
        sim.add_router(r)
    sim.add_link("a", "r1", LinkParams())
    sim.add_link("r1", "r2", LinkParams())
    sim.add_link("r2", "b", LinkParams())
    sim.add_link("r1", "r3", LinkParams())
    sim.add_link("r3", "r2", LinkParams())
    sim.compute_routes()
    assert path_of(sim, "a", "192.0.2.2") == ["a", "r1", "r2", "b"]


def test_hosts_never_forward() -> None:
    sim = Simulation()
    for h in ("a", "b", "m"):
        sim.add_host(h)
    sim.add_router("r")
    sim.add_link("a", "m", LinkParams())             # a - m - b would be the shortest...
    sim.add_link("m", "b", LinkParams())
    sim.add_link("a", "r", LinkParams(delay=0.05))   # ...but m is a host: go through r
    sim.add_link("r", "b", LinkParams(delay=0.05))
    sim.compute_routes()
    b_addr = sim.nodes["b"].addresses[0]
    assert path_of(sim, "a", b_addr) == ["a", "r", "b"]
    # m itself talks to both directly (a multi-homed host uses its table).
    assert path_of(sim, "m", b_addr) == ["m", "b"]
    assert path_of(sim, "m", "192.0.2.1") == ["m", "a"]


def test_tables_hold_every_host_and_router_interface_address() -> None:
    sim = diamond()
    sim.compute_routes()
    h1 = sim.nodes["h1"]
    every = {a for n in sim.nodes.values() for a in n.addresses} - {"192.0.2.1"}
    assert set(h1.routes) == every
    r1 = sim.nodes["r1"]
    assert set(r1.routes) == {a for n in sim.nodes.values() if n is not r1 for a in n.addresses}


def test_diamond_failover_and_back() -> None:
    sim = diamond("hops")    # primary path through r2
    h1, h2 = sim.host("h1"), sim.host("h2")
    sink = Sink(h2)
    for i in range(100):                     # one packet every 10 ms
        send_at(sim, h1, h2.address, i * 0.01, i)
    sim.call_at(0.305, sim.link_down, "r1-r2")
    sim.call_at(0.605, sim.link_up, "r1-r2")
    sim.run()
    via_r2 = sorted(r[4].payload.seq for r in sim.trace.packets("fwd", node="r2"))
    via_r3 = sorted(r[4].payload.seq for r in sim.trace.packets("fwd", node="r3"))
    # Only the packet sent at 0.30 was on r1->r2 (0.301 .. 0.311) at the cut: lost there.
    lost = sorted(r[4].payload.seq for r in sim.trace.packets("drop"))
    assert lost == [30]
    assert via_r2 == list(range(0, 30)) + list(range(61, 100))
    assert via_r3 == list(range(31, 61))
    assert sorted(sink.seqs) == [s for s in range(100) if s != 30]


def test_static_routing_keeps_the_old_tables() -> None:
    sim = Simulation(dynamic_routing=False)
    sim.add_host("a")
    sim.add_host("b")
    sim.add_router("r")
    sim.add_link("a", "r", LinkParams())
    sim.add_link("r", "b", LinkParams())
    sim.compute_routes()
    before = dict(sim.nodes["r"].routes)
    sim.link_down("r-b")
    assert sim.nodes["r"].routes == before
    sim.compute_routes()          # asked for explicitly: now it knows
    assert "192.0.2.2" not in sim.nodes["r"].routes


def test_routes_are_computed_lazily_for_traffic_sent_before_run() -> None:
    sim = Simulation()
    a = sim.add_host("a")
    b = sim.add_host("b")
    sim.add_router("r1")
    sim.add_router("r2")
    sim.add_link("a", "r1", LinkParams())
    sim.add_link("a", "r2", LinkParams())
    sim.add_link("r1", "b", LinkParams())
    sim.add_link("r2", "b", LinkParams())
    sink = Sink(b)
    a.ip_send(b.address, 6, __import__("net_helpers").segment(1))   # multi-homed: needs the table
    sim.run()
    assert sink.seqs == [1]


def test_router_down_and_up_reroutes_ping() -> None:
    sim = diamond("hops")
    h1, h2 = sim.host("h1"), sim.host("h2")
    sim.call_at(1.5, sim.node_down, "r2")
    sim.call_at(3.5, sim.node_up, "r2")
    ping = Ping(sim, h1, h2.address, count=5)
    sim.run()
    assert [round(r["rtt"], 6) for r in ping.results()["replies"]] == [0.044, 0.044, 0.016, 0.016, 0.044]
    assert [(r[2], r[3]) for r in sim.trace.of_kind("node")] == [("r2", "crash"), ("r2", "reboot")]


@pytest.mark.parametrize("metric", ["delay", "hops"])
def test_unreachable_after_partition(metric: str) -> None:
    sim = diamond(metric)
    sim.link_down("r4-h2")
    sim.compute_routes()
    assert "192.0.2.2" not in sim.nodes["r1"].routes
    assert sim.nodes["h1"].route("192.0.2.2") is sim.links["h1-r1"].ab   # default route still


def test_multi_homed_host_without_a_route_drops_noroute() -> None:
    sim = Simulation()
    a = sim.add_host("a")
    sim.add_router("r1")
    sim.add_router("r2")
    sim.add_link("a", "r1", LinkParams())
    sim.add_link("a", "r2", LinkParams())
    send_at(sim, a, "10.0.0.99", 0.0, 1)
    sim.run()
    assert a.dropped == {"noroute": 1}
    assert not list(sim.trace.packets("send"))
