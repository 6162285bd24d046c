"""FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT (RFC 9293 §3.10.7.4)."""

from tcpsim.tcp import make_config
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, expect_nothing, plain, seg

R1 = REMOTE_ISS + 1
L1 = LOCAL_ISS + 1


def fin_wait_1() -> T:
    t = T().established_active()
    t.close()
    return t


def test_ack_of_fin_moves_to_fin_wait_2() -> None:
    t = fin_wait_1()
    expect_nothing(t.send(seg(".", R1, L1 + 1)))
    assert t.state == "FIN_WAIT2"


def test_orphan_in_fin_wait_2_closes_after_fin_timeout() -> None:
    t = fin_wait_1()
    t.at(0.1).send(seg(".", R1, L1 + 1))
    assert t.c.timers and min(t.c.timers.values()) == 60.1
    t.run_timers(1000)
    assert t.transitions[-1] == ("FIN_WAIT2", "CLOSED")
    assert t.now == 60.1


def test_half_closed_fin_wait_2_waits_forever_and_still_receives() -> None:
    t = T().established_active()
    t.shutdown_wr()
    t.send(seg(".", R1, L1 + 1))
    assert t.state == "FIN_WAIT2"
    assert t.c.next_deadline() is None
    out = t.send(seg("P.", R1, L1 + 1, data=b"more"))
    expect(out, (".", L1 + 1, R1 + 4))
    assert t.app_recv() == b"more"


def test_fin_in_fin_wait_2_enters_time_wait_for_60s() -> None:
    t = fin_wait_1()
    t.send(seg(".", R1, L1 + 1))
    out = t.at(1.0).send(seg("F.", R1, L1 + 1))
    expect(out, (".", L1 + 1, R1 + 1))
    assert t.state == "TIME_WAIT"
    t.run_timers(1000)
    assert t.transitions[-1] == ("TIME_WAIT", "CLOSED")
    assert t.now == 61.0


def test_simultaneous_close_goes_through_closing() -> None:
    t = fin_wait_1()
    out = t.send(seg("F.", R1, L1))  # their FIN does not ack ours
    expect(out, (".", L1 + 1, R1 + 1))
    assert t.state == "CLOSING"
    expect_nothing(t.at(0.2).send(seg(".", R1 + 1, L1 + 1)))
    assert t.state == "TIME_WAIT"
    assert t.transitions[-3:] == [("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "CLOSING"), ("CLOSING", "TIME_WAIT")]


def test_fin_with_ack_of_our_fin_goes_straight_to_time_wait() -> None:
    t = fin_wait_1()
    t.send(seg("F.", R1, L1 + 1))
    assert t.transitions[-2:] == [("FIN_WAIT1", "FIN_WAIT2"), ("FIN_WAIT2", "TIME_WAIT")]


def test_time_wait_reacks_retransmitted_fin_and_restarts_2msl() -> None:
    t = fin_wait_1()
    t.send(seg("F.", R1, L1 + 1))
    out = t.at(30.0).send(seg("F.", R1, L1 + 1))
    expect(out, (".", L1 + 1, R1 + 1))
    assert t.c.timers[next(iter(t.c.timers))] == 90.0
    t.run_timers(1000)
    assert t.now == 90.0 and t.state == "CLOSED"


def test_time_wait_rst_closes() -> None:
    t = fin_wait_1()
    t.send(seg("F.", R1, L1 + 1))
    t.send(seg("R", R1 + 1))
    assert t.transitions[-1] == ("TIME_WAIT", "CLOSED")


def test_time_wait_new_syn_above_rcv_nxt_retires_the_old_connection() -> None:
    t = fin_wait_1()
    t.send(seg("F.", R1, L1 + 1))
    t.send(seg("S", R1 + 100000))
    assert t.transitions[-1] == ("TIME_WAIT", "CLOSED")
    assert ("closed", "reuse") in t.events


def test_close_wait_keeps_sending_then_last_ack() -> None:
    t = T().established_active()
    t.send(seg("F.", R1, L1))
    expect(t.app_send(b"reply"), ("P.", L1, R1 + 1, 64240, 5))
    out = t.close()
    assert t.state == "LAST_ACK"
    expect(out, ("F.", L1 + 5, R1 + 1))  # a FIN is never held back by Nagle
    t.send(seg(".", R1 + 1, L1 + 5))
    assert t.state == "LAST_ACK"
    t.send(seg(".", R1 + 1, L1 + 6))
    assert t.state == "CLOSED"


def test_last_ack_closes_on_ack_of_fin() -> None:
    t = T().established_active()
    t.send(seg("F.", R1, L1))
    expect(t.close(), ("F.", L1, R1 + 1))
    expect_nothing(t.send(seg(".", R1 + 1, L1 + 1)))
    assert t.transitions[-2:] == [("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSED")]


def test_last_ack_retransmits_fin_with_backoff() -> None:
    t = T(cfg=plain(make_config("linux"))).established_active()
    t.send(seg("F.", R1, L1))
    t.close()
    # The handshake measured an RTT of 0, so Linux's RTO is 0 + max(4*rttvar, 200 ms) = 200 ms.
    sent = t.run_timers(2.9)
    assert [(round(w, 6), s.flags, s.seq) for w, s in sent] == [(0.2, 0x11, L1), (0.6, 0x11, L1), (1.4, 0x11, L1)]


def test_rst_in_close_wait_resets() -> None:
    t = T().established_active()
    t.send(seg("F.", R1, L1))
    t.send(seg("R", R1 + 1))
    assert t.transitions[-1] == ("CLOSE_WAIT", "CLOSED")
    assert ("error", "EPIPE") in t.events  # Linux tcp_reset(): EPIPE after the peer's FIN


def test_rst_in_fin_wait_states_resets() -> None:
    t = fin_wait_1()
    t.send(seg("R", R1))
    assert t.transitions[-1] == ("FIN_WAIT1", "CLOSED")
    t = fin_wait_1()
    t.send(seg(".", R1, L1 + 1))
    t.send(seg("R", R1))
    assert t.transitions[-1] == ("FIN_WAIT2", "CLOSED")


def test_rst_in_closing_and_last_ack_closes_without_error() -> None:
    t = fin_wait_1()
    t.send(seg("F.", R1, L1))
    t.send(seg("R", R1 + 1))
    assert t.transitions[-1] == ("CLOSING", "CLOSED")
    t = T().established_active()
    t.send(seg("F.", R1, L1))
    t.close()
    t.send(seg("R", R1 + 1))
    assert t.transitions[-1] == ("LAST_ACK", "CLOSED")
    assert not any(e == "error" for e, _ in t.events)


def test_data_after_close_is_answered_with_rst() -> None:
    t = fin_wait_1()
    # Linux answers the segment (tcp_v4_send_reset): <SEQ=SEG.ACK><CTL=RST>, no ACK bit.
    out = t.send(seg("P.", R1, L1 + 1, data=b"late"))
    expect(out, ("R", L1 + 1, 0))
    assert t.transitions[-2:] == [("FIN_WAIT1", "FIN_WAIT2"), ("FIN_WAIT2", "CLOSED")]
    t = fin_wait_1()
    out = t.send(seg("P.", R1, L1, data=b"late"))  # our FIN not yet acknowledged
    expect(out, ("R", L1, 0))
    assert t.transitions[-1] == ("FIN_WAIT1", "CLOSED")


def test_abort_in_close_wait_fin_wait_2_closing() -> None:
    t = T().established_active()
    t.send(seg("F.", R1, L1))
    t.abort()
    assert t.transitions[-1] == ("CLOSE_WAIT", "CLOSED")
    t = fin_wait_1()
    t.send(seg(".", R1, L1 + 1))
    t.abort()
    assert t.transitions[-1] == ("FIN_WAIT2", "CLOSED")
    t = fin_wait_1()
    t.send(seg("F.", R1, L1))
    expect(t.abort(), ("R.", L1 + 1, R1 + 1))
    assert t.transitions[-1] == ("CLOSING", "CLOSED")
