"""Fault rules: what they pick (moments, ordinals, windows), what they do, and how it is recorded."""

from __future__ import annotations

import pytest

from tcpsim.scenario import ScenarioError, load_text, run_scenario
from tcpsim.scenario.build import Built
from tcpsim.scenario.packets import FlowTracker, parse_conn, parse_flags
from tcpsim.trace.records import DROP, PKT, SEND
from tcpsim.wire.ip import IPPROTO_TCP, IPPacket
from tcpsim.wire.segment import ACK, FIN, RST, SYN, Segment

TOPO = """\
name: f
until: 70s
hosts:
  client: {address: 192.0.2.1}
  server: {address: 192.0.2.2}
links:
  - {a: client, b: server, delay: 10ms}
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: user, host: client, dst: server}
"""


def run(faults: str, extra: str = "") -> Built:
    return run_scenario(load_text(TOPO + extra + "faults:\n" + faults, "f.yaml")).built


def sent(b: Built, node: str) -> list[tuple[float, Segment]]:
    return [(r[0], r[4].payload) for r in b.sim.trace.records if r[1] == PKT and r[3] == SEND and r[2] == node]


def test_drop_is_recorded_as_sent_then_dropped_with_the_rule_name() -> None:
    b = run("  - {name: lose-syn, moment: handshake-syn, count: 1}\n")
    drops = [r for r in b.sim.trace.records if r[1] == PKT and r[3] == DROP]
    assert [(r[0], r[2], r[6]) for r in drops] == [(0.0, "client", "fault:lose-syn")]
    syns = [t for t, s in sent(b, "client") if s.flags == SYN]
    assert syns == [0.0, 1.0]  # the retransmission one RTO later gets through
    assert b.sim.trace.counters[("client", "drop:fault:lose-syn")] == 1
    assert b.sim.trace.counters[("client", "fault:lose-syn")] == 1
    assert b.faults is not None and b.faults.results() == {"lose-syn": {"matched": 2, "applied": 1}}


def test_nth_alone_picks_one_packet() -> None:
    b = run("  - {name: second, from: client, nth: 2}\n")
    assert b.faults is not None and b.faults.results()["second"]["applied"] == 1
    drops = [r[4].payload for r in b.sim.trace.records if r[1] == PKT and r[3] == DROP]
    first_two = [s for _, s in sent(b, "client")][:2]
    assert drops == [first_two[1]]


def test_nth_and_count_pick_a_run_of_packets() -> None:
    b = run("  - {name: run, from: client, nth: 2, count: 2}\n")
    assert b.faults is not None and b.faults.results()["run"]["applied"] == 2


def test_time_window() -> None:
    b = run("  - {name: w, to: server, after: 0.5s, before: 62s}\n")
    # Only the TIME_WAIT-free part of the run: the client's segments at 0..0.04 s pass.
    assert b.faults is not None and b.faults.results()["w"]["applied"] == 0
    b = run("  - {name: w, to: server, before: 0.015s}\n")
    assert b.faults is not None and b.faults.results()["w"]["applied"] == 1


def test_delay_holds_a_packet_and_records_it_when_it_leaves() -> None:
    b = run("  - {name: slow, action: delay, delay: 100ms, moment: first-data, from: client, count: 1}\n")
    data = [t for t, s in sent(b, "client") if s.payload]
    assert data == [pytest.approx(0.12)]  # held 100 ms: less than the RTO, so no retransmission
    assert b.app("user").results()["requests"] == 1


def test_duplicate_sends_twice() -> None:
    b = run("  - {name: twice, action: duplicate, delay: 5ms, moment: handshake-synack}\n")
    synacks = [t for t, s in sent(b, "server") if s.flags == SYN | ACK]
    assert synacks == [pytest.approx(0.01), pytest.approx(0.015)]


def test_corrupt_is_dropped_by_the_receiver() -> None:
    b = run("  - {name: noise, action: corrupt, moment: first-data, from: client, count: 1}\n")
    drops = [(r[2], r[6]) for r in b.sim.trace.records if r[1] == PKT and r[3] == DROP]
    assert drops == [("server", "checksum")]
    assert b.sim.trace.counters[("client", "fault:noise")] == 1
    assert b.app("user").results()["requests"] == 1


def test_first_rule_that_acts_wins() -> None:
    b = run("  - {name: a, moment: handshake-syn, count: 1}\n  - {name: b, moment: handshake-syn, count: 1}\n")
    assert b.faults is not None
    # SYNs at 0, 1 and 2 s: a takes the first, b the second (a's count is used up), the third passes.
    assert b.faults.results() == {"a": {"matched": 3, "applied": 1}, "b": {"matched": 2, "applied": 1}}


def test_app_and_conn_criteria() -> None:
    extra = "  - {type: tcp-server, name: other, host: server, port: 81}\n" \
            "  - {type: tcp-client, name: u2, host: client, dst: server, port: 81}\n"
    text = TOPO + extra + "faults:\n  - {name: a, app: u2, moment: handshake-syn, count: 1}\n" \
        "  - {name: c, conn: 'client:*>server:81', moment: handshake-synack, count: 1}\n"
    b = run_scenario(load_text(text)).built
    assert b.faults is not None
    # u2's first SYN is lost, then the SYN-ACK to its second: its third SYN (2 s) connects.
    # (At 2.01 s the server sends two SYN-ACKs: one answering the repeated SYN, one from its
    # own retransmission timer, which fires at that very moment.)
    assert b.faults.results()["a"] == {"matched": 3, "applied": 1}
    assert b.faults.results()["c"] == {"matched": 3, "applied": 1}
    assert b.app("u2").results()["connect_times"] == [pytest.approx(2.02)]
    assert b.app("user").results()["connect_times"] == [pytest.approx(0.02)]


def test_faults_cost_nothing_when_there_are_none() -> None:
    b = run_scenario(load_text(TOPO)).built
    assert b.faults is None
    assert "output" not in vars(b.sim.host("client"))


# -- the moments, segment by segment -----------------------------------------------------


def seg(src: str, sport: int, dst: str, dport: int, flags: int, seq: int, ack: int = 0, data: bytes = b"") -> IPPacket:
    s = Segment(sport, dport, seq, ack, flags, 1000, data)
    return IPPacket(src, dst, 64, IPPROTO_TCP, s, 40 + len(data))


def test_moments_of_a_whole_connection() -> None:
    c, s = "10.0.0.1", "10.0.0.2"
    t = FlowTracker()
    steps = [
        (seg(c, 1000, s, 80, SYN, 100), {"handshake-syn"}),
        (seg(c, 1000, s, 80, SYN, 100), {"handshake-syn"}),  # a retransmission
        (seg(s, 80, c, 1000, SYN | ACK, 500, 101), {"handshake-synack"}),
        (seg(c, 1000, s, 80, ACK, 101, 501), {"handshake-ack"}),
        (seg(c, 1000, s, 80, ACK, 101, 501, b"x" * 10), {"first-data"}),
        (seg(s, 80, c, 1000, ACK, 501, 111), set()),
        (seg(c, 1000, s, 80, ACK, 101, 501, b"x" * 10), {"first-data"}),  # retransmitted
        (seg(c, 1000, s, 80, ACK, 110, 501), {"keepalive-probe"}),
        (seg(c, 1000, s, 80, FIN | ACK, 111, 501), {"fin"}),
        (seg(s, 80, c, 1000, ACK, 501, 112), set()),
        (seg(s, 80, c, 1000, FIN | ACK, 501, 112), {"fin"}),
        (seg(c, 1000, s, 80, ACK, 112, 502), {"final-ack"}),
        (seg(c, 1000, s, 80, RST, 112), {"rst"}),
    ]
    for i, (pkt, want) in enumerate(steps):
        assert set(t.observe(pkt)) == want, i


def test_a_new_syn_starts_a_new_use_of_the_4_tuple() -> None:
    c, s = "10.0.0.1", "10.0.0.2"
    t = FlowTracker()
    t.observe(seg(c, 1000, s, 80, SYN, 100))
    t.observe(seg(s, 80, c, 1000, SYN | ACK, 500, 101))
    t.observe(seg(c, 1000, s, 80, ACK, 101, 501, b"x"))
    t.observe(seg(c, 1000, s, 80, SYN, 9000))
    t.observe(seg(s, 80, c, 1000, SYN | ACK, 7000, 9001))
    assert t.observe(seg(c, 1000, s, 80, ACK, 9001, 7001)) == {"handshake-ack"}


def test_flag_and_conn_parsing() -> None:
    assert parse_flags("S.") == (SYN | ACK, False)
    assert parse_flags("=S.") == (SYN | ACK, True)
    assert parse_flags("+F") == (FIN, False)
    for bad in ("", "+", "=", "SS", "X", "s", "=+S"):
        with pytest.raises(ValueError):
            parse_flags(bad)
    assert parse_conn("client:*>server:80") == ("client", None, "server", 80)
    for bad in ("client>server", "a:1>b", "a:0>b:1", "a:70000>b:1"):
        with pytest.raises(ValueError):
            parse_conn(bad)


@pytest.mark.parametrize(("rule", "expected"), [
    ("{action: delay}", "f.yaml:12: faults[0]: action: delay needs delay: (how long to hold the packet), e.g. delay: 200ms"),
    ("{action: drop, delay: 1s}", "f.yaml:12: faults[0]: delay: only means something with action: delay or duplicate, not drop"),
    ("{flags: SX}", "f.yaml:12: faults[0].flags: expected TCP flags in tcpdump's letters: '.' or 'A' (ACK set, anything else allowed), 'S', 'F', 'R', 'P', ...; '=' first for exactly these, e.g. '=.' (a bare ACK), '=S' (a SYN without ACK), got 'SX'"),
    ("{moment: fin-ack}", "f.yaml:12: faults[0].moment: expected one of: handshake-syn, handshake-synack, handshake-ack, first-data, fin, final-ack, keepalive-probe, rst; got 'fin-ack'"),
    ("{from: nowhere}", "f.yaml:12: faults[0].from: unknown node 'nowhere' (expected one of: client, server; or an IPv4 address)"),
    ("{app: ghost}", "f.yaml:12: faults[0].app: unknown app 'ghost' (expected one of: user, web)"),
    ("{conn: 'client:*>srv:80'}", "f.yaml:12: faults[0].conn: unknown node 'srv' (expected one of: client, server; or an IPv4 address)"),
    ("{proto: icmp, flags: S}", "f.yaml:12: faults[0]: proto: icmp cannot be combined with flags (those are TCP criteria)"),
    ("{after: 2s, before: 1s}", "f.yaml:12: faults[0]: before (1 s) must be later than after (2 s)"),
    ("{src: client}", "f.yaml:12: faults[0].src: unknown key 'src' (expected one of: action, after, app, before, conn, count, data, delay, flags, from, moment, name, nth, proto, to)"),
])
def test_bad_rules_are_one_located_line(rule: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(TOPO + "faults:\n  - " + rule + "\n", "f.yaml")
    assert str(info.value) == expected


def test_the_egress_filter_hook_comes_and_goes() -> None:
    from tcpsim.net import LinkParams, Simulation

    sim = Simulation()
    a = sim.add_host("a")
    sim.add_host("b")
    sim.add_link("a", "b", LinkParams())
    seen: list[IPPacket] = []
    a.set_egress_filter(lambda pkt: seen.append(pkt) is None)  # takes every packet
    a.ip_send("192.0.2.2", IPPROTO_TCP, Segment(1, 2, 0, 0, SYN, 0))
    assert len(seen) == 1 and sim.trace.counters[("a", "send")] == 0
    a.set_egress_filter(None)
    assert "output" not in vars(a)
    a.ip_send("192.0.2.2", IPPROTO_TCP, Segment(1, 2, 0, 0, SYN, 0))
    assert len(seen) == 1 and sim.trace.counters[("a", "send")] == 1
