"""SYN_RCVD (RFC 9293 §3.10.7.4 for a passive child; Linux tcp_check_req where they differ)."""

from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, expect_nothing, seg


def passive() -> T:
    t = T()
    t.listen()
    t.send(seg("S", REMOTE_ISS, mss=1460))
    return t


def test_ack_of_syn_ack_establishes() -> None:
    t = passive()
    expect_nothing(t.at(0.02).send(seg(".", REMOTE_ISS + 1, LOCAL_ISS + 1)))
    assert t.state == "ESTABLISHED"
    assert ("connected", "") in t.events
    assert t.c.srtt == 0.02


def test_ack_with_wrong_ack_number_gets_rst_seq_seg_ack() -> None:
    t = passive()
    expect(t.send(seg(".", REMOTE_ISS + 1, LOCAL_ISS + 7)), ("R", LOCAL_ISS + 7, 0))
    assert t.state == "SYN_RECV"


def test_rst_returns_passive_child_to_listen() -> None:
    t = passive()
    expect_nothing(t.send(seg("R", REMOTE_ISS + 1)))
    assert t.transitions[-1] == ("SYN_RECV", "LISTEN")
    assert ("closed", "") in t.events
    assert t.c.next_deadline() is None


def test_out_of_window_rst_is_dropped() -> None:
    t = passive()
    expect_nothing(t.send(seg("R", REMOTE_ISS + 10**6)))
    assert t.state == "SYN_RECV"


def test_retransmitted_syn_gets_the_syn_ack_again() -> None:
    t = passive()
    out = t.at(0.5).send(seg("S", REMOTE_ISS, mss=1460))
    expect(out, ("S.", LOCAL_ISS, REMOTE_ISS + 1, 64240, 0))
    assert out.segments[0].mss == 1460
    assert t.state == "SYN_RECV"


def test_new_syn_with_other_sequence_returns_to_listen() -> None:
    t = passive()
    t.send(seg("S", REMOTE_ISS + 5000))
    assert t.transitions[-1] == ("SYN_RECV", "LISTEN")


def test_syn_ack_retransmitted_at_1_3_7_15_31_then_dropped_at_63() -> None:
    t = passive()
    sent = t.run_timers(100)
    assert [(when, s.flags, s.seq, s.ack) for when, s in sent] == [
        (w, 0x12, LOCAL_ISS, REMOTE_ISS + 1) for w in (1.0, 3.0, 7.0, 15.0, 31.0)]
    assert t.now == 63.0
    assert t.transitions[-1] == ("SYN_RECV", "CLOSED")
    assert not any(e == "error" for e, _ in t.events)  # nobody to tell: the request just vanishes


def test_data_with_the_handshake_ack_is_accepted() -> None:
    t = passive()
    out = t.send(seg("P.", REMOTE_ISS + 1, LOCAL_ISS + 1, data=b"hello"))
    assert t.state == "ESTABLISHED"
    expect(out, (".", LOCAL_ISS + 1, REMOTE_ISS + 6, 64240 - 5, 0))
    assert t.app_recv() == b"hello"


def test_close_in_syn_rcvd_sends_fin_and_enters_fin_wait_1() -> None:
    t = T()
    t.connect()
    t.send(seg("S", REMOTE_ISS))  # simultaneous open: an active SYN_RCVD
    out = t.close()
    expect(out, ("F.", LOCAL_ISS + 1, REMOTE_ISS + 1))
    assert t.transitions[-1] == ("SYN_RECV", "FIN_WAIT1")


def test_rst_in_active_syn_rcvd_refuses() -> None:
    t = T()
    t.connect()
    t.send(seg("S", REMOTE_ISS))
    t.send(seg("R", REMOTE_ISS + 1))
    assert t.transitions[-1] == ("SYN_RECV", "CLOSED")
    assert ("error", "ECONNREFUSED") in t.events


def test_abort_in_syn_rcvd_sends_rst() -> None:
    t = passive()
    out = t.abort()
    expect(out, ("R.", LOCAL_ISS + 1, REMOTE_ISS + 1))
    assert t.transitions[-1] == ("SYN_RECV", "CLOSED")
