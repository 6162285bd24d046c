"""A half-open request kept small behaves exactly as the full SYN_RCVD TCB it stands for."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tcpsim.tcp import Connection, State, make_config
from tcpsim.tcp.connection import Output
from tcpsim.tcp.request import Request
from tests.tcp.helpers import LOCAL, LOCAL_ISS, REMOTE, REMOTE_ISS, describe, seg

SYN = seg("S", REMOTE_ISS, mss=1460, sack_ok=True, ts_val=4242, ts_ecr=0, wscale=7)


def view(out: Output) -> tuple[Any, ...]:
    return ([describe(s) + (s.mss, s.wscale, s.sack_ok, s.ts_val, s.ts_ecr) for s in out.segments],
            [(a.value, b.value, cause) for a, b, cause, _ in out.transitions],
            [(e.value, d) for e, d in out.events], [k.value for k in out.fired])


def child(profile: str = "linux", syn_retries: int = 0) -> Connection:
    c, _ = Connection.from_syn(make_config(profile), LOCAL, REMOTE, SYN, LOCAL_ISS, 0.5)
    c.syn_retries = syn_retries
    return c


@pytest.mark.parametrize("profile,syn_retries", [("linux", 0), ("windows-xp", 0), ("linux", 1)])
def test_synack_retransmissions_and_give_up_match_the_full_tcb(profile: str, syn_retries: int) -> None:
    ref = child(profile, syn_retries)
    req = Request(copy.deepcopy(ref), SYN, 0.5)
    times = []
    while True:
        dl = ref.next_deadline()
        assert req.next_deadline() == dl
        if dl is None:
            break
        assert view(req.on_timer(dl - 1e-6)) == ([], [], [], [])  # not yet
        a, b = view(req.on_timer(dl)), view(ref.on_timer(dl))
        assert a == b
        times.append(round(dl, 6))
        if ref.state is State.CLOSED:
            break
    assert req.state is ref.state is State.CLOSED
    want = {("linux", 0): [1.5, 3.5, 7.5, 15.5, 31.5, 63.5], ("windows-xp", 0): [3.5, 9.5, 21.5],
            ("linux", 1): [1.5, 3.5]}[(profile, syn_retries)]
    assert times == want


@pytest.mark.parametrize("after_timeouts", [0, 2])
@pytest.mark.parametrize("what", ["ack", "ack+data", "ack+fin", "rst", "syn again", "bad ack"])
def test_a_promoted_request_is_the_same_tcb(what: str, after_timeouts: int) -> None:
    ref = child()
    req = Request(copy.deepcopy(ref), SYN, 0.5)
    for _ in range(after_timeouts):
        dl = ref.next_deadline()
        assert dl is not None
        assert view(req.on_timer(dl)) == view(ref.on_timer(dl))
    s = {"ack": seg(".", REMOTE_ISS + 1, LOCAL_ISS + 1, ts_val=4300, ts_ecr=500),
         "ack+data": seg("P.", REMOTE_ISS + 1, LOCAL_ISS + 1, data=b"hello", ts_val=4300, ts_ecr=500),
         "ack+fin": seg("F.", REMOTE_ISS + 1, LOCAL_ISS + 1, ts_val=4300, ts_ecr=500),
         "rst": seg("R", REMOTE_ISS + 1),
         "syn again": SYN,
         "bad ack": seg(".", REMOTE_ISS + 1, LOCAL_ISS + 77, ts_val=4300, ts_ecr=500)}[what]
    now = 9.0
    c = req.promote()
    assert view(c.on_segment(now, s)) == view(ref.on_segment(now, s))
    assert c.state is ref.state and c.next_deadline() == ref.next_deadline()
    assert (c.rto, c.retransmits, c.rcv_nxt, c.snd_nxt, c.mss, c.snd_wscale, c.ts_ok) == \
        (ref.rto, ref.retransmits, ref.rcv_nxt, ref.snd_nxt, ref.mss, ref.snd_wscale, ref.ts_ok)


def test_only_a_fresh_half_open_child_becomes_a_request() -> None:
    c = child()
    c.on_segment(1.0, seg(".", REMOTE_ISS + 1, LOCAL_ISS + 1, ts_val=4300, ts_ecr=500))
    with pytest.raises(ValueError, match="not a fresh half-open"):
        Request(c, SYN, 0.5)


def test_a_request_is_small() -> None:
    import sys

    assert sys.getsizeof(Request(child(), SYN, 0.5)) <= 160
