"""SYN_SENT (RFC 9293 §3.10.7.3)."""

from tcpsim.tcp import make_config
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, expect_nothing, seg


def test_connect_sends_syn_with_options() -> None:
    t = T(cfg=make_config("linux"))
    out = t.connect()
    expect(out, ("S", LOCAL_ISS, 0, 64240, 0))
    s = out.segments[0]
    assert (s.mss, s.sack_ok, s.ts_val, s.ts_ecr, s.wscale) == (1460, True, 0, 0, 7)
    assert s.options_text() == "mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7"
    assert t.transitions == [("CLOSED", "SYN_SENT")]


def test_syn_ack_completes_handshake_with_ack() -> None:
    t = T()
    t.connect()
    t.at(0.1)
    out = t.send(seg("S.", REMOTE_ISS, LOCAL_ISS + 1, win=29200, mss=1400))
    expect(out, (".", LOCAL_ISS + 1, REMOTE_ISS + 1, 64240, 0))
    assert t.state == "ESTABLISHED"
    assert ("connected", "") in t.events
    assert t.c.mss == 1400 and t.c.snd_wnd == 29200
    assert t.c.srtt == 0.1  # the handshake gives the first RTT sample


def test_syn_ack_with_bad_ack_gets_rst_and_is_dropped() -> None:
    t = T()
    t.connect()
    out = t.send(seg("S.", REMOTE_ISS, LOCAL_ISS + 5))
    expect(out, ("R", LOCAL_ISS + 5, 0))
    assert t.state == "SYN_SENT"
    out = t.send(seg("S.", REMOTE_ISS, LOCAL_ISS))  # SEG.ACK =< ISS
    expect(out, ("R", LOCAL_ISS, 0))
    assert t.state == "SYN_SENT"


def test_rst_with_acceptable_ack_refuses_the_connection() -> None:
    t = T()
    t.connect()
    expect_nothing(t.send(seg("R.", 0, LOCAL_ISS + 1)))
    assert t.state == "CLOSED"
    assert ("error", "ECONNREFUSED") in t.events


def test_rst_without_ack_is_ignored() -> None:
    t = T()
    t.connect()
    expect_nothing(t.send(seg("R", 0)))
    assert t.state == "SYN_SENT"


def test_rst_with_unacceptable_ack_is_dropped_silently() -> None:
    t = T()
    t.connect()
    expect_nothing(t.send(seg("R.", 0, LOCAL_ISS + 9)))
    assert t.state == "SYN_SENT"


def test_simultaneous_open_answers_syn_ack_with_original_isn() -> None:
    t = T()
    t.connect()
    out = t.at(0.05).send(seg("S", REMOTE_ISS, mss=1460))
    expect(out, ("S.", LOCAL_ISS, REMOTE_ISS + 1, 64240, 0))
    assert t.state == "SYN_RECV"
    out = t.at(0.1).send(seg("S.", REMOTE_ISS, LOCAL_ISS + 1))
    # The peer's SYN-ACK is a duplicate SYN in sequence space, so it is acknowledged.
    assert t.state == "ESTABLISHED"
    assert t.transitions == [("CLOSED", "SYN_SENT"), ("SYN_SENT", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED")]


def test_segment_without_syn_or_rst_is_dropped() -> None:
    t = T()
    t.connect()
    expect_nothing(t.send(seg("F", REMOTE_ISS)))
    expect_nothing(t.send(seg("P", REMOTE_ISS, data=b"hi")))
    assert t.state == "SYN_SENT"


def test_close_in_syn_sent_sends_nothing() -> None:
    t = T()
    t.connect()
    expect_nothing(t.close())
    assert t.state == "CLOSED"
    assert t.transitions[-1] == ("SYN_SENT", "CLOSED")
    assert t.c.next_deadline() is None


def test_icmp_port_unreachable_refuses_at_once() -> None:
    t = T()
    t.connect()
    out = t.c.on_icmp(0.01, "ECONNREFUSED", LOCAL_ISS)
    assert t.c.state.value == "CLOSED"
    assert [(e.value, d) for e, d in out.events][:1] == [("error", "ECONNREFUSED")]


def test_icmp_host_unreachable_fails_at_once_with_ehostunreach() -> None:
    t = T()
    t.connect()
    out = t.c.on_icmp(0.01, "EHOSTUNREACH", LOCAL_ISS)
    assert t.c.state.value == "CLOSED"
    assert ("error", "EHOSTUNREACH") in [(e.value, d) for e, d in out.events]
