"""Packet filters on routers and hosts: first match wins, drops and rejects as iptables sends them."""

from __future__ import annotations

from net_helpers import Sink, chain

from tcpsim.net import LinkParams
from tcpsim.net.firewall import Firewall, FwRule, networks
from tcpsim.wire import (
    ACK,
    FIN,
    ICMP_DEST_UNREACH,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    RST,
    SYN,
    ICMPMessage,
    Segment,
)

P = LinkParams(delay=0.001)


def tcp_rule(name: str, action: str, with_: str | None = None, dport: int | None = None, **kw: object) -> FwRule:
    return FwRule(name, action, with_, IPPROTO_TCP, dport=None if dport is None else (dport, dport), **kw)  # type: ignore[arg-type]


def test_first_matching_rule_decides_and_every_hit_is_counted() -> None:
    sim, h1, h2, (r1,), links = chain(1, P)
    r1.firewall = Firewall([tcp_rule("1", "accept", dport=80), tcp_rule("2", "drop"),
                            tcp_rule("3", "reject", "tcp-reset")])
    sink = Sink(h2)
    for t, dport in ((0.0, 80), (0.1, 81), (0.2, 80)):
        sim.call_at(t, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, dport, 1, 0, SYN, 1000))
    sim.run()
    assert [p.payload.dport for _, p in sink.got] == [80, 80]
    assert r1.firewall.hits == {"1": 2, "2": 1}
    drops = [r for r in sim.trace.packets("drop", node="r1")]
    assert [(r[0], r[6]) for r in drops] == [(0.101, "rule 2: drop")]
    assert sim.trace.counters[("r1", "rule:2")] == 1
    # The forwarded packet is checked after the TTL decrement (Linux runs FORWARD after ip_forward()).
    assert drops[0][4].ttl == 63


def test_reject_with_port_unreachable_quotes_the_packet_from_the_ingress_interface() -> None:
    sim, h1, h2, (r1,), links = chain(1, P)
    r1.firewall = Firewall([tcp_rule("web", "reject", "port-unreachable", dport=81)])
    sink = Sink(h1)
    h1.handlers[IPPROTO_ICMP] = sink
    sim.call_at(0.0, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, 81, 7, 0, SYN, 1000))
    sim.run()
    [(t, pkt)] = sink.got
    icmp = pkt.payload
    assert isinstance(icmp, ICMPMessage)
    assert (t, pkt.src, pkt.dst, icmp.type, icmp.code) == (0.002, links[0].addr_b, h1.address, ICMP_DEST_UNREACH, 3)
    assert icmp.quoted is not None and icmp.quoted.payload.seq == 7


def test_each_reject_kind_sends_the_code_iptables_sends() -> None:
    codes = {}
    for kind in ("net-unreachable", "host-unreachable", "proto-unreachable", "port-unreachable",
                 "net-prohibited", "host-prohibited", "admin-prohibited"):
        sim, h1, h2, (r1,), _ = chain(1, P)
        r1.firewall = Firewall([FwRule("1", "reject", kind)])
        sink = Sink(h1)
        h1.handlers[IPPROTO_ICMP] = sink
        sim.call_at(0.0, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, 80, 7, 0, SYN, 1000))
        sim.run()
        codes[kind] = sink.got[0][1].payload.code
    assert codes == {"net-unreachable": 0, "host-unreachable": 1, "proto-unreachable": 2, "port-unreachable": 3,
                     "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13}


def test_tcp_reset_is_forged_from_the_destination_with_rfc9293_numbers() -> None:
    sim, h1, h2, (r1,), _ = chain(1, P)
    r1.firewall = Firewall([tcp_rule("1", "reject", "tcp-reset")])
    sink = Sink(h1)
    # A SYN: <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>; an ACK with data: <SEQ=SEG.ACK><CTL=RST>; a RST: nothing.
    sim.call_at(0.0, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, 80, 1000, 0, SYN, 1000))
    sim.call_at(0.1, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, 80, 1001, 5000, ACK | FIN, 1000, b"abc"))
    sim.call_at(0.2, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, 80, 1001, 0, RST, 0))
    sim.run()
    got = [(p.src, p.payload.sport, p.payload.dport, p.payload.seq, p.payload.ack, p.payload.flags, p.payload.window)
           for _, p in sink.got]
    assert got == [(h2.address, 80, 40000, 0, 1001, RST | ACK, 0), (h2.address, 80, 40000, 5000, 0, RST, 0)]
    assert r1.firewall.hits == {"1": 3}


def test_host_rules_filter_what_arrives_and_sources_match_by_network() -> None:
    sim, h1, h2, _, _ = chain(1, P)
    h2.firewall = Firewall([FwRule("1", "drop", src=networks(["192.0.2.0/24"]))])
    sink = Sink(h2)
    sim.call_at(0.0, h1.ip_send, h2.address, IPPROTO_TCP, Segment(40000, 80, 1, 0, SYN, 1000))
    sim.run()
    assert h1.address.startswith("192.0.2.")
    assert sink.got == []
    assert h2.dropped == {"rule 1: drop": 1}


def test_no_icmp_error_about_an_icmp_error() -> None:
    sim, h1, h2, (r1,), _ = chain(1, P)
    r1.firewall = Firewall([FwRule("1", "reject", "host-unreachable")])
    sink = Sink(h1)
    h1.handlers[IPPROTO_ICMP] = sink
    quoted = ICMPMessage(ICMP_DEST_UNREACH, 1)
    sim.call_at(0.0, h1.ip_send, h2.address, IPPROTO_ICMP, quoted)
    sim.run()
    assert sink.got == []
    assert r1.firewall.hits == {"1": 1}
