"""CLOSED and LISTEN (RFC 9293 §3.10.7.1, §3.10.7.2)."""

from tcpsim.tcp import rst_for_closed
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, expect_nothing, seg


class TestClosed:
    def test_syn_to_closed_port_gets_rst_ack_with_ack_isn_plus_one(self) -> None:
        r = rst_for_closed(seg("S", REMOTE_ISS))
        assert r is not None
        assert (r.flags, r.seq, r.ack) == (0x14, 0, REMOTE_ISS + 1)
        assert (r.sport, r.dport) == (80, 40000)

    def test_ack_to_closed_port_gets_rst_with_seq_seg_ack(self) -> None:
        r = rst_for_closed(seg(".", 7, 12345))
        assert r is not None
        assert (r.flags, r.seq, r.ack) == (0x04, 12345, 0)

    def test_data_without_ack_counts_text_and_fin(self) -> None:
        r = rst_for_closed(seg("F", 100, data=b"abc"))
        assert r is not None and (r.flags, r.seq, r.ack) == (0x14, 0, 104)

    def test_rst_is_never_answered(self) -> None:
        assert rst_for_closed(seg("R", 5)) is None
        assert rst_for_closed(seg("R.", 5, 6)) is None


class TestListen:
    def test_syn_creates_syn_rcvd_child_with_syn_ack(self) -> None:
        t = T()
        t.listen()
        out = t.send(seg("S", REMOTE_ISS, mss=1460))
        expect(out, ("S.", LOCAL_ISS, REMOTE_ISS + 1, 64240, 0))
        assert out.segments[0].mss == 1460
        assert t.state == "SYN_RECV"
        assert t.transitions == [("CLOSED", "LISTEN"), ("LISTEN", "SYN_RECV")]

    def test_rst_to_listener_is_ignored(self) -> None:
        t = T()
        t.listen()
        expect_nothing(t.send(seg("R", 1)))
        assert t.conn is None

    def test_bare_ack_to_listener_gets_rst_seq_ack(self) -> None:
        t = T()
        t.listen()
        out = t.send(seg(".", 1, 777))
        expect(out, ("R", 777, 0))

    def test_syn_ack_to_listener_gets_rst(self) -> None:
        t = T()
        t.listen()
        expect(t.send(seg("S.", REMOTE_ISS, 4242)), ("R", 4242, 0))

    def test_segment_without_syn_ack_or_rst_is_dropped(self) -> None:
        t = T()
        t.listen()
        expect_nothing(t.send(seg("F", 1)))
        expect_nothing(t.send(seg("P", 1, data=b"x")))

    def test_syn_ack_options_echo_only_what_the_peer_offered(self) -> None:
        from tcpsim.tcp import make_config

        t = T(cfg=make_config("linux"))
        t.listen()
        out = t.send(seg("S", REMOTE_ISS, mss=1000))  # no wscale, no SACK, no TS offered
        s = out.segments[0]
        assert (s.mss, s.wscale, s.sack_ok, s.ts_val) == (1460, None, False, None)
        assert t.c.mss == 1000  # the smaller of the two MSS values is used
        t2 = T(cfg=make_config("linux"))
        t2.listen()
        out = t2.send(seg("S", REMOTE_ISS, mss=1460, wscale=7, sack_ok=True, ts_val=5, ts_ecr=0))
        s = out.segments[0]
        assert (s.mss, s.wscale, s.sack_ok, s.ts_val, s.ts_ecr) == (1460, 7, True, 0, 5)
        assert t2.c.mss == 1448  # timestamps take 12 bytes of every segment


def test_closing_a_listener_returns_it_to_closed() -> None:
    from tcpsim.tcp.listener import Listener
    from tests.tcp.helpers import LOCAL, plain

    lst = Listener(plain(), LOCAL, 80, 16)
    assert [(a.value, b.value) for a, b, _, _ in lst.listen()] == [("CLOSED", "LISTEN")]
    assert [(a.value, b.value) for a, b, _, _ in lst.close()] == [("LISTEN", "CLOSED")]
    assert lst.close() == []


def test_listen_backlog_is_capped_by_somaxconn() -> None:
    from tcpsim.tcp import make_config
    from tcpsim.tcp.listener import Listener

    assert Listener(make_config("linux-classic"), "x", 1, 1024).backlog == 128
    assert Listener(make_config("linux"), "x", 1, 1024).backlog == 1024
