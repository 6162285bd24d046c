"""Timers under each profile: SYN and SYN-ACK schedules, give-up times, RTO, keepalive, user timeout."""

import pytest

from tcpsim.tcp import make_config
from tcpsim.wire.segment import ACK
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, plain, seg

R1 = REMOTE_ISS + 1
L1 = LOCAL_ISS + 1


def syn_schedule(profile: str, **knobs: object) -> tuple[list[float], float, list[tuple[str, str]]]:
    t = T(cfg=make_config(profile, knobs or None))
    t.connect()
    sent = t.run_timers(10_000)
    return [0.0] + [round(w, 6) for w, _ in sent], t.now, t.events


@pytest.mark.parametrize(("profile", "times", "fail_at"), [
    ("linux", [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67], 131),
    ("linux-classic", [0, 1, 3, 7, 15, 31, 63], 127),
    ("windows-xp", [0, 3, 9], 21),
    ("rfc9293", [0, 1, 3, 7, 15, 31, 63, 123], 183),
])
def test_syn_retransmission_schedule_and_etimedout(profile: str, times: list[float], fail_at: float) -> None:
    got, end, events = syn_schedule(profile)
    assert got == times
    assert end == fail_at
    assert ("error", "ETIMEDOUT") in events


def test_tcp_syn_retries_knob_and_tcp_syncnt() -> None:
    got, end, _ = syn_schedule("linux-classic", **{"net.ipv4.tcp_syn_retries": 2})
    assert (got, end) == ([0, 1, 3], 7)
    t = T(cfg=make_config("linux-classic"))
    t.conn = None
    t.connect()
    t.c.syn_retries = 1  # TCP_SYNCNT
    t.run_timers(100)
    assert t.now == 3


@pytest.mark.parametrize(("profile", "times", "drop_at"), [
    ("linux", [0, 1, 3, 7, 15, 31], 63),
    ("windows-xp", [0, 3, 9], 21),
])
def test_synack_schedule(profile: str, times: list[float], drop_at: float) -> None:
    t = T(cfg=make_config(profile))
    t.listen()
    t.send(seg("S", REMOTE_ISS))
    sent = t.run_timers(1000)
    assert [0.0] + [w for w, _ in sent] == times
    assert t.now == drop_at and t.state == "CLOSED"


def test_linux_rto_on_short_path_is_srtt_plus_200ms() -> None:
    t = T()
    t.connect()
    t.at(0.005).send(seg("S.", REMOTE_ISS, L1))
    assert t.c.rto == pytest.approx(0.205)


def test_rfc6298_rto_first_sample_is_srtt_plus_four_rttvar() -> None:
    t = T(cfg=plain(make_config("rfc9293"), rto_min=0.2))
    t.connect()
    t.at(0.3).send(seg("S.", REMOTE_ISS, L1))
    # SRTT = R = 0.3, RTTVAR = R/2 = 0.15, RTO = 0.3 + 4*0.15 = 0.9
    assert t.c.srtt == pytest.approx(0.3) and t.c.rttvar == pytest.approx(0.15)
    assert t.c.rto == pytest.approx(0.9)
    t.app_send(b"x" * 10)
    t.at(0.5).send(seg(".", R1, L1 + 10))
    # R' = 0.2: RTTVAR = 3/4*0.15 + 1/4*|0.3-0.2| = 0.1375, SRTT = 7/8*0.3 + 1/8*0.2 = 0.2875
    assert t.c.rttvar == pytest.approx(0.1375) and t.c.srtt == pytest.approx(0.2875)
    assert t.c.rto == pytest.approx(0.2875 + 4 * 0.1375)


def test_data_retransmission_backoff_and_karn() -> None:
    t = T()
    t.connect()
    t.at(0.1).send(seg("S.", REMOTE_ISS, L1))
    rto = t.c.rto  # 0.1 + max(4*0.05, 0.2) = 0.3
    assert rto == pytest.approx(0.3)
    t.app_send(b"a" * 100)
    sent = t.run_timers(t.now + rto * 7 + 0.01)
    gaps = [round(b - a, 6) for (a, _), (b, _) in zip([(0.1, None)] + sent[:-1], sent, strict=True)]
    assert gaps == [0.3, 0.6, 1.2]
    assert all(s.seq == L1 and len(s.payload) == 100 for _, s in sent)
    # Karn: the ACK of a retransmitted segment gives no RTT sample; the backed-off RTO stays.
    before = t.c.srtt
    t.at(t.now + 0.05).send(seg(".", R1, L1 + 100))
    assert t.c.srtt == before


def test_linux_gives_up_after_modelled_tcp_retries2_time() -> None:
    t = T()
    t.connect()
    t.at(0.005).send(seg("S.", REMOTE_ISS, L1))
    t.app_send(b"x" * 10)
    start = t.now
    sent = t.run_timers(5000)
    assert t.state == "CLOSED"
    assert ("error", "ETIMEDOUT") in t.events
    # tcp_retries2=15 from 200 ms: 1023 * 0.2 + 6 * 120 = 924.6 s; death at the first RTO after it.
    assert 924.6 <= t.now - start < 924.6 * 1.01
    gaps = [round(b[0] - a[0], 3) for a, b in zip(sent, sent[1:], strict=False)]
    assert max(gaps) == 120.0  # backoff capped at TCP_RTO_MAX
    # tcp_write_err() sends nothing as it gives up: the last segment is a retransmission.
    assert t.sent[-1][1].flags == 0x18 and t.sent[-1][1].seq == L1


def test_windows_xp_gives_up_after_five_data_retransmissions() -> None:
    t = T(cfg=plain(make_config("windows-xp")))
    t.connect()
    t.at(0.01).send(seg("S.", REMOTE_ISS, L1))
    t.app_send(b"x" * 10)
    sent = t.run_timers(5000)
    assert len(sent) == 5
    assert ("error", "ETIMEDOUT") in t.events


def keepalive_conn(idle: float = 2.0, intvl: float = 1.0, cnt: int = 3) -> T:
    t = T().established_active()
    c = t.c
    c.keep_idle, c.keep_intvl, c.keep_cnt = idle, intvl, cnt
    t._record(c.set_keepalive(t.now, True))
    return t


def test_keepalive_probes_at_idle_then_interval_then_rst_and_etimedout() -> None:
    t = keepalive_conn()
    sent = t.run_timers(100)
    assert [(w, s.flags, s.seq, s.ack, len(s.payload)) for w, s in sent] == [
        (2.0, ACK, L1 - 1, R1, 0), (3.0, ACK, L1 - 1, R1, 0), (4.0, ACK, L1 - 1, R1, 0), (5.0, 0x14, L1, R1, 0)]
    assert t.now == 5.0 and t.state == "CLOSED"
    assert ("error", "ETIMEDOUT") in t.events


def test_keepalive_answered_resets_idle_timer() -> None:
    t = keepalive_conn()
    t.run_timers(2.0)
    t.at(2.01).send(seg(".", R1, L1))  # the peer answers the probe
    sent = t.run_timers(6.0)
    assert [round(w, 6) for w, _ in sent] == [4.01, 5.01]
    assert t.state == "ESTABLISHED"


def test_keepalive_rst_reply_gives_econnreset() -> None:
    t = keepalive_conn()
    t.run_timers(2.0)
    t.at(2.01).send(seg("R", R1))
    assert ("error", "ECONNRESET") in t.events


def test_keepalive_soft_icmp_error_reported_when_probes_run_out() -> None:
    t = keepalive_conn()
    t.run_timers(2.0)
    t._record(t.c.on_icmp(2.01, "EHOSTUNREACH", L1 - 1 + 1))
    assert t.state == "ESTABLISHED"
    t.run_timers(100)
    assert ("error", "EHOSTUNREACH") in t.events


def test_user_timeout_kills_at_its_deadline() -> None:
    t = T().established_active()
    t.c.user_timeout = 5.0
    t.app_send(b"x")
    t.run_timers(100)
    assert t.state == "CLOSED"
    assert t.now == pytest.approx(5.0)
    assert ("error", "ETIMEDOUT") in t.events


def test_zero_window_probe_sequence() -> None:
    t = T().established_active()
    t.send(seg(".", R1, L1, win=0))
    expect(t.app_send(b"x" * 100))  # nothing may be sent into a zero window
    sent = t.run_timers(2.0)
    # Persist probes as Linux sends them: SND.UNA-1, no data, backing off from the RTO.
    assert [(round(w, 6), s.seq, len(s.payload)) for w, s in sent] == [(0.2, L1 - 1, 0), (0.6, L1 - 1, 0), (1.4, L1 - 1, 0)]
    out = t.at(1.5).send(seg(".", R1, L1, win=1000))
    expect(out, ("P.", L1, R1, 64240, 100))


def test_delayed_ack_after_quickack_phase() -> None:
    t = T().established_active()
    c = t.c
    c.quickacks = 0
    c.data_in = 1  # past the quick-ACK start
    expect(t.at(1.0).send(seg(".", R1, L1, data=b"a" * 1460)))
    assert c.next_deadline() == pytest.approx(1.04)  # Linux's delayed ACK: 40 ms
    out = t.tick(1.04)
    expect(out, (".", L1, R1 + 1460))
    t.at(2.0).send(seg(".", R1 + 1460, L1, data=b"b" * 1460))
    out = t.at(2.001).send(seg(".", R1 + 2920, L1, data=b"c" * 1460))
    expect(out, (".", L1, R1 + 4380))  # every second full segment is ACKed at once


def test_first_data_segments_are_acked_at_once_quickack() -> None:
    t = T().established_active()
    out = t.send(seg(".", R1, L1, data=b"a" * 1460))
    expect(out, (".", L1, R1 + 1460))


def test_nagle_holds_small_segment_while_small_one_unacked() -> None:
    t = T().established_active()
    expect(t.app_send(b"a"), ("P.", L1, R1, 64240, 1))
    expect(t.app_send(b"b"))  # held: a small segment is unacknowledged
    expect(t.app_send(b"c"))
    out = t.send(seg(".", R1, L1 + 1))
    expect(out, ("P.", L1 + 1, R1, 64240, 2))  # coalesced


def test_nodelay_sends_at_once() -> None:
    t = T().established_active()
    t.c.nodelay = True
    expect(t.app_send(b"a"), ("P.", L1, R1, 64240, 1))
    expect(t.app_send(b"b"), ("P.", L1 + 1, R1, 64240, 1))
