"""TIME_WAIT without the TCB: what a closed socket's connection keeps for 2MSL.

Linux replaces a full socket that enters TIME_WAIT after close() by a small
``inet_timewait_sock`` holding the 4-tuple, the two sequence numbers, the
window and the timestamp state, and runs ``tcp_timewait_state_process()`` on
what arrives. :class:`TimeWait` is that object here. It answers exactly as a
:class:`~tcpsim.tcp.connection.Connection` in TIME_WAIT does (RFC 9293
§3.10.7.4 with RFC 5961 and Linux's SYN reuse), so the adapter can swap one
for the other once the application has let go of the socket; a server piling
up thousands of TIME_WAIT entries then costs a few hundred bytes each.

Its 2MSL deadline is kept in ``deadline``; ``next_deadline`` returns it like a
TCB's does, but an adapter holding many of them may queue them itself in
deadline order (they all last the same) and call :meth:`on_timer` when due.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpsim.tcp import seq as sq
from tcpsim.tcp.config import TcpConfig
from tcpsim.tcp.connection import Event, Output, TimerKind
from tcpsim.tcp.state import TRANSITIONS, State, TransitionError
from tcpsim.wire.segment import ACK, FIN, RST, SYN, Segment

if TYPE_CHECKING:
    from tcpsim.tcp.connection import Connection

_MASK = sq.MASK
_TW = State.TIME_WAIT
_CLOSED = State.CLOSED


class TimeWait:
    """A connection in TIME_WAIT whose socket was closed (an orphan)."""

    __slots__ = ("cfg", "laddr", "lport", "raddr", "rport", "state", "snd_nxt", "rcv_nxt", "rcv_wscale",
                 "win_field", "ts_ok", "ts_recent", "last_rcv", "deadline", "queued", "app")

    # What the adapter and the views read off any connection object.
    passive = False
    orphan = True
    keepalive = False

    def __init__(self, c: Connection, app: str = "") -> None:
        if c.state is not _TW:
            raise ValueError(f"{c.name}: not in TIME_WAIT ({c.state})")
        self.cfg: TcpConfig = c.cfg
        self.laddr = c.laddr
        self.lport = c.lport
        self.raddr = c.raddr
        self.rport = c.rport
        self.state = _TW
        self.snd_nxt = c.snd_nxt
        self.rcv_nxt = c.rcv_nxt
        self.win_field = c._window_field()
        self.rcv_wscale = c.rcv_wscale  # RCV.WND is win_field << rcv_wscale: one int fewer to keep
        self.ts_ok = c.ts_ok
        self.ts_recent = c.ts_recent if c.ts_ok else 0
        self.last_rcv = c.last_rcv
        dl = c.timers.get(TimerKind.TIME_WAIT)
        if dl is None:
            raise ValueError(f"{c.name}: TIME_WAIT without its 2MSL timer")
        self.deadline: float | None = dl
        self.queued: float | None = None  # the deadline an adapter last queued this entry for
        self.app = app

    @property
    def rcv_wnd(self) -> int:
        return self.win_field << self.rcv_wscale

    @property
    def name(self) -> str:
        """``local>remote``, as the TCB was called (made when asked: the trace keeps it if it needs it)."""
        return f"{self.laddr}:{self.lport}>{self.raddr}:{self.rport}"

    def __repr__(self) -> str:
        return f"<TimeWait {self.name} {self.state}>"

    # -------------------------------------------------------------- helpers

    def _ack(self, now: float, out: Output) -> None:
        seg = Segment(self.lport, self.rport, self.snd_nxt, self.rcv_nxt, ACK, self.win_field)
        if self.ts_ok:
            seg.ts_val = int(now * 1000) & _MASK  # Linux's millisecond TS clock
            seg.ts_ecr = self.ts_recent
        out.segments.append(seg)

    def _close(self, out: Output, cause: str, rfc: str, detail: str = "") -> None:
        old = self.state
        if (old, _CLOSED) not in TRANSITIONS:
            raise TransitionError(f"{self.name}: {old} -> {_CLOSED} ({cause})")
        self.state = _CLOSED
        self.deadline = None
        out.transitions.append((old, _CLOSED, cause, rfc))
        out.events.append((Event.CLOSED, ""))
        if detail:
            out.events.append((Event.CLOSED, detail))

    def _restart(self, now: float) -> None:
        self.deadline = now + self.cfg.time_wait

    def next_deadline(self) -> float | None:
        return self.deadline

    # -------------------------------------------------------------- inputs

    def on_segment(self, now: float, seg: Segment) -> Output:
        """SEGMENT ARRIVES in TIME_WAIT (RFC 9293 §3.10.7.4; Linux tcp_timewait_state_process())."""
        out = Output()
        if self.state is not _TW:
            return out
        flags = seg.flags
        rcv_nxt = self.rcv_nxt
        if flags & SYN and not flags & (RST | ACK) and sq.gt(seg.seq, rcv_nxt):
            # A new SYN above the old sequence space may reuse the 4-tuple.
            self._close(out, "new SYN for this 4-tuple in TIME_WAIT: old connection retired",
                        "RFC 9293 §3.10.7.4 (RFC 6191)", "reuse")
            return out
        # First, check the sequence number.
        seg_len = seg.seg_len
        wnd = self.win_field << self.rcv_wscale
        d = (seg.seq - rcv_nxt) & _MASK
        if seg_len == 0:
            ok = seg.seq == rcv_nxt if wnd == 0 else d < wnd
        elif wnd == 0:
            ok = False
        else:
            ok = d < wnd or ((seg.seq + seg_len - 1 - rcv_nxt) & _MASK) < wnd
        if not ok:
            if flags & RST:
                return out
            self._ack(now, out)
            if flags & FIN:
                self._restart(now)  # a retransmitted FIN: re-ACK and restart 2MSL
            return out
        # Second, the RST bit (RFC 5961 §3.2).
        if flags & RST:
            if seg.seq != rcv_nxt:
                self._ack(now, out)  # challenge ACK
            else:
                self._close(out, f"RST received in {_TW}", "RFC 9293 §3.10.7.4")
            return out
        # Fourth, the SYN bit (RFC 5961 §4.2): a challenge ACK.
        if flags & SYN:
            self._ack(now, out)
            return out
        # Fifth, the ACK field.
        if not flags & ACK:
            return out
        self.last_rcv = now
        if self.ts_ok and seg.ts_val is not None and sq.le(seg.seq, rcv_nxt):
            self.ts_recent = seg.ts_val
        if flags & FIN:
            self._ack(now, out)
            self._restart(now)
        return out

    def on_timer(self, now: float) -> Output:
        out = Output()
        dl = self.deadline
        if self.state is _TW and dl is not None and now >= dl:
            out.fired.append(TimerKind.TIME_WAIT)
            self._close(out, "TIME_WAIT timer (2MSL) expired", "RFC 9293 §3.10.8")
        return out

    def abort(self, now: float, cause: str = "abort()") -> Output:
        out = Output()
        if self.state is _TW:
            self._close(out, cause, "RFC 9293 §3.10.5")
        return out

    def kill(self, cause: str, rfc: str) -> Output:
        """Destroy the entry without a word (tcp_tw_reuse, tcp_max_tw_buckets)."""
        out = Output()
        if self.state is _TW:
            self._close(out, cause, rfc)
        return out

    def close(self, now: float) -> Output:
        return Output()

    def on_icmp(self, now: float, errno: str, quoted_seq: int | None = None) -> Output:
        return Output()  # nobody left to tell

    def info(self) -> dict[str, object]:
        return {"state": self.state.value, "snd_una": self.snd_nxt, "snd_nxt": self.snd_nxt,
                "rcv_nxt": self.rcv_nxt, "rcv_wnd": self.rcv_wnd, "recv_q": 0, "send_q": 0}

    @property
    def readable_bytes(self) -> int:
        return 0


__all__ = ["TimeWait"]
