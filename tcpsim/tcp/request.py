"""A half-open passive connection kept small, as Linux keeps a ``request_sock``.

A listener's child in SYN_RCVD that has heard nothing since the SYN needs no
buffers, no congestion state and no timers dict: only the SYN it answered,
its own ISN and the SYN-ACK retransmission timer. :class:`Request` holds just
that. When anything arrives for it the adapter calls :meth:`Request.promote`
and hands the segment to the full :class:`~tcpsim.tcp.connection.Connection`
it gets back, which is exactly the TCB the listener made (same fields, same
timer), so every rule of SYN_RCVD still comes from one place. The SYN-ACK
timer runs the same way: the request is promoted, the TCB's own timer code
runs, and what is left is folded back into the request.

A SYN flood that fills a listen queue then costs a few hundred bytes per
entry rather than a whole TCB.
"""

from __future__ import annotations

from tcpsim.tcp.config import TcpConfig
from tcpsim.tcp.connection import Connection, Output, TimerKind
from tcpsim.tcp.state import State
from tcpsim.wire.segment import Segment

_SYN_RCVD = State.SYN_RCVD
_MASK = (1 << 32) - 1


class Request:
    """A passive child in SYN_RCVD, its SYN-ACK sent, nothing received since the SYN."""

    __slots__ = ("cfg", "laddr", "lport", "raddr", "rport", "iss", "syn", "created", "rto", "retransmits",
                 "syn_retries", "deadline", "state")

    passive = True
    orphan = False
    keepalive = False
    app = ""

    def __init__(self, c: Connection, syn: Segment, created: float) -> None:
        if c.state is not _SYN_RCVD or not c.passive or c.segs_in or c.snd_buf or c.wr_shut:
            raise ValueError(f"{c.name}: not a fresh half-open passive connection ({c.state})")
        self.cfg: TcpConfig = c.cfg
        self.laddr = c.laddr
        self.lport = c.lport
        self.raddr = c.raddr
        self.rport = c.rport
        self.iss = c.iss
        self.syn = syn
        self.created = created
        self.rto = c.rto
        self.retransmits = c.retransmits
        self.syn_retries = c.syn_retries
        self.deadline: float | None = c.timers.get(TimerKind.RETRANSMIT)
        self.state = c.state

    @property
    def name(self) -> str:
        return f"{self.laddr}:{self.lport}>{self.raddr}:{self.rport}"

    @property
    def snd_nxt(self) -> int:
        return (self.iss + 1) & _MASK

    def __repr__(self) -> str:
        return f"<Request {self.name} {self.state}>"

    def promote(self) -> Connection:
        """The full TCB this request stands for, as the listener made it, timer included."""
        c, _ = Connection.from_syn(self.cfg, self.laddr, self.raddr, self.syn, self.iss, self.created)
        c.rto = self.rto
        c.retransmits = self.retransmits
        c.syn_retries = self.syn_retries
        c.timers.clear()
        if self.deadline is not None:
            c.timers[TimerKind.RETRANSMIT] = self.deadline
        return c

    def next_deadline(self) -> float | None:
        return self.deadline

    def on_timer(self, now: float) -> Output:
        """The SYN-ACK timer: what the full TCB does (retransmit, or give up), then fold back."""
        if self.state is not _SYN_RCVD or self.deadline is None or now < self.deadline:
            return Output()
        c = self.promote()
        out = c.on_timer(now)
        self.state = c.state
        self.rto = c.rto
        self.retransmits = c.retransmits
        self.deadline = c.timers.get(TimerKind.RETRANSMIT)
        return out

    def drop_request(self, now: float, cause: str) -> Output:
        c = self.promote()
        out = c.drop_request(now, cause)
        self.state = c.state
        self.deadline = None
        return out

    def on_icmp(self, now: float, errno: str, quoted_seq: int | None = None) -> Output:
        return Output()  # a soft error for nobody: the request has no socket yet

    def close(self, now: float) -> Output:
        return Output()

    def abort(self, now: float, cause: str = "") -> Output:
        return Output()


__all__ = ["Request"]
