"""Ping across router chains: TTLs, RTTs computed from first principles, iputils' output."""

from __future__ import annotations

import pytest
from net_helpers import chain

from tcpsim.net import LinkParams, Ping
from tcpsim.net.apps import format_ping_time

PING_IP_BYTES = 84  # 20 IP + 8 ICMP + 56 data, both ways


def link_set(n_links: int) -> tuple[list[LinkParams], list[LinkParams]]:
    """Different bandwidths and asymmetric delays per link, so every term of the sum shows."""
    fwd, back = [], []
    for i in range(n_links):
        bw = [1e6, 10e6, 2e6, 256e3][i % 4]
        fwd.append(LinkParams(bandwidth=bw, delay=0.001 * (i + 1)))
        back.append(LinkParams(bandwidth=bw / 2, delay=0.0005 * (i + 3)))
    return fwd, back


def expected_rtt(fwd: list[LinkParams], back: list[LinkParams]) -> float:
    total = 0.0
    for p in fwd + back:
        assert p.bandwidth is not None
        total += p.delay + PING_IP_BYTES * 8 / p.bandwidth
    return total


@pytest.mark.parametrize("n", [1, 3, 8])
def test_ping_ttl_and_rtt_across_routers(n: int) -> None:
    fwd, back = link_set(n + 1)
    sim, h1, h2, _, _ = chain(n, fwd, back=back)
    ping = Ping(sim, h1, h2.address, count=4, interval=1.0)
    sim.run()
    rtt = expected_rtt(fwd, back)
    res = ping.results()
    assert res["transmitted"] == 4 and res["received"] == 4 and res["loss_pct"] == 0.0
    assert [r["seq"] for r in res["replies"]] == [1, 2, 3, 4]
    for r in res["replies"]:
        assert r["ttl"] == 64 - n
        assert r["rtt"] == pytest.approx(rtt, abs=1e-9)
    assert res["rtt_min"] == pytest.approx(rtt, abs=1e-9)
    assert res["rtt_mdev"] == pytest.approx(0.0, abs=1e-9)
    # The line ping prints, with the RTT it should print.
    assert ping.lines[1] == f"64 bytes from {h2.address}: icmp_seq=1 ttl={64 - n} time={format_ping_time(rtt)} ms"


def test_ping_output_is_iputils_shaped() -> None:
    p = LinkParams(bandwidth=1e6, delay=0.01)
    sim, h1, h2, _, _ = chain(2, p)
    ping = Ping(sim, h1, h2.address, count=3, interval=1.0)
    sim.run()
    # 3 links, each way 10 ms + 84*8/1e6 s = 10.672 ms; RTT 64.032 ms.
    assert ping.lines == [
        "PING 192.0.2.2 (192.0.2.2) 56(84) bytes of data.",
        "64 bytes from 192.0.2.2: icmp_seq=1 ttl=62 time=64.0 ms",
        "64 bytes from 192.0.2.2: icmp_seq=2 ttl=62 time=64.0 ms",
        "64 bytes from 192.0.2.2: icmp_seq=3 ttl=62 time=64.0 ms",
        "--- 192.0.2.2 ping statistics ---",
        "3 packets transmitted, 3 received, 0% packet loss, time 2064ms",
        "rtt min/avg/max/mdev = 64.032/64.032/64.032/0.000 ms",
    ]
    lines = [r[5]["text"] for r in sim.trace.of_kind("app") if r[4] == "line"]
    assert lines == ping.lines
    results = [r[5] for r in sim.trace.of_kind("app") if r[4] == "result"]
    assert results == [ping.results()]


def test_ping_size_and_host_ttl_sysctl() -> None:
    sim, h1, h2, _, _ = chain(1, LinkParams(bandwidth=1e6, delay=0.0))
    h2.ttl = 128   # as if net.ipv4.ip_default_ttl=128 (a Windows-like responder)
    ping = Ping(sim, h1, h2.address, count=1, size=1000)
    sim.run()
    # 1028 bytes each way on two 1 Mbit/s links: 4 * 1028 * 8 us = 32.896 ms
    assert ping.lines[0] == "PING 192.0.2.2 (192.0.2.2) 1000(1028) bytes of data."
    assert ping.lines[1] == "1008 bytes from 192.0.2.2: icmp_seq=1 ttl=127 time=32.9 ms"


def test_sysctl_default_ttl() -> None:
    from tcpsim.net import Simulation
    sim = Simulation()
    h = sim.add_host("h", sysctls={"net.ipv4.ip_default_ttl": 128})
    assert h.ttl == 128 and h.sysctls == {"net.ipv4.ip_default_ttl": 128}
    with pytest.raises(ValueError, match="ip_default_ttl"):
        sim.add_host("bad", sysctls={"net.ipv4.ip_default_ttl": 0})


def test_ping_with_loss_counts_and_timeout() -> None:
    sim, h1, h2, _, links = chain(1, LinkParams(delay=0.005), dynamic_routing=False)
    sim.call_at(1.5, sim.link_down, links[1].name)   # requests 3 and 4 vanish at r1
    ping = Ping(sim, h1, h2.address, count=4, interval=1.0, timeout=2.0)
    sim.run()
    res = ping.results()
    assert (res["transmitted"], res["received"], res["loss_pct"]) == (4, 2, 50.0)
    # After the last request (t=3) ping lingers ``timeout`` seconds for the missing replies.
    assert ping.lines[-2] == "4 packets transmitted, 2 received, 50% packet loss, time 5000ms"
    assert sim.trace.counters[("r1", "drop:link-down")] == 2


def test_ping_errors_when_the_route_dies() -> None:
    sim, h1, h2, _, links = chain(1, LinkParams(delay=0.005))
    sim.call_at(1.5, sim.link_down, links[1].name)   # dynamic routing: r1 knows h2 is cut off
    ping = Ping(sim, h1, h2.address, count=4, interval=1.0, timeout=2.0)
    sim.run()
    assert ping.lines[3:5] == [
        "From 203.0.113.1 icmp_seq=3 Destination Host Unreachable",
        "From 203.0.113.1 icmp_seq=4 Destination Host Unreachable",
    ]
    # Every request answered one way or another: ping stops at the last error.
    assert ping.lines[-2] == "4 packets transmitted, 2 received, +2 errors, 50% packet loss, time 3010ms"


def test_ping_duplicates_are_flagged() -> None:
    sim, h1, h2, _, links = chain(0, LinkParams(delay=0.001, duplicate=1.0))
    ping = Ping(sim, h1, h2.address, count=1)
    sim.run()
    # The request is duplicated (two replies, each duplicated again): 4 replies, 1 counted.
    assert sum(1 for line in ping.lines if line.endswith("(DUP!)")) == 3
    assert "1 packets transmitted, 1 received, +3 duplicates, 0% packet loss" in ping.lines[-2]


def test_ping_loopback_to_self() -> None:
    sim, h1, _, _, _ = chain(1, LinkParams(delay=0.01))
    ping = Ping(sim, h1, h1.address, count=2)
    sim.run()
    assert ping.results()["received"] == 2
    assert ping.results()["rtt_max"] == 0.0
    assert ping.lines[1] == "64 bytes from 192.0.2.1: icmp_seq=1 ttl=64 time=0.000 ms"


def test_echo_ignore_all_sysctl() -> None:
    from tcpsim.net import Simulation
    sim = Simulation()
    a = sim.add_host("a")
    b = sim.add_host("b", sysctls={"net.ipv4.icmp_echo_ignore_all": 1})
    sim.add_link("a", "b", LinkParams(delay=0.001))
    ping = Ping(sim, a, b.address, count=2, interval=0.5, timeout=1.0)
    sim.run()
    assert ping.results()["received"] == 0
    assert ping.results()["rtt_avg"] is None
    assert ping.lines[-1] == "2 packets transmitted, 0 received, 100% packet loss, time 1500ms"


@pytest.mark.parametrize("rtt, text", [
    (0.000512, "0.512"), (0.0012345, "1.23"), (0.0099939, "9.99"), (0.0099951, "10.0"), (0.020449, "20.4"),
    (0.0204501, "20.5"), (0.09994, "99.9"), (0.123456, "123"), (1.5, "1500"),
])
def test_format_ping_time(rtt: float, text: str) -> None:
    assert format_ping_time(rtt) == text


def test_ping_argument_errors() -> None:
    sim, h1, h2, _, _ = chain(1, LinkParams())
    with pytest.raises(ValueError, match="count"):
        Ping(sim, h1, h2.address, count=0)
    with pytest.raises(ValueError, match="ttl"):
        Ping(sim, h1, h2.address, ttl=0)
    with pytest.raises(ValueError, match="not a host"):
        Ping(sim, "r1", h2.address)
    with pytest.raises(ValueError, match="unknown node"):
        Ping(sim, "nope", h2.address)
