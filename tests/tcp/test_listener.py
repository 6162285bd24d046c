"""Listen queues and SYN cookies (Linux tcp_conn_request(), cookie_v4_check())."""

from tcpsim.tcp import make_config
from tcpsim.tcp.cookies import MSS_TABLE, SynCookies, decode_ts, encode_ts, mss_index
from tcpsim.tcp.listener import Listener, SynDecision
from tcpsim.wire.segment import ACK, SYN, Segment
from tests.tcp.helpers import LOCAL, plain

KEY = b"k" * 16


def syn(port: int, isn: int = 1000, mss: int = 1460, **opts: object) -> Segment:
    return Segment(port, 80, isn, 0, SYN, 64240, mss=mss, **opts)  # type: ignore[arg-type]


def fill(lst: Listener, n: int, start: int = 10000) -> None:
    for i in range(n):
        d, child, _, _ = lst.on_segment(0.0, "203.0.113.9", syn(start + i), 5000 + i)
        assert d is SynDecision.CHILD and child is not None


def test_syn_queue_full_without_cookies_drops() -> None:
    lst = Listener(plain(syncookies=0), LOCAL, 80, 4, KEY)
    lst.listen()
    fill(lst, 4)
    d, _, _, _ = lst.on_segment(0.0, "192.0.2.7", syn(99), 1)
    assert d is SynDecision.DROP
    assert lst.counters["listen_drops"] == 1 and len(lst.syn_queue) == 4


def test_syn_queue_full_with_cookies_answers_statelessly() -> None:
    lst = Listener(plain(syncookies=1), LOCAL, 80, 4, KEY)
    lst.listen()
    fill(lst, 4)
    d, child, _, reply = lst.on_segment(0.0, "192.0.2.7", syn(99, isn=777, mss=1400), 1)
    assert d is SynDecision.COOKIE and child is None and reply is not None
    assert (reply.flags, reply.ack, reply.mss) == (SYN | ACK, 778, 1460)
    assert len(lst.syn_queue) == 4 and lst.counters["cookies_sent"] == 1


def test_cookie_ack_is_validated_into_an_established_child() -> None:
    lst = Listener(plain(syncookies=2), LOCAL, 80, 4, KEY)
    lst.listen()
    d, _, _, reply = lst.on_segment(1.0, "192.0.2.7", syn(99, isn=777, mss=1400), 1)
    assert d is SynDecision.COOKIE and reply is not None
    ack = Segment(99, 80, 778, reply.seq + 1, ACK, 64240)
    d, child, out, _ = lst.on_segment(2.0, "192.0.2.7", ack, 1)
    assert d is SynDecision.COOKIE_CHILD and child is not None and out is not None
    assert child.state.value == "ESTABLISHED"
    assert [(a.value, b.value) for a, b, _, _ in out.transitions] == [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED")]
    assert child.mss == 1300  # 1400 rounded down to the cookie table
    assert lst.counters["cookies_validated"] == 1


def test_a_valid_cookie_counts_as_received_even_when_the_accept_queue_then_drops_it() -> None:
    """Linux counts SyncookiesRecv in cookie_v4_check(), before tcp_v4_syn_recv_sock() finds the
    accept queue full (ListenOverflows, ListenDrops); TCPReqQFullDoCookies counts every cookie SYN."""
    lst = Listener(plain(syncookies=2), LOCAL, 80, 0, KEY)
    lst.listen()
    _, _, _, r1 = lst.on_segment(1.0, "192.0.2.7", syn(99, isn=777), 1)
    _, _, _, r2 = lst.on_segment(1.0, "192.0.2.7", syn(98, isn=555), 1)
    assert r1 is not None and r2 is not None
    d, child, _, _ = lst.on_segment(2.0, "192.0.2.7", Segment(99, 80, 778, r1.seq + 1, ACK, 64240), 1)
    assert d is SynDecision.COOKIE_CHILD and child is not None
    lst.established(child)
    d, _, _, _ = lst.on_segment(2.0, "192.0.2.7", Segment(98, 80, 556, r2.seq + 1, ACK, 64240), 1)
    assert d is SynDecision.DROP
    assert {k: lst.counters[k] for k in ("cookies_sent", "reqq_full_do_cookies", "cookies_validated",
                                         "listen_overflows", "listen_drops")} == {
        "cookies_sent": 2, "reqq_full_do_cookies": 2, "cookies_validated": 2, "listen_overflows": 1, "listen_drops": 1}


def test_forged_or_stale_cookie_gets_rst() -> None:
    lst = Listener(plain(syncookies=2), LOCAL, 80, 4, KEY)
    lst.listen()
    _, _, _, reply = lst.on_segment(0.0, "192.0.2.7", syn(99, isn=777), 1)
    assert reply is not None
    bad = Segment(99, 80, 778, reply.seq + 2, ACK, 64240)
    d, _, _, rst = lst.on_segment(1.0, "192.0.2.7", bad, 1)
    assert d is SynDecision.RST and rst is not None and rst.seq == reply.seq + 2
    late = Segment(99, 80, 778, reply.seq + 1, ACK, 64240)
    d, _, _, _ = lst.on_segment(180.0, "192.0.2.7", late, 1)  # three minutes on: expired
    assert d is SynDecision.RST


def test_cookie_mss_table_rounds_down() -> None:
    assert [MSS_TABLE[mss_index(m)] for m in (500, 536, 1299, 1300, 1439, 1440, 1459, 1460, 9000)] == [
        536, 536, 536, 1300, 1300, 1440, 1440, 1460, 1460]
    c = SynCookies(KEY)
    isn, mss = c.make(10.0, "a", 1, "b", 2, 12345, 1452)
    assert mss == 1440
    assert c.check(70.0, "a", 1, "b", 2, 12345, isn) == 1440
    assert c.check(130.0, "a", 1, "b", 2, 12345, isn) is None
    assert c.check(10.0, "a", 1, "b", 3, 12345, isn) is None


def test_timestamps_carry_wscale_and_sack_through_a_cookie() -> None:
    ts = encode_ts(123456, 7, True)
    assert ts <= 123456 and decode_ts(ts) == (7, True)
    assert decode_ts(encode_ts(99999, None, False)) == (None, False)


def test_accept_queue_full_drops_syn() -> None:
    lst = Listener(plain(), LOCAL, 80, 1, KEY)
    lst.listen()
    for i in range(2):
        _, child, _, _ = lst.on_segment(0.0, "192.0.2.7", syn(100 + i), 1)
        assert child is not None
        lst.established(child)
    assert lst.accept_queue_full()
    d, _, _, _ = lst.on_segment(0.0, "192.0.2.7", syn(200), 1)
    assert d is SynDecision.DROP and lst.counters["listen_overflows"] == 1


def test_windows_syn_attack_protect_cuts_synack_retries() -> None:
    cfg = make_config("windows-xp", {"SynAttackProtect": 1, "TcpMaxHalfOpen": 2}).replace(timestamps=False)
    lst = Listener(cfg, LOCAL, 80, 100, KEY)
    lst.listen()
    fill(lst, 2)
    _, child, _, _ = lst.on_segment(0.0, "192.0.2.7", syn(99), 1)
    assert child is not None and child.syn_retries == 1
