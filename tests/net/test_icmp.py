"""Routers and ICMP: TTL, Time Exceeded, Destination Unreachable, never an error about an error."""

from __future__ import annotations

from net_helpers import Sink, chain, send_at

from tcpsim.net import LinkParams, Ping, Simulation
from tcpsim.wire import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_TIME_EXCEEDED,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    RST,
    ICMPMessage,
    IPPacket,
)

P = LinkParams(delay=0.001)


def icmp_sent_by(sim: Simulation, node: str) -> list[IPPacket]:
    return [r[4] for r in sim.trace.packets("send", node=node) if r[4].proto == IPPROTO_ICMP]


def test_ttl_exceeded_comes_from_the_ingress_interface_of_the_right_router() -> None:
    sim, h1, h2, routers, links = chain(3, P)
    ping = Ping(sim, h1, h2.address, count=1, ttl=2)
    sim.run()
    r2_ingress = links[1].addr_b           # r2's end of r1-r2
    assert r2_ingress == "203.0.113.3"
    assert ping.lines[1] == "From 203.0.113.3 icmp_seq=1 Time to live exceeded"
    assert ping.results()["errors"] == 1 and ping.results()["received"] == 0
    (err,) = icmp_sent_by(sim, "r2")
    icmp = err.payload
    assert isinstance(icmp, ICMPMessage)
    assert (err.src, err.dst, icmp.type, icmp.code) == ("203.0.113.3", h1.address, ICMP_TIME_EXCEEDED, 0)
    assert icmp.quoted is not None and icmp.quoted.ttl == 1   # the packet as it arrived
    assert err.size == 20 + 8 + 20 + 8
    assert sim.trace.counters[("r2", "drop:ttl")] == 1


def test_ttl_exceeded_uses_the_interface_the_packet_came_in_on() -> None:
    # The same router seen from both sides answers from different addresses.
    sim, h1, h2, routers, links = chain(1, P)
    Ping(sim, h1, h2.address, count=1, ttl=1)
    Ping(sim, h2, h1.address, count=1, ttl=1)
    sim.run()
    sources = sorted(p.src for p in icmp_sent_by(sim, "r1"))
    assert sources == sorted([links[0].addr_b, links[1].addr_a]) == ["203.0.113.1", "203.0.113.2"]


def test_forwarding_decrements_ttl_and_makes_new_packets() -> None:
    sim, h1, h2, _, _ = chain(2, P)
    sink = Sink(h2)
    send_at(sim, h1, h2.address, 0.0, 1)
    sim.run()
    sent = next(sim.trace.packets("send", node="h1"))[4]
    fwd = [r[4] for r in sim.trace.packets("fwd")]
    assert [p.ttl for p in fwd] == [63, 62]
    assert sent.ttl == 64 and fwd[0] is not sent and fwd[1] is not fwd[0]
    assert sink.got[0][1].ttl == 62 and sink.got[0][1].ident == sent.ident
    assert [r[5] for r in sim.trace.packets("fwd")] == ["r1->r2", "r2->h2"]


def test_net_unreachable_for_unknown_destination() -> None:
    sim, h1, _, _, _ = chain(2, P)
    ping = Ping(sim, h1, "10.20.30.40", count=1)
    sim.run()
    assert ping.lines[1] == "From 203.0.113.1 icmp_seq=1 Destination Net Unreachable"
    (err,) = icmp_sent_by(sim, "r1")
    assert (err.payload.type, err.payload.code) == (ICMP_DEST_UNREACH, 0)  # type: ignore[union-attr]
    assert sim.trace.counters[("r1", "drop:noroute")] == 1


def test_host_unreachable_for_a_known_but_down_host() -> None:
    sim, h1, h2, _, _ = chain(2, P)
    sim.node_down("h2")   # routes recomputed without h2: the first router already knows
    ping = Ping(sim, h1, h2.address, count=1)
    sim.run()
    assert ping.lines[1] == "From 203.0.113.1 icmp_seq=1 Destination Host Unreachable"


def test_no_icmp_error_about_an_icmp_error() -> None:
    sim, h1, h2, _, _ = chain(2, P)
    bogus = IPPacket(h2.address, h1.address, 5, IPPROTO_TCP, ICMPMessage(ICMP_ECHO_REPLY), 28)
    # An ICMP error that dies of TTL at r1, and one that has nowhere to go.
    te = ICMPMessage(ICMP_TIME_EXCEEDED, 0, quoted=bogus)
    sim.call_at(0.0, h1.ip_send, h2.address, IPPROTO_ICMP, te, 1)
    du = ICMPMessage(ICMP_DEST_UNREACH, 1, quoted=bogus)
    sim.call_at(0.0, h1.ip_send, "10.9.9.9", IPPROTO_ICMP, du)
    # Control: the same mishaps for an echo request do get answers.
    sim.call_at(0.5, h1.ip_send, h2.address, IPPROTO_ICMP, ICMPMessage(8, ident=9, seqno=1), 1)
    sim.call_at(0.5, h1.ip_send, "10.9.9.9", IPPROTO_ICMP, ICMPMessage(8, ident=9, seqno=2))
    sim.run()
    assert sim.trace.counters[("r1", "drop:ttl")] == 2
    assert sim.trace.counters[("r1", "drop:noroute")] == 2
    answers = icmp_sent_by(sim, "r1")
    assert [(p.payload.type, p.payload.quoted.payload.seqno) for p in answers] == [  # type: ignore[union-attr]
        (ICMP_TIME_EXCEEDED, 1), (ICMP_DEST_UNREACH, 2)]


def test_icmp_errors_reach_the_error_handler_of_the_quoted_protocol() -> None:
    sim, h1, _, _, _ = chain(2, P)
    seen: list[tuple[str, int, int]] = []
    h1.icmp_error_handlers[IPPROTO_TCP] = lambda pkt, icmp: seen.append((pkt.src, icmp.type, icmp.code))
    send_at(sim, h1, "10.1.1.1", 0.0, 1)
    sim.call_at(0.0, lambda: h1.ip_send("192.0.2.2", IPPROTO_TCP, __import__("net_helpers").segment(2), ttl=1))
    sim.run()
    assert seen == [("203.0.113.1", ICMP_DEST_UNREACH, 0), ("203.0.113.1", ICMP_TIME_EXCEEDED, 0)]


def test_router_answers_pings_to_any_of_its_addresses() -> None:
    sim, h1, _, routers, links = chain(3, P)
    far = links[3].addr_a      # r3's interface towards h2
    near = links[0].addr_b     # r1's interface towards h1
    p_far = Ping(sim, h1, far, count=1)
    p_near = Ping(sim, h1, near, count=1)
    sim.run()
    assert p_far.lines[1] == f"64 bytes from {far}: icmp_seq=1 ttl=62 time=6.00 ms"
    assert p_near.lines[1] == f"64 bytes from {near}: icmp_seq=1 ttl=64 time=2.00 ms"


def test_router_answers_tcp_for_itself_with_a_rst() -> None:
    """A router listens on no port: an ACK to its address gets <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1)."""
    sim, h1, _, _, links = chain(1, P)
    sink = Sink(h1)
    send_at(sim, h1, links[0].addr_b, 0.0, 1)
    sim.run()
    assert sim.trace.counters.get(("r1", "drop:noproto"), 0) == 0
    [(_, pkt)] = sink.got
    rst = pkt.payload
    assert (pkt.src, pkt.ttl) == (links[0].addr_b, 64)
    assert (rst.sport, rst.dport, rst.seq, rst.ack, rst.flags, rst.window) == (80, 40000, 1, 0, RST, 0)


def test_host_drops_not_for_me_and_noproto() -> None:
    sim, h1, h2, _, _ = chain(1, P)
    stray = IPPacket(h1.address, "192.0.2.99", 64, IPPROTO_TCP, __import__("net_helpers").segment(1), 1000)
    sim.call_at(0.0, h2.receive, stray, None)
    send_at(sim, h1, h2.address, 0.0, 2)     # no TCP handler on h2
    sim.run()
    assert h2.dropped == {"not-for-me": 1, "noproto": 1}
    assert sim.trace.counters[("h2", "drop:noproto")] == 1
