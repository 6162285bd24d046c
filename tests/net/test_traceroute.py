"""Traceroute (-I): the ingress address of each router in order, then the destination."""

from __future__ import annotations

import pytest
from net_helpers import chain

from tcpsim.net import LinkParams, Simulation, Traceroute

BW = 1e6
DELAY = 0.002
PROBE, TIME_EXCEEDED, REPLY = 60, 56, 60   # IP bytes


def hop_rtt(hops: int, back: int) -> float:
    return hops * (2 * DELAY + (PROBE + back) * 8 / BW)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_traceroute_lists_router_ingress_addresses_then_destination(n: int) -> None:
    sim, h1, h2, routers, links = chain(n, LinkParams(bandwidth=BW, delay=DELAY))
    tr = Traceroute(sim, h1, h2.address)
    sim.run()
    # Router r_k's ingress interface is its end of link k; auto-numbering gives 203.0.113.(2k-1).
    ingress = [f"203.0.113.{2 * k - 1}" for k in range(1, n + 1)]
    assert ingress == [links[k].addr_b for k in range(n)]
    res = tr.results()
    assert res["reached"] is True
    assert [h["addresses"] for h in res["hops"]] == [[a] * 3 for a in ingress] + [[h2.address] * 3]
    assert [h["ttl"] for h in res["hops"]] == list(range(1, n + 2))
    expected_lines = [f"traceroute to {h2.address} ({h2.address}), 30 hops max, 60 byte packets"]
    for k, addr in enumerate(ingress, start=1):
        ms = f"{hop_rtt(k, TIME_EXCEEDED) * 1000:.3f}"
        expected_lines.append(f"{k:2d}  {addr}  {ms} ms  {ms} ms  {ms} ms")
        for rtt in res["hops"][k - 1]["rtts"]:
            assert rtt == pytest.approx(hop_rtt(k, TIME_EXCEEDED), abs=1e-9)
    ms = f"{hop_rtt(n + 1, REPLY) * 1000:.3f}"
    expected_lines.append(f"{n + 1:2d}  {h2.address}  {ms} ms  {ms} ms  {ms} ms")
    assert tr.lines == expected_lines


def test_traceroute_exact_text_one_router() -> None:
    sim, h1, h2, _, _ = chain(1, LinkParams(bandwidth=BW, delay=DELAY))
    tr = Traceroute(sim, h1, h2.address, max_hops=5)
    sim.run()
    assert tr.output == (
        "traceroute to 192.0.2.2 (192.0.2.2), 5 hops max, 60 byte packets\n"
        " 1  203.0.113.1  4.928 ms  4.928 ms  4.928 ms\n"
        " 2  192.0.2.2  9.920 ms  9.920 ms  9.920 ms\n"
    )


def test_down_router_shows_stars_with_static_routes() -> None:
    sim, h1, h2, _, _ = chain(3, LinkParams(delay=DELAY), dynamic_routing=False)
    sim.compute_routes()   # the tables of the healthy network...
    sim.node_down("r2")    # ...are kept after the crash: r1 still forwards to r2
    tr = Traceroute(sim, h1, h2.address, max_hops=4, wait=1.0)
    sim.run()
    assert tr.lines[1:] == [
        " 1  203.0.113.1  4.000 ms  4.000 ms  4.000 ms",
        " 2  * * *",
        " 3  * * *",
        " 4  * * *",
    ]
    res = tr.results()
    assert res["reached"] is False
    assert res["hops"][1] == {"ttl": 2, "addresses": [None] * 3, "rtts": [None] * 3}
    # Each probe waited ``wait`` seconds: 9 unanswered probes.
    assert sim.now == pytest.approx(3 * 0.004 + 9 * 1.0)
    assert sim.trace.counters[("r2", "drop:router-down")] == 9


def test_silent_router_shows_stars_and_the_trace_goes_on() -> None:
    sim, h1, h2, routers, _ = chain(3, LinkParams(delay=DELAY))
    routers[1].icmp_enabled = False
    tr = Traceroute(sim, h1, h2.address, wait=1.0)
    sim.run()
    assert [line.split()[1] for line in tr.lines[1:]] == ["203.0.113.1", "*", "203.0.113.5", "192.0.2.2"]
    assert tr.lines[2] == " 2  * * *"


def test_unreachable_destination_with_dynamic_routes_is_annotated() -> None:
    sim, h1, h2, _, _ = chain(3, LinkParams(delay=DELAY))
    sim.node_down("r2")   # routes recomputed: r1 knows h2 exists but has no way there
    tr = Traceroute(sim, h1, h2.address)
    sim.run()
    assert tr.lines[1:] == [" 1  203.0.113.1  4.000 ms !H  4.000 ms !H  4.000 ms !H"]
    tr2 = Traceroute(sim, h1, "10.99.0.1", start=sim.now)
    sim.run()
    assert tr2.lines[1:] == [" 1  203.0.113.1  4.000 ms !N  4.000 ms !N  4.000 ms !N"]


def test_mixed_answers_print_the_address_once() -> None:
    sim = Simulation()
    h1, h2 = sim.add_host("h1"), sim.add_host("h2")
    sim.add_router("r1")
    sim.add_link("h1", "r1", LinkParams(delay=0.001))
    sim.add_link("r1", "h2", LinkParams(delay=0.001))
    # Probes go one after the other: 0, 0.002, then the third after a 1 s wait.
    # Cutting h1-r1 while the second one is on it loses just that one.
    sim.call_at(0.0025, sim.link_down, "h1-r1")
    sim.call_at(0.0035, sim.link_up, "h1-r1")
    tr = Traceroute(sim, h1, h2.address, wait=1.0)
    sim.run()
    assert tr.lines[1] == " 1  203.0.113.1  2.000 ms *  2.000 ms"
