"""The data path: fast retransmit, NewReno partial ACKs, SACK recovery, window scaling at the wrap."""

import pytest

from tcpsim.tcp import make_config
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, expect, expect_nothing, plain, seg

R1 = REMOTE_ISS + 1
L1 = LOCAL_ISS + 1
MSS = 1460


def sending(n_segments: int, cfg_overrides: dict[str, object] | None = None) -> T:
    t = T(cfg=plain(**(cfg_overrides or {}))).established_active()
    t.c.cwnd = 20 * MSS
    t.app_send(b"d" * (n_segments * MSS))
    return t


def test_fast_retransmit_on_the_third_duplicate_ack() -> None:
    t = sending(8, {"congestion_control": "reno"})
    assert len(t.sent) == 2 + 8  # SYN, the handshake ACK and eight segments
    expect_nothing(t.send(seg(".", R1, L1)))   # 1st duplicate
    expect_nothing(t.send(seg(".", R1, L1)))   # 2nd
    out = t.send(seg(".", R1, L1))             # 3rd: retransmit the first unacknowledged segment
    expect(out, (".", L1, R1, 64240, MSS))
    c = t.c
    assert c.ssthresh == 4 * MSS  # half the flight of 8 segments (RFC 5681 eq. 4)
    assert c.cwnd == c.ssthresh + 3 * MSS
    assert c.stats["fast_retransmits"] == 1


def test_newreno_partial_ack_retransmits_the_next_hole_without_leaving_recovery() -> None:
    t = sending(8, {"congestion_control": "reno"})
    for _ in range(3):
        t.send(seg(".", R1, L1))
    # The retransmission repairs the first hole; the ACK stops at the second (a partial ACK).
    out = t.send(seg(".", R1, L1 + 3 * MSS))
    expect(out, (".", L1 + 3 * MSS, R1, 64240, MSS))
    assert t.c.in_recovery
    # The full ACK ends recovery with cwnd = min(ssthresh, flight + MSS).
    t.send(seg(".", R1, L1 + 8 * MSS))
    assert not t.c.in_recovery
    assert t.c.cwnd == MSS  # nothing left in flight: FlightSize 0 + 1 MSS


def test_sack_recovery_retransmits_only_the_holes() -> None:
    t = T(cfg=make_config("linux").replace(timestamps=False, window_scaling=False)).established_active()
    t.c.sack_ok = True
    t.c.cwnd = 20 * MSS
    t.app_send(b"d" * (10 * MSS))
    # Segments 1 and 4 (0-based) are lost; the peer SACKs the rest as they arrive.
    s = [L1 + i * MSS for i in range(11)]
    t.send(seg(".", R1, s[1]))                                     # cumulative ACK of segment 0
    t.send(seg(".", R1, s[1], sack=((s[2], s[3]),)))
    t.send(seg(".", R1, s[1], sack=((s[2], s[4]),)))
    out = t.send(seg(".", R1, s[1], sack=((s[5], s[6]), (s[2], s[4]))))
    retrans = [x.seq for x in out.segments]
    assert retrans[0] == s[1]
    out2 = t.send(seg(".", R1, s[1], sack=((s[5], s[8]), (s[2], s[4]))))
    assert s[4] in [x.seq for x in out2.segments] + retrans
    # Segments the peer SACKed are never sent again.
    again = [x.seq for _, x in t.sent[12:]]  # after SYN, ACK and the ten first transmissions
    assert not set(again) & {s[2], s[3], s[5], s[6], s[7]}


def test_window_scaling_across_the_sequence_wrap() -> None:
    iss = 2**32 - 1000
    t = T(cfg=make_config("linux").replace(timestamps=False, sack=False), iss=iss)
    t.connect()
    out = t.send(seg("S.", REMOTE_ISS, (iss + 1) % 2**32, win=1000, mss=1460, wscale=3))
    expect(out, (".", (iss + 1) % 2**32, R1, 502, 0))  # 64240 >> 7, rounded up
    c = t.c
    t.send(seg(".", R1, (iss + 1) % 2**32, win=2000))  # the peer's window: 2000 << 3
    assert c.snd_wnd == 16000
    out = t.app_send(b"w" * 5000)
    seqs = [x.seq for x in out.segments]
    assert seqs == [(iss + 1 + i * 1460) % 2**32 for i in range(4)]
    assert seqs[0] > seqs[1]  # the numbers wrapped past 2**32
    t.send(seg(".", R1, (iss + 1 + 5000) % 2**32, win=2000))
    assert c.snd_una == (iss + 1 + 5000) % 2**32 and not c.snd_buf
    assert c.next_deadline() is None


def test_cubic_grows_and_backs_off_by_beta() -> None:
    from tcpsim.tcp.cc import Cubic

    class C:
        mss = 1000
        cwnd = 100_000
        ssthresh = 50_000
        srtt: float | None = 0.1

        def flight_size(self) -> int:
            return self.cwnd

    c = C()
    cc = Cubic()
    assert cc.ssthresh_on_loss(c, 0.0) == 70_000  # beta 0.7
    c.cwnd = 70_000
    c.ssthresh = 70_000
    t = 0.0
    for _ in range(2000):
        t += 0.01
        cc.on_ack(c, 1000, t)
    assert c.cwnd > 100_000  # past the old maximum after the plateau
    assert cc.k == pytest.approx(((100 - 70) / 0.4) ** (1 / 3))
