"""ESTABLISHED: acceptability, RST, SYN, ACK, text (RFC 9293 §3.10.7.4, RFC 5961)."""

from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, expect_nothing, seg

R1 = REMOTE_ISS + 1
L1 = LOCAL_ISS + 1


def est() -> T:
    return T().established_active()


def test_in_order_data_is_acked_and_readable() -> None:
    t = est()
    out = t.send(seg("P.", R1, L1, data=b"abc"))
    expect(out, (".", L1, R1 + 3, 64240 - 3, 0))
    assert t.app_recv() == b"abc"


def test_segment_below_window_gets_ack_and_is_dropped() -> None:
    t = est()
    t.send(seg("P.", R1, L1, data=b"abc"))
    out = t.send(seg("P.", R1, L1, data=b"abc"))  # a duplicate
    expect(out, (".", L1, R1 + 3))
    assert t.app_recv() == b"abc"


def test_segment_beyond_window_gets_ack() -> None:
    t = est()
    expect(t.send(seg("P.", R1 + 70000, L1, data=b"x")), (".", L1, R1))


def test_out_of_order_data_is_kept_and_reassembled() -> None:
    t = est()
    expect(t.send(seg(".", R1 + 3, L1, data=b"def")), (".", L1, R1))  # duplicate ACK at once
    assert t.app_recv() == b""
    out = t.send(seg(".", R1, L1, data=b"abc"))
    expect(out, (".", L1, R1 + 6))
    assert t.app_recv() == b"abcdef"


def test_overlapping_retransmission_is_trimmed() -> None:
    t = est()
    t.send(seg(".", R1, L1, data=b"abc"))
    t.send(seg(".", R1 + 1, L1, data=b"bcdef"))
    assert t.app_recv() == b"abcdef"
    assert t.c.rcv_nxt == R1 + 6


def test_rst_exactly_at_rcv_nxt_resets() -> None:
    t = est()
    expect_nothing(t.send(seg("R", R1)))
    assert t.state == "CLOSED"
    assert ("error", "ECONNRESET") in t.events


def test_in_window_rst_not_at_rcv_nxt_gets_challenge_ack() -> None:
    t = est()
    out = t.send(seg("R", R1 + 100))
    expect(out, (".", L1, R1))
    assert t.state == "ESTABLISHED"
    assert t.c.stats["challenge_acks"] == 1


def test_out_of_window_rst_is_dropped_silently() -> None:
    t = est()
    expect_nothing(t.send(seg("R", R1 + 100000)))
    expect_nothing(t.send(seg("R", R1 - 10)))
    assert t.state == "ESTABLISHED"


def test_syn_on_synchronized_connection_gets_challenge_ack() -> None:
    t = est()
    out = t.send(seg("S", REMOTE_ISS + 999))
    expect(out, (".", L1, R1))
    assert t.state == "ESTABLISHED"


def test_in_window_syn_gets_challenge_ack_not_reset() -> None:
    t = est()
    out = t.send(seg("S", R1 + 10))
    expect(out, (".", L1, R1))
    assert t.state == "ESTABLISHED"


def test_segment_without_ack_is_dropped() -> None:
    t = est()
    expect_nothing(t.send(seg("P", R1, data=b"zz")))
    assert t.app_recv() == b""


def test_ack_for_unsent_data_gets_ack_and_is_dropped() -> None:
    t = est()
    expect(t.send(seg(".", R1, L1 + 500)), (".", L1, R1))


def test_data_is_segmented_by_mss_with_psh_on_the_last() -> None:
    t = est()
    out = t.app_send(b"x" * 3000)
    expect(out, (".", L1, R1, 64240, 1460), (".", L1 + 1460, R1, 64240, 1460), ("P.", L1 + 2920, R1, 64240, 80))


def test_ack_advances_snd_una_and_window() -> None:
    t = est()
    t.app_send(b"x" * 100)
    t.send(seg(".", R1, L1 + 100, win=1000))
    assert (t.c.snd_una, t.c.snd_wnd) == (L1 + 100, 1000)
    assert t.c.next_deadline() is None  # nothing outstanding: the RTO is off


def test_fin_moves_to_close_wait_and_is_acked() -> None:
    t = est()
    out = t.send(seg("F.", R1, L1))
    expect(out, (".", L1, R1 + 1))
    assert t.state == "CLOSE_WAIT"
    assert ("eof", "") in t.events


def test_data_and_fin_in_one_segment_get_one_ack() -> None:
    t = est()
    out = t.send(seg("FP.", R1, L1, data=b"bye"))
    expect(out, (".", L1, R1 + 4))
    assert t.state == "CLOSE_WAIT"
    assert t.app_recv() == b"bye"


def test_close_with_unread_data_sends_rst_not_fin() -> None:
    t = est()
    t.send(seg("P.", R1, L1, data=b"unread"))
    out = t.close()
    expect(out, ("R.", L1, R1 + 6))
    assert t.state == "CLOSED"


def test_abort_sends_rst() -> None:
    t = est()
    expect(t.abort(), ("R.", L1, R1))
    assert t.transitions[-1] == ("ESTABLISHED", "CLOSED")


def test_close_sends_fin_and_enters_fin_wait_1() -> None:
    t = est()
    expect(t.close(), ("F.", L1, R1))
    assert t.state == "FIN_WAIT1"


def test_window_zero_accepts_only_bare_segments_at_rcv_nxt() -> None:
    t = est()
    t.c.rcv_cap = 4
    t.send(seg(".", R1, L1, data=b"abcd"))
    assert t.c.rcv_wnd == 0
    expect(t.send(seg(".", R1 + 4, L1, data=b"e")), (".", L1, R1 + 4, 0, 0))
    assert t.app_recv() == b"abcd"
