"""The small TIME_WAIT entry answers every segment as the full TCB in TIME_WAIT does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tcpsim.tcp import Connection, State, make_config
from tcpsim.tcp.connection import Output
from tcpsim.tcp.timewait import TimeWait
from tcpsim.wire.segment import Segment
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, T, describe, plain, seg

L1 = LOCAL_ISS + 1
R1 = REMOTE_ISS + 1


def time_wait(cfg: Any = None) -> Connection:
    """Active close: our FIN acked, then theirs at t=1 -> TIME_WAIT until 61 s."""
    t = T(cfg)
    t.established_active()
    t.close()
    t.at(1.0).send(seg("F.", R1, L1 + 1, ts_val=777, ts_ecr=1) if t.c.ts_ok else seg("F.", R1, L1 + 1))
    assert t.state == "TIME_WAIT"
    return t.c


def view(out: Output) -> tuple[Any, ...]:
    return ([describe(s) + (s.ts_val, s.ts_ecr) for s in out.segments],
            [(a.value, b.value, cause) for a, b, cause, _ in out.transitions],
            [(e.value, d) for e, d in out.events], [k.value for k in out.fired])


# (time, segment) scripts fed to both; each ends in some observable state.
SCRIPTS: dict[str, list[tuple[float, Segment]]] = {
    "retransmitted FIN: re-ACK, 2MSL restarts": [(30.0, seg("F.", R1, L1 + 1))],
    "old duplicate data: ACK": [(2.0, seg("P.", R1 - 10, L1 + 1, data=b"0123456789"))],
    "RST in window": [(2.0, seg("R", R1 + 1))],
    "RST off rcv_nxt: challenge ACK": [(2.0, seg("R", R1 + 5))],
    "RST out of window: ignored": [(2.0, seg("R", R1 + 10_000_000))],
    "new SYN above: retired for reuse": [(5.0, seg("S", R1 + 100_000))],
    "old SYN: challenge ACK": [(5.0, seg("S", R1 - 100))],
    "SYN-ACK: challenge ACK": [(5.0, seg("S.", R1 + 1, L1 + 1))],
    "bare ACK: nothing": [(3.0, seg(".", R1 + 1, L1 + 1))],
    "segment without ACK: nothing": [(3.0, seg("P", R1 + 1, 0, data=b"x"))],
    "two FIN retransmissions": [(20.0, seg("F.", R1, L1 + 1)), (70.0, seg("F.", R1, L1 + 1))],
    "FIN in window (seq = rcv_nxt)": [(4.0, seg("F.", R1 + 1, L1 + 1))],
}


@pytest.mark.parametrize("cfg", [None, "linux"], ids=["plain", "linux-ts-sack-ws"])
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_time_wait_entry_matches_the_full_tcb(name: str, cfg: str | None) -> None:
    conn = time_wait(plain() if cfg is None else make_config(cfg))
    ref = copy.deepcopy(conn)
    tw = TimeWait(conn)
    assert tw.state is State.TIME_WAIT and tw.deadline == 61.0 == ref.next_deadline()
    for when, s in SCRIPTS[name]:
        if tw.state is State.TIME_WAIT and tw.deadline is not None and tw.deadline <= when:
            assert view(tw.on_timer(tw.deadline)) == view(ref.on_timer(tw.deadline))
        assert view(tw.on_segment(when, s)) == view(ref.on_segment(when, s)), name
        assert tw.state is ref.state
        assert tw.next_deadline() == ref.next_deadline()
    # ... and both end the same way when the clock runs out.
    end = tw.next_deadline()
    if end is not None:
        assert view(tw.on_timer(end)) == view(ref.on_timer(end))
        assert tw.state is ref.state is State.CLOSED


def test_time_wait_entry_expires_at_2msl_with_the_timer_named() -> None:
    tw = TimeWait(time_wait())
    assert view(tw.on_timer(60.999)) == ([], [], [], [])
    assert view(tw.on_timer(61.0)) == ([], [("TIME_WAIT", "CLOSED", "TIME_WAIT timer (2MSL) expired")],
                                       [("closed", "")], ["2msl"])
    assert tw.next_deadline() is None


def test_time_wait_entry_is_small() -> None:
    import sys

    tw = TimeWait(time_wait())
    assert sys.getsizeof(tw) <= 200  # slots only: no buffers, no timers dict, no queues


def test_only_a_time_wait_tcb_becomes_an_entry() -> None:
    t = T().established_active()
    with pytest.raises(ValueError, match="not in TIME_WAIT"):
        TimeWait(t.c)
