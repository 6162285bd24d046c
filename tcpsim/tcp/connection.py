"""One TCP connection (one TCB), sans-IO, following RFC 9293 §3.10.

Inputs are the RFC's events (OPEN, SEND, RECEIVE, CLOSE, ABORT, SEGMENT
ARRIVES, timeouts), each a method taking ``now``; each returns an
:class:`Output` holding the segments to send, the events for the
application, the state transitions made (each with its cause) and the timers
that expired. Timers are deadlines kept in ``self.timers``; the adapter asks
:meth:`Connection.next_deadline` and calls :meth:`Connection.on_timer` at or
after it. A late or stale call is harmless: each timer re-checks its deadline.

Where Linux and the RFC differ, the config decides (``TcpConfig``), and the
comment at the branch says which behaviour is which.
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Any

from tcpsim.tcp import seq as sq
from tcpsim.tcp.cc import make_cc
from tcpsim.tcp.config import TcpConfig
from tcpsim.tcp.state import SYNCHRONIZED, TRANSITIONS, State, TransitionError, identity_hash
from tcpsim.wire.segment import ACK, FIN, PSH, RST, SYN, Segment

S = State


class TimerKind(Enum):
    RETRANSMIT = "rto"
    PERSIST = "persist"
    DELACK = "delack"
    KEEPALIVE = "keepalive"
    TIME_WAIT = "2msl"
    FIN_WAIT_2 = "fin_wait_2"


identity_hash(TimerKind)


class Event(Enum):
    """What the application learns from a call's output."""

    CONNECTED = "connected"      # handshake complete (ESTABLISHED reached)
    READABLE = "readable"        # new in-order data in the receive buffer
    EOF = "eof"                  # the peer's FIN arrived: recv() returns 0 once the buffer is empty
    WRITABLE = "writable"        # send-buffer space was freed
    ERROR = "error"              # a hard error (detail: errno name); the TCB is gone
    CLOSED = "closed"            # the TCB was deleted (after an error, or a clean end)
    SOFT_ERROR = "soft_error"    # an ICMP error noted, reported only if the connection times out


identity_hash(Event)


class Output:
    """The result of one call into the core."""

    __slots__ = ("segments", "events", "transitions", "fired")

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.events: list[tuple[Event, str]] = []
        self.transitions: list[tuple[State, State, str, str]] = []
        self.fired: list[TimerKind] = []

    def __repr__(self) -> str:
        return f"Output(segments={self.segments}, events={self.events}, transitions={[(str(a), str(b)) for a, b, _, _ in self.transitions]})"


# States in which the send side may put data or a FIN on the wire.
_SENDING = frozenset({S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK})
# States in which received segment text is accepted (RFC 9293 §3.10.7.4, seventh).
_RECEIVING = frozenset({S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2})

_MAX_QUICKACKS = 16  # Linux TCP_MAX_QUICKACKS
_MASK = sq.MASK
_HALF = sq.HALF


def min_seq(a: int, b: int) -> int:
    return a if sq.le(a, b) else b


def rst_for_closed(seg: Segment) -> Segment | None:
    """The reply to a segment for which no TCB exists (RFC 9293 §3.10.7.1).

    Never answer a RST. If the segment has no ACK, reply ``R.`` with seq 0 and
    ack SEG.SEQ+SEG.LEN; otherwise reply ``R`` with seq SEG.ACK.
    """
    if seg.flags & RST:
        return None
    if seg.flags & ACK:
        return Segment(seg.dport, seg.sport, seg.ack, 0, RST, 0)
    return Segment(seg.dport, seg.sport, 0, sq.add(seg.seq, seg.seg_len), RST | ACK, 0)


class Connection:
    """A TCB. Field names follow RFC 9293 §3.3.1."""

    __slots__ = (
        "cfg", "laddr", "lport", "raddr", "rport", "name", "state", "passive", "orphan",
        "iss", "irs", "snd_una", "snd_nxt", "snd_rtx", "rtx_end", "snd_wnd", "snd_wl1", "snd_wl2", "max_snd_wnd",
        "rcv_nxt", "rcv_wnd", "rcv_cap", "rcv_buf", "ooo", "ooo_fin",
        "snd_buf", "snd_buf_seq", "snd_cap", "fin_pending", "fin_seq", "rd_shut", "wr_shut", "peer_fin",
        "mss", "our_mss", "snd_wscale", "rcv_wscale", "sack_ok", "ts_ok", "ts_recent",
        "cwnd", "ssthresh", "dupacks", "recover", "in_recovery", "cc", "sacked", "high_rxt",
        "srtt", "rttvar", "rto", "retransmits", "rtt_seq", "rtt_time", "retrans_stamp",
        "keepalive", "keep_idle", "keep_intvl", "keep_cnt", "probes_out", "last_rcv",
        "user_timeout", "syn_retries", "nodelay", "soft_error", "error",
        "quickacks", "delack_segs", "ack_pending",
        "timers", "_out", "_stats", "segs_in", "segs_out", "data_in", "sent_times", "snd_sml", "rcvq_time", "rcvq_copied", "rcvq_space",
    )

    def __init__(self, cfg: TcpConfig, laddr: str, lport: int, raddr: str, rport: int, iss: int) -> None:
        self.cfg = cfg
        self.laddr = laddr
        self.lport = lport
        self.raddr = raddr
        self.rport = rport
        self.name = f"{laddr}:{lport}>{raddr}:{rport}"
        self.state = S.CLOSED
        self.passive = False
        self.orphan = False
        self.iss = iss
        self.irs = 0
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_rtx = iss
        self.rtx_end = iss
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_snd_wnd = 0
        self.rcv_nxt = 0
        self.rcv_cap = cfg.syn_window
        self.rcv_wnd = cfg.syn_window
        self.rcv_buf = bytearray()
        self.ooo: dict[int, bytes] = {}
        self.ooo_fin: int | None = None
        self.snd_buf = bytearray()
        self.snd_buf_seq = sq.add(iss, 1)
        self.snd_cap = cfg.wmem[1]
        self.fin_pending = False
        self.fin_seq: int | None = None
        self.rd_shut = False
        self.wr_shut = False
        self.peer_fin = False
        self.our_mss = cfg.mss
        self.mss = 536  # RFC 9293 §3.7.1: the default send MSS when the peer sends no option
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.sack_ok = False
        self.ts_ok = False
        self.ts_recent = 0
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.dupacks = 0
        self.recover = iss
        self.in_recovery = False
        self.cc = make_cc(cfg.congestion_control)
        # SACK scoreboard (RFC 6675): sorted, disjoint (start, end) ranges above SND.UNA.
        self.sacked: list[tuple[int, int]] = []
        self.high_rxt = iss
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = cfg.rto_initial
        self.retransmits = 0
        self.rtt_seq: int | None = None
        self.rtt_time = 0.0
        self.retrans_stamp: float | None = None
        self.keepalive = False
        self.keep_idle = cfg.keepalive_time
        self.keep_intvl = cfg.keepalive_intvl
        self.keep_cnt = cfg.keepalive_probes
        self.probes_out = 0
        self.last_rcv = 0.0
        self.user_timeout = 0.0
        self.syn_retries = 0  # TCP_SYNCNT; 0 = the config's value
        self.nodelay = False
        self.soft_error: str | None = None
        self.error: str | None = None
        self.quickacks = 0
        self.delack_segs = 0
        self.ack_pending = False
        self.timers: dict[TimerKind, float] = {}
        self._out: Output | None = None  # made on the first thing a call outputs (idle TCBs hold none)
        self._stats: dict[str, int] | None = None  # rare counters, made on first use
        self.segs_in = 0
        self.segs_out = 0
        self.data_in = 0  # in-order data segments received (the quick-ACK start looks at it)
        # (end sequence, first transmission time) of each segment in flight: Linux's
        # retrans_stamp is the original send time of the oldest unacknowledged one.
        self.sent_times: deque[tuple[int, float]] | None = None  # made when data is first sent
        self.snd_sml = iss  # end of the last sub-MSS segment sent (Minshall's Nagle)
        # Receive-buffer autotuning (Linux tcp_rcv_space_adjust()): bytes the app read per RTT.
        self.rcvq_time: float | None = None
        self.rcvq_copied = 0
        self.rcvq_space = 0

    # ------------------------------------------------------------------ helpers

    def __repr__(self) -> str:
        return f"<Connection {self.name} {self.state}>"

    def _take(self) -> Output:
        out = self._out
        if out is None:
            return Output()
        self._out = None
        return out

    def _o(self) -> Output:
        out = self._out
        if out is None:
            out = self._out = Output()
        return out

    def _bump(self, name: str, n: int = 1) -> None:
        st = self._stats
        if st is None:
            st = self._stats = {}
        st[name] = st.get(name, 0) + n

    @property
    def stats(self) -> dict[str, int]:
        """Counters of this connection (a snapshot): segments in and out, retransmissions, ..."""
        out = {"retransmits": 0, "segs_out": self.segs_out, "segs_in": self.segs_in, "challenge_acks": 0,
               "dup_acks_in": 0, "fast_retransmits": 0, "timeouts": 0, "data_in": self.data_in}
        if self._stats:
            out.update(self._stats)
        return out

    def _set_state(self, new: State, cause: str, rfc: str = "") -> None:
        """The one place a state changes; the edge must be in the declared table."""
        old = self.state
        if (old, new) not in TRANSITIONS:
            raise TransitionError(f"{self.name}: {old} -> {new} is not a declared transition ({cause})")
        self.state = new
        self._o().transitions.append((old, new, cause, rfc))

    def _event(self, ev: Event, detail: str = "") -> None:
        self._o().events.append((ev, detail))

    def next_deadline(self) -> float | None:
        t = self.timers
        if not t:
            return None
        return min(t.values())

    def _ts_now(self, now: float) -> int:
        # Linux's TCP timestamp clock ticks in milliseconds.
        return int(now * 1000) & 0xFFFFFFFF

    def _window_field(self) -> int:
        """The 16-bit window to announce, and remember what the peer now believes (RCV.WND)."""
        free = self.rcv_cap - len(self.rcv_buf)
        if free < 0:
            free = 0
        ws = self.rcv_wscale
        # Round up to the scale unit, as Linux does, so the right edge never moves left.
        field = (free + (1 << ws) - 1) >> ws if ws else free
        if field > 0xFFFF:
            field = 0xFFFF
        self.rcv_wnd = field << ws
        return field

    def _seg(self, now: float, flags: int, seqno: int, payload: bytes = b"") -> Segment:
        """Build an outgoing segment carrying the current ACK and window."""
        if flags & SYN:
            win = min(self.rcv_cap - len(self.rcv_buf), 0xFFFF)
            self.rcv_wnd = win
        else:
            win = self._window_field()
        seg = Segment(self.lport, self.rport, seqno, self.rcv_nxt if flags & ACK else 0, flags, win, payload)
        if self.ts_ok or (flags & SYN and self.cfg.timestamps and (not flags & ACK or self.ts_ok)):
            seg.ts_val = self._ts_now(now)
            seg.ts_ecr = self.ts_recent if flags & ACK else 0
        if flags & ACK and self.ooo and self.sack_ok:
            seg.sack = self._sack_blocks()
        return seg

    def _send(self, seg: Segment) -> None:
        self.segs_out += 1
        if seg.flags & ACK:
            # Any segment carrying an ACK satisfies a pending delayed ACK.
            self.ack_pending = False
            self.delack_segs = 0
            self.timers.pop(TimerKind.DELACK, None)
        self._o().segments.append(seg)

    def _send_ack(self, now: float) -> None:
        self._send(self._seg(now, ACK, self.snd_nxt))

    def _sack_blocks(self) -> tuple[tuple[int, int], ...]:
        blocks: list[tuple[int, int]] = []
        for start in sorted(self.ooo, key=lambda s: sq.sub(s, self.rcv_nxt)):
            end = sq.add(start, len(self.ooo[start]))
            if blocks and sq.le(start, blocks[-1][1]):
                if sq.gt(end, blocks[-1][1]):
                    blocks[-1] = (blocks[-1][0], end)
            else:
                blocks.append((start, end))
        return tuple(blocks[:3])

    def _syn_options(self, seg: Segment, peer: Segment | None) -> None:
        """Options on our SYN or SYN-ACK (RFC 9293 §3.7.1, RFC 7323, RFC 2018).

        On a SYN-ACK only options the peer offered are echoed.
        """
        cfg = self.cfg
        seg.mss = self.our_mss
        if cfg.sack and (peer is None or peer.sack_ok):
            seg.sack_ok = True
        if not (cfg.timestamps and (peer is None or peer.ts_val is not None)):
            seg.ts_val = None
            seg.ts_ecr = None
        if cfg.window_scaling and (peer is None or peer.wscale is not None):
            seg.wscale = cfg.wscale

    def _negotiate(self, syn: Segment, we_offer_ws: bool) -> None:
        """Apply the options of the peer's SYN or SYN-ACK."""
        cfg = self.cfg
        peer_mss = syn.mss if syn.mss is not None else 536
        self.mss = min(peer_mss, self.our_mss)
        if cfg.window_scaling and we_offer_ws and syn.wscale is not None:
            self.snd_wscale = min(syn.wscale, 14)
            self.rcv_wscale = cfg.wscale
        else:
            self.snd_wscale = 0
            self.rcv_wscale = 0
        self.sack_ok = cfg.sack and syn.sack_ok
        self.ts_ok = cfg.timestamps and syn.ts_val is not None
        if self.ts_ok:
            self.ts_recent = syn.ts_val or 0
            self.mss -= 12  # the timestamp option rides on every segment
        # Receive buffer follows tcp_rmem; the window a SYN can carry is capped at 64 KB.
        if self.rcv_wscale:
            self.rcv_cap = max(cfg.syn_window, self.rcv_cap)
        self.cwnd = cfg.init_cwnd * self.mss

    def _arm(self, kind: TimerKind, deadline: float) -> None:
        self.timers[kind] = deadline

    def _disarm(self, kind: TimerKind) -> None:
        self.timers.pop(kind, None)

    def _arm_rto(self, now: float) -> None:
        rto = self.rto
        if self.user_timeout and self.retrans_stamp is not None and self.state in SYNCHRONIZED:
            # Linux clamps the timer so that TCP_USER_TIMEOUT fires on time.
            left = self.retrans_stamp + self.user_timeout - now
            if left < rto:
                rto = max(left, 0.0)
        self.timers[TimerKind.RETRANSMIT] = now + rto

    def _delete(self, now: float, new: State, cause: str, rfc: str, error: str | None) -> None:
        """Enter CLOSED (or LISTEN for a passive SYN_RCVD) and delete the TCB."""
        self._set_state(new, cause, rfc)
        self.timers.clear()
        if error is not None:
            self.error = error
            self._event(Event.ERROR, error)
        self._event(Event.CLOSED, error or "")

    # ---------------------------------------------------------------- user calls

    def open_active(self, now: float) -> Output:
        """OPEN (active): send SYN, enter SYN_SENT (RFC 9293 §3.10.1)."""
        seg = self._seg(now, SYN, self.iss)
        self._syn_options(seg, None)
        self.snd_nxt = sq.add(self.iss, 1)
        self.snd_rtx = self.rtx_end = self.snd_nxt
        self._set_state(S.SYN_SENT, "connect(): active open, SYN sent", "RFC 9293 §3.10.1")
        self._send(seg)
        self.retrans_stamp = now
        self._arm_rto(now)
        return self._take()

    @classmethod
    def from_syn(cls, cfg: TcpConfig, laddr: str, raddr: str, syn: Segment, iss: int, now: float,
                 cause: str = "SYN received on a listening socket") -> tuple[Connection, Output]:
        """A passive open: the listener's SYN becomes a TCB in SYN_RCVD that sends a SYN-ACK."""
        c = cls(cfg, laddr, syn.dport, raddr, syn.sport, iss)
        c.passive = True
        c.state = S.LISTEN
        c.irs = syn.seq
        c.rcv_nxt = sq.add(syn.seq, 1)
        c.last_rcv = now
        c._negotiate(syn, we_offer_ws=True)
        c.snd_wnd = syn.window  # never scaled in a SYN
        c.max_snd_wnd = c.snd_wnd
        c.snd_wl1 = syn.seq
        c.snd_wl2 = iss
        c._set_state(S.SYN_RCVD, cause, "RFC 9293 §3.10.7.2")
        seg = c._seg(now, SYN | ACK, iss)
        c._syn_options(seg, syn)
        c.snd_nxt = sq.add(iss, 1)
        c.snd_rtx = c.rtx_end = c.snd_nxt
        c._send(seg)
        c.retrans_stamp = now
        c._arm_rto(now)
        return c, c._take()

    @classmethod
    def from_cookie(cls, cfg: TcpConfig, laddr: str, raddr: str, ack: Segment, mss: int,
                    peer_wscale: int | None, sack_ok: bool, now: float) -> Connection:
        """A request rebuilt from a valid SYN cookie, in SYN_RCVD; the caller then feeds it the ACK.

        Only what the cookie carried survives: the MSS (rounded down to the cookie
        table) and, when timestamps were on, the peer's window scale and SACK.
        """
        iss = sq.add(ack.ack, -1)
        c = cls(cfg, laddr, ack.dport, raddr, ack.sport, iss)
        c.passive = True
        c.state = S.LISTEN
        c.irs = sq.add(ack.seq, -1)
        c.rcv_nxt = ack.seq
        c.last_rcv = now
        syn = Segment(ack.sport, ack.dport, c.irs, 0, SYN, ack.window, mss=mss,
                      wscale=peer_wscale if ack.ts_val is not None else None,
                      sack_ok=sack_ok and ack.ts_val is not None, ts_val=ack.ts_val)
        c._negotiate(syn, we_offer_ws=True)
        c.snd_nxt = c.snd_rtx = c.rtx_end = sq.add(iss, 1)
        c.snd_wl1 = c.irs
        c.snd_wl2 = iss
        c._set_state(S.SYN_RCVD, "ACK carries a valid SYN cookie: request rebuilt from it", "Linux cookie_v4_check()")
        return c

    def send(self, now: float, data: bytes) -> tuple[int, Output]:
        """SEND: queue up to the free send-buffer space; returns bytes accepted.

        The socket layer checks the state and reports EPIPE and friends; here
        data is queued in any state where it may later be sent.
        """
        if self.wr_shut or self.state not in (S.SYN_SENT, S.SYN_RCVD, S.ESTABLISHED, S.CLOSE_WAIT):
            return 0, self._take()
        room = self.snd_cap - len(self.snd_buf)
        n = min(room, len(data))
        if n > 0:
            self.snd_buf += data[:n]
            self._output(now)
        return n, self._take()

    def send_space(self) -> int:
        return self.snd_cap - len(self.snd_buf)

    def receive(self, now: float, maxlen: int) -> tuple[bytes, Output]:
        """RECEIVE: take up to ``maxlen`` bytes; a window update follows if it opened a lot."""
        n = min(maxlen, len(self.rcv_buf))
        data = bytes(self.rcv_buf[:n])
        if n:
            before = self.rcv_wnd
            del self.rcv_buf[:n]
            self._rcv_space_adjust(now, n)
            free = self.rcv_cap - len(self.rcv_buf)
            # Receiver-side silly window avoidance (RFC 9293 §3.8.6.2.2): announce
            # the opening only once it reaches min(cap/2, MSS). And, as Linux's
            # tcp_cleanup_rbuf(), send the update only when the window the peer knows
            # is down to half the buffer or less and the read at least doubles it;
            # otherwise the next ACK carries the larger window anyway.
            if self.state in _RECEIVING and free - before >= min(self.rcv_cap // 2, self.mss) \
                    and 2 * before <= self.rcv_cap and free >= 2 * before:
                self._send_ack(now)
        return data, self._take()

    def _rcv_space_adjust(self, now: float, n: int) -> None:
        """Grow the receive window when the app reads more per RTT than it did before
        (dynamic right-sizing, as Linux does up to tcp_rmem[2])."""
        if self.rcvq_time is None:
            self.rcvq_time = now
        self.rcvq_copied += n
        if now - self.rcvq_time < (self.srtt or 0.1):
            return
        copied = self.rcvq_copied
        self.rcvq_time = now
        self.rcvq_copied = 0
        if copied <= self.rcvq_space:
            return
        self.rcvq_space = copied
        cap = min(2 * copied + 16 * self.mss, self.cfg.rmem[2] // 2)
        if not self.rcv_wscale:
            cap = min(cap, 0xFFFF)
        if cap > self.rcv_cap:
            self.rcv_cap = cap

    @property
    def readable_bytes(self) -> int:
        return len(self.rcv_buf)

    def close(self, now: float) -> Output:
        """CLOSE by the application (close(2)): the socket becomes an orphan.

        Unread received data turns the close into a reset (RFC 1122 4.2.2.13,
        Linux tcp_close()).
        """
        st = self.state
        self.orphan = True
        self.rd_shut = True
        if st in (S.CLOSED, S.LISTEN):
            return self._take()
        if st is S.SYN_SENT:
            # RFC 9293 §3.10.4: delete the TCB; nothing is sent.
            self._delete(now, S.CLOSED, "close() in SYN_SENT: TCB deleted, nothing sent", "RFC 9293 §3.10.4", None)
            return self._take()
        if self.rcv_buf or (self.ooo and st in _RECEIVING):
            self._reset_and_close(now, "close() with unread received data: RST instead of FIN",
                                  "RFC 1122 §4.2.2.13", None)
            return self._take()
        self._shutdown_write(now, "close()")
        if self.state is S.FIN_WAIT_2:
            self._arm(TimerKind.FIN_WAIT_2, now + self.cfg.fin_timeout)
        return self._take()

    def shutdown(self, now: float, read: bool, write: bool) -> Output:
        """shutdown(2): SHUT_RD stops reading (data is discarded), SHUT_WR sends FIN."""
        if read:
            self.rd_shut = True
        if write and not self.wr_shut:
            if self.state is S.SYN_SENT:
                # Linux tcp_shutdown() on a SYN_SENT socket: close it.
                self._delete(now, S.CLOSED, "shutdown(SHUT_WR) in SYN_SENT: TCB deleted", "RFC 9293 §3.10.4", None)
            elif self.state in (S.SYN_RCVD, S.ESTABLISHED, S.CLOSE_WAIT):
                self._shutdown_write(now, "shutdown(SHUT_WR)")
        return self._take()

    def _shutdown_write(self, now: float, why: str) -> None:
        st = self.state
        if self.wr_shut:
            return
        self.wr_shut = True
        self.fin_pending = True
        self.fin_seq = sq.add(self.snd_buf_seq, len(self.snd_buf))
        if st in (S.ESTABLISHED, S.SYN_RCVD):
            self._set_state(S.FIN_WAIT_1, f"{why}: FIN queued after any pending data", "RFC 9293 §3.10.4")
        elif st is S.CLOSE_WAIT:
            self._set_state(S.LAST_ACK, f"{why} after the peer's FIN: FIN queued", "RFC 9293 §3.10.4")
        else:
            return
        self._output(now)

    def abort(self, now: float, cause: str = "abort(): SO_LINGER 0 or ABORT call") -> Output:
        """ABORT (RFC 9293 §3.10.5): RST in synchronized states and SYN_RCVD, then delete."""
        st = self.state
        if st in (S.CLOSED, S.LISTEN):
            return self._take()
        if st is S.SYN_SENT or st is S.TIME_WAIT:
            self._delete(now, S.CLOSED, cause, "RFC 9293 §3.10.5", None)
            return self._take()
        self._reset_and_close(now, cause, "RFC 9293 §3.10.5", None)
        return self._take()

    def kill(self, cause: str, rfc: str) -> Output:
        """Destroy a TIME_WAIT TCB without a word (tcp_tw_reuse, tcp_max_tw_buckets)."""
        if self.state is S.TIME_WAIT:
            self._set_state(S.CLOSED, cause, rfc)
            self.timers.clear()
            self._event(Event.CLOSED, "")
        return self._take()

    def drop_request(self, now: float, cause: str) -> Output:
        """Discard a half-open passive request without a word (its listener went away)."""
        if self.state is S.SYN_RCVD and self.passive:
            self._set_state(S.LISTEN, cause, "RFC 9293 §3.10.7.4")
            self.timers.clear()
            self._event(Event.CLOSED, "")
        return self._take()

    def _reset_and_close(self, now: float, cause: str, rfc: str, error: str | None) -> None:
        # An RST carries SND.NXT and, like Linux's active resets, an ACK of what we have.
        self._send(Segment(self.lport, self.rport, self.snd_nxt, self.rcv_nxt, RST | ACK, 0))
        self._delete(now, S.CLOSED, cause, rfc, error)

    def set_keepalive(self, now: float, on: bool, from_last_rcv: bool = False) -> Output:
        """SO_KEEPALIVE starts the idle period now (Linux tcp_set_keepalive); a new
        TCP_KEEPIDLE on a running timer counts it from the last segment received
        (``from_last_rcv``, Linux tcp_sock_set_keepidle_locked)."""
        self.keepalive = on
        if on and self.state in SYNCHRONIZED and self.state is not S.TIME_WAIT:
            start = self.last_rcv if from_last_rcv else max(self.last_rcv, now)
            self._arm(TimerKind.KEEPALIVE, max(now, start + self.keep_idle))
        elif not on:
            self._disarm(TimerKind.KEEPALIVE)
        return self._take()

    # ----------------------------------------------------------- ICMP (RFC 1122)

    def on_icmp(self, now: float, errno: str, quoted_seq: int | None = None) -> Output:
        """An ICMP error about one of our segments, already mapped to an errno name.

        In SYN_SENT (and an active SYN_RCVD) it is fatal at once, as in Linux's
        tcp_v4_err(); on a synchronized connection it is a soft error, reported
        only if the connection later times out (RFC 1122 4.2.3.9).
        """
        if quoted_seq is not None and not sq.between(self.snd_una, quoted_seq, self.snd_nxt):
            # Not a segment in flight, SYN_SENT included: ignore (RFC 5927 §4.1; Linux
            # tcp_v4_err counts OutOfWindowIcmps for every state but LISTEN).
            return self._take()
        if self.state is S.SYN_SENT or (self.state is S.SYN_RCVD and not self.passive):
            self._delete(now, S.CLOSED, f"ICMP error {errno} while connecting", "RFC 1122 §4.2.3.9", errno)
        else:
            self.soft_error = errno
            self._event(Event.SOFT_ERROR, errno)
        return self._take()

    # --------------------------------------------------------------- timers

    def on_timer(self, now: float) -> Output:
        """Run every timer whose deadline has passed, in a fixed order."""
        timers = self.timers
        for kind in (TimerKind.TIME_WAIT, TimerKind.FIN_WAIT_2, TimerKind.RETRANSMIT, TimerKind.PERSIST,
                     TimerKind.KEEPALIVE, TimerKind.DELACK):
            dl = timers.get(kind)
            if dl is None or now < dl:
                continue
            del timers[kind]
            self._o().fired.append(kind)
            if kind is TimerKind.RETRANSMIT:
                self._on_rto(now)
            elif kind is TimerKind.TIME_WAIT:
                self._delete(now, S.CLOSED, "TIME_WAIT timer (2MSL) expired", "RFC 9293 §3.10.8", None)
            elif kind is TimerKind.FIN_WAIT_2:
                if self.state is S.FIN_WAIT_2:
                    self._delete(now, S.CLOSED, "FIN_WAIT_2 timeout of an orphaned socket (tcp_fin_timeout)",
                                 "Linux tcp_fin_timeout", None)
            elif kind is TimerKind.KEEPALIVE:
                self._on_keepalive(now)
            elif kind is TimerKind.PERSIST:
                self._on_persist(now)
            elif kind is TimerKind.DELACK and self.ack_pending and self.state in SYNCHRONIZED:
                self._send_ack(now)
            if self.state is S.CLOSED or self.state is S.LISTEN:
                break
        return self._take()

    def _head_sent_time(self, now: float) -> float:
        st = self.sent_times
        return st[0][1] if st else now

    def _model_timeout(self, boundary: int, rto_base: float) -> float:
        """Linux tcp_model_timeout(): how long ``boundary`` back-offs from ``rto_base`` take."""
        rto_max = self.cfg.rto_max
        thresh = int(rto_max / rto_base).bit_length() - 1
        if boundary <= thresh:
            return ((2 << boundary) - 1) * rto_base
        return ((2 << thresh) - 1) * rto_base + (boundary - thresh) * rto_max

    def _timed_out(self, now: float) -> bool:
        cfg = self.cfg
        st = self.state
        if st is S.SYN_SENT or st is S.SYN_RCVD:
            if self.passive:
                limit = self.syn_retries or cfg.synack_retries
            else:
                limit = self.syn_retries or cfg.syn_retries
                if st is S.SYN_SENT:
                    limit += cfg.syn_linear_timeouts
            return self.retransmits >= limit
        if self.retransmits == 0:
            return False
        if self.user_timeout:
            return self.retrans_stamp is not None and now - self.retrans_stamp >= self.user_timeout - 1e-9
        boundary = cfg.orphan_retry_count if self.orphan else cfg.retries2
        if cfg.retries_mode == "count":
            return self.retransmits >= boundary
        assert self.retrans_stamp is not None
        # Compare in whole milliseconds, as the kernel's timestamps are.
        elapsed = round((now - self.retrans_stamp) * 1000)
        return elapsed >= round(self._model_timeout(boundary, cfg.rto_min) * 1000)

    def _on_rto(self, now: float) -> None:
        st = self.state
        if st not in (S.SYN_SENT, S.SYN_RCVD) and st not in _SENDING:
            return
        if sq.le(self.snd_nxt, self.snd_una):
            return  # nothing outstanding
        if self.retrans_stamp is None:
            self.retrans_stamp = self._head_sent_time(now)
        if self._timed_out(now):
            errno = self.soft_error or "ETIMEDOUT"
            if st is S.SYN_RCVD and self.passive:
                self._delete(now, S.CLOSED, "SYN-ACK retransmissions exhausted (tcp_synack_retries): request dropped",
                             "Linux tcp_synack_retries", None)
            elif st is S.SYN_SENT:
                self._delete(now, S.CLOSED, "SYN retransmissions exhausted: connect() fails", "RFC 9293 §3.8.3", errno)
            else:
                self._delete(now, S.CLOSED, "retransmission timeout: too many retransmissions", "RFC 9293 §3.8.3 (R2)", errno)
            return
        self.retransmits += 1
        self._bump("retransmits")
        self._bump("timeouts")
        self.rtt_seq = None  # Karn: no RTT sample from a retransmitted segment
        cfg = self.cfg
        if st is S.SYN_SENT:
            if self.retransmits > cfg.syn_linear_timeouts:
                self.rto = min(self.rto * 2, cfg.rto_max)
            seg = self._seg(now, SYN, self.iss)
            self._syn_options(seg, None)
            self._send(seg)
        elif st is S.SYN_RCVD:
            self.rto = min(self.rto * 2, cfg.rto_max)
            seg = self._seg(now, SYN | ACK, self.iss)
            self._syn_options(seg, _PeerOpts(self))
            self._send(seg)
        else:
            self.rto = min(self.rto * 2, cfg.rto_max)
            # RFC 5681 §3.1 (4): after an RTO the loss window is one segment.
            if self.retransmits == 1:
                # RFC 5681 §3.1: ssthresh falls once; later back-offs of the same loss keep it.
                self.ssthresh = self.cc.ssthresh_on_loss(self, now)
            self.cwnd = self.mss
            self.cc.on_rto(self, now)
            self.dupacks = 0
            self.in_recovery = False
            self.recover = self.snd_nxt
            self.snd_rtx = self.snd_una
            self.rtx_end = self.snd_nxt
            self._output(now, force_one=True)
        self._arm_rto(now)

    def _on_keepalive(self, now: float) -> None:
        """Linux tcp_keepalive_timer(): probe after idle, then every interval; give up after the count."""
        if not self.keepalive or self.state not in SYNCHRONIZED or self.state is S.TIME_WAIT:
            return
        if sq.gt(self.snd_nxt, self.snd_una) or self.snd_buf_unsent() > 0:
            # Data is outstanding: the retransmission timer watches the peer instead.
            self._arm(TimerKind.KEEPALIVE, now + self.keep_idle)
            return
        elapsed = now - self.last_rcv
        if elapsed + 1e-9 >= self.keep_idle:
            if self.probes_out >= self.keep_cnt or (
                self.user_timeout and self.probes_out > 0 and elapsed >= self.user_timeout
            ):
                errno = self.soft_error or "ETIMEDOUT"
                self._reset_and_close(now, f"keepalive: {self.probes_out} probes unanswered", "RFC 1122 §4.2.3.6", errno)
                return
            # A probe is a bare ACK one below SND.NXT, which forces the peer to answer.
            self._send(self._seg(now, ACK, sq.add(self.snd_nxt, -1)))
            self.probes_out += 1
            self._arm(TimerKind.KEEPALIVE, now + self.keep_intvl)
        else:
            self._arm(TimerKind.KEEPALIVE, self.last_rcv + self.keep_idle)

    def _on_persist(self, now: float) -> None:
        """Zero-window probe (RFC 9293 §3.8.6.1), sent as Linux does: seq SND.UNA-1, no data."""
        if self.state not in _SENDING or self.snd_wnd > 0 or self.snd_buf_unsent() == 0:
            return
        self._send(self._seg(now, ACK, sq.add(self.snd_una, -1)))
        self.retransmits += 1
        self.rto = min(self.rto * 2, self.cfg.rto_max)
        self._arm(TimerKind.PERSIST, now + self.rto)

    # ----------------------------------------------------------- sending data

    def snd_buf_unsent(self) -> int:
        return len(self.snd_buf) - sq.sub(self.snd_nxt, self.snd_buf_seq) if sq.ge(self.snd_nxt, self.snd_buf_seq) else len(self.snd_buf)

    def _output(self, now: float, force_one: bool = False, new_one: bool = False) -> None:
        """Send what the windows allow: retransmissions first, then new data, then the FIN.

        ``snd_rtx``..``rtx_end`` is the range still to be retransmitted (all of
        the flight after an RTO, one segment after a fast retransmit or a
        partial ACK). ``force_one`` sends one retransmission even into a
        closed window, as a timeout must.
        """
        if self.state not in _SENDING:
            return
        if self.in_recovery and self.sack_ok and not (force_one or new_one):
            self._sack_output(now)
            return
        buf_seq = self.snd_buf_seq
        buf_end = (buf_seq + len(self.snd_buf)) & _MASK
        fin_seq = self.fin_seq
        snd_nxt = self.snd_nxt
        if (not force_one and ((self.snd_rtx - self.rtx_end) & _MASK == 0 or new_one)
                and ((buf_end - snd_nxt) & _MASK == 0 or (buf_end - snd_nxt) & _MASK >= _HALF)
                and (fin_seq is None or snd_nxt != fin_seq or not self.fin_pending)):
            return  # the common case on an ACK: nothing to retransmit, no new data, no FIN due
        mss = self.mss
        wnd = self.snd_wnd + sq.sub(self.snd_nxt, self.snd_una) if new_one else min(self.snd_wnd, self.cwnd)
        while True:
            retrans = not new_one and sq.lt(self.snd_rtx, self.rtx_end)
            if retrans and self.sacked and not force_one:
                # After a timeout, go back N but skip what the peer has SACKed.
                for a, b in self.sacked:
                    if sq.le(a, self.snd_rtx) and sq.lt(self.snd_rtx, b):
                        self.snd_rtx = b
                        break
                retrans = sq.lt(self.snd_rtx, self.rtx_end)
            start = self.snd_rtx if retrans else self.snd_nxt
            limit_end = self.rtx_end if retrans else buf_end
            if fin_seq is not None and sq.lt(fin_seq, limit_end):
                limit_end = fin_seq
            n = sq.sub(limit_end, start)
            if n > mss:
                n = mss
            if n < 0:
                n = 0
            end = sq.add(start, n)
            if fin_seq is None or end != fin_seq or not self.fin_pending:
                fin = False
            elif retrans:
                fin = sq.lt(fin_seq, self.rtx_end)
            else:
                fin = sq.le(self.snd_nxt, fin_seq)
            if n == 0 and not fin:
                return
            in_flight = sq.sub(start, self.snd_una)
            usable = wnd - in_flight
            if n > usable and not (force_one and retrans):
                if not retrans and self.snd_wnd == 0 and in_flight == 0:
                    # Zero window: the persist timer will probe (RFC 9293 §3.8.6.1).
                    if TimerKind.PERSIST not in self.timers:
                        self._arm(TimerKind.PERSIST, now + self.rto)
                    return
                if usable <= 0 or (not retrans and usable < mss and sq.sub(buf_end, start) > usable):
                    # Sender-side SWS avoidance: wait for room for a full segment.
                    return
                n = usable
                end = sq.add(start, n)
                fin = False
            if (not retrans and 0 < n < mss and not fin and not self.nodelay and in_flight > 0
                    and (not self.cfg.nagle_minshall or sq.lt(self.snd_una, self.snd_sml))):
                # Nagle (RFC 896): hold a small segment while data is unacknowledged; Linux
                # (Minshall's variant) holds it only while another small segment is.
                return
            flags = ACK
            if n and end == buf_end:
                flags |= PSH
            if fin:
                flags |= FIN
            if n:
                off = sq.sub(start, buf_seq)
                payload = bytes(self.snd_buf[off:off + n])
            else:
                payload = b""
            self._send(self._seg(now, flags, start, payload))
            seg_end = sq.add(end, 1) if fin else end
            if retrans:
                self.snd_rtx = seg_end
                if self.retrans_stamp is None:
                    self.retrans_stamp = self._head_sent_time(now)
            else:
                st_q = self.sent_times
                if st_q is None:
                    st_q = self.sent_times = deque()
                st_q.append((seg_end, now))
                if n < mss:
                    self.snd_sml = seg_end
                if self.rtt_seq is None and self.retransmits == 0:
                    self.rtt_seq = seg_end
                    self.rtt_time = now
                self.snd_nxt = seg_end
                self.snd_rtx = seg_end
                self.rtx_end = seg_end
            if TimerKind.RETRANSMIT not in self.timers:
                self._arm_rto(now)
            if fin or force_one or new_one:
                return

    # --------------------------------------------------------- segment arrives

    def on_segment(self, now: float, seg: Segment) -> Output:
        """SEGMENT ARRIVES for this TCB (RFC 9293 §3.10.7.3 and §3.10.7.4)."""
        self.segs_in += 1
        st = self.state
        if st is S.SYN_SENT:
            self._seg_syn_sent(now, seg)
        elif st is S.CLOSED or st is S.LISTEN:
            rst = rst_for_closed(seg)
            if rst is not None:
                self._o().segments.append(rst)
        else:
            self._seg_other(now, seg)
        return self._take()

    def _seg_syn_sent(self, now: float, seg: Segment) -> None:
        flags = seg.flags
        ack_ok = False
        # First, check the ACK bit.
        if flags & ACK:
            if sq.le(seg.ack, self.iss) or sq.gt(seg.ack, self.snd_nxt):
                if not flags & RST:
                    self._send(Segment(self.lport, self.rport, seg.ack, 0, RST, 0))
                return
            ack_ok = True
        # Second, check the RST bit.
        if flags & RST:
            if ack_ok:
                self._delete(now, S.CLOSED, "RST acknowledging our SYN: connection refused", "RFC 9293 §3.10.7.3",
                             "ECONNREFUSED")
            return
        # Fourth, check the SYN bit.
        if not flags & SYN:
            return
        self.irs = seg.seq
        self.rcv_nxt = sq.add(seg.seq, 1)
        self.last_rcv = now
        self._negotiate(seg, we_offer_ws=self.cfg.window_scaling)
        if ack_ok:
            self.snd_una = seg.ack
            self.snd_wnd = seg.window  # the window in a SYN is never scaled (RFC 7323 §2.2)
            self.max_snd_wnd = self.snd_wnd
            self.snd_wl1 = seg.seq
            self.snd_wl2 = seg.ack
            self._rtt_sample(now, seg)
            self.retransmits = 0
            self.retrans_stamp = None
            self._disarm(TimerKind.RETRANSMIT)
            self._set_state(S.ESTABLISHED, "SYN-ACK received acknowledging our SYN", "RFC 9293 §3.10.7.3")
            self._event(Event.CONNECTED)
            self._send_ack(now)
            if self.keepalive:
                self._arm(TimerKind.KEEPALIVE, now + self.keep_idle)
            self._output(now)
        else:
            # Simultaneous open: answer with SYN-ACK carrying our original ISN.
            self.snd_wnd = seg.window
            self.max_snd_wnd = self.snd_wnd
            self.snd_wl1 = seg.seq
            self.snd_wl2 = self.iss
            self._set_state(S.SYN_RCVD, "SYN received in SYN_SENT: simultaneous open", "RFC 9293 §3.10.7.3")
            reply = self._seg(now, SYN | ACK, self.iss)
            self._syn_options(reply, seg)
            self._send(reply)
            self._arm_rto(now)

    def _acceptable(self, seg: Segment, seg_len: int) -> bool:
        """RFC 9293 §3.10.7.4 first: the four cases of the acceptability test."""
        wnd = self.rcv_wnd
        rcv_nxt = self.rcv_nxt
        d = (seg.seq - rcv_nxt) & sq.MASK
        if seg_len == 0:
            if wnd == 0:
                return seg.seq == rcv_nxt
            return d < wnd
        if wnd == 0:
            return False
        if d < wnd:
            return True
        d_end = (seg.seq + seg_len - 1 - rcv_nxt) & sq.MASK
        return d_end < wnd

    def _challenge_ack(self, now: float) -> None:
        """RFC 5961 §3.2 / §4.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
        self._bump("challenge_acks")
        self._send_ack(now)

    def _seg_other(self, now: float, seg: Segment) -> None:
        st = self.state
        flags = seg.flags
        seg_len = seg.seg_len

        if st is S.TIME_WAIT and flags & SYN and not flags & (RST | ACK) and sq.gt(seg.seq, self.rcv_nxt):
            # Linux tcp_timewait_state_process(): a new SYN above the old sequence
            # space may reuse the 4-tuple; the TIME_WAIT socket gives way.
            self._delete(now, S.CLOSED, "new SYN for this 4-tuple in TIME_WAIT: old connection retired",
                         "RFC 9293 §3.10.7.4 (RFC 6191)", None)
            self._event(Event.CLOSED, "reuse")
            return

        if st is S.SYN_RCVD and self.passive and flags & SYN and not flags & ACK and seg.seq == self.irs:
            # Linux tcp_check_req(): a retransmitted SYN gets the SYN-ACK again, and the
            # SYN-ACK timer restarts from now ("Reset timer after retransmitting SYNACK").
            reply = self._seg(now, SYN | ACK, self.iss)
            self._syn_options(reply, _PeerOpts(self))
            self._send(reply)
            self._arm(TimerKind.RETRANSMIT, now + self.rto)
            return

        if (st is S.SYN_RCVD and not self.passive and flags & SYN and flags & ACK
                and sq.add(seg.seq, 1) == self.rcv_nxt and seg.ack == self.snd_nxt):
            # Simultaneous open (RFC 9293 Figure 8, line 6): the peer's SYN-ACK repeats
            # its SYN and acknowledges ours. Take it as the ACK that completes the handshake.
            seg = Segment(seg.sport, seg.dport, self.rcv_nxt, seg.ack, flags & ~SYN, seg.window, seg.payload,
                          ts_val=seg.ts_val, ts_ecr=seg.ts_ecr)
            flags = seg.flags
            seg_len = seg.seg_len

        # First, check the sequence number.
        if not self._acceptable(seg, seg_len):
            if flags & RST:
                return
            if st is S.TIME_WAIT and flags & FIN:
                # A retransmitted FIN: re-ACK and restart 2MSL (RFC 9293 §3.10.7.4, eighth).
                self._send_ack(now)
                self._arm(TimerKind.TIME_WAIT, now + self.cfg.time_wait)
                return
            if st is S.SYN_RCVD and flags & ACK and not (sq.lt(self.snd_una, seg.ack) and sq.le(seg.ack, self.snd_nxt)):
                self._send(Segment(self.lport, self.rport, seg.ack, 0, RST, 0))
                return
            self._send_ack(now)
            return

        # Second, check the RST bit (RFC 5961 §3.2).
        if flags & RST:
            if seg.seq != self.rcv_nxt:
                self._challenge_ack(now)
                return
            if st is S.SYN_RCVD:
                if self.passive:
                    self._set_state(S.LISTEN, "RST in SYN_RCVD (passive open): back to LISTEN, request discarded",
                                    "RFC 9293 §3.10.7.4")
                    self.timers.clear()
                    self._event(Event.CLOSED, "")
                else:
                    self._delete(now, S.CLOSED, "RST in SYN_RCVD (active open): connection refused",
                                 "RFC 9293 §3.10.7.4", "ECONNREFUSED")
                return
            if st in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
                # Linux tcp_reset(): after the peer's FIN the error is EPIPE, not ECONNRESET.
                self._delete(now, S.CLOSED, "RST received: connection reset by peer", "RFC 9293 §3.10.7.4",
                             "EPIPE" if st is S.CLOSE_WAIT else "ECONNRESET")
                return
            self._delete(now, S.CLOSED, f"RST received in {st}", "RFC 9293 §3.10.7.4", None)
            return

        # Fourth, check the SYN bit (RFC 5961 §4: challenge ACK, whatever the sequence number).
        if flags & SYN:
            if st is S.SYN_RCVD and self.passive:
                self._set_state(S.LISTEN, "SYN in SYN_RCVD (passive open): back to LISTEN", "RFC 9293 §3.10.7.4")
                self.timers.clear()
                self._event(Event.CLOSED, "")
                return
            self._challenge_ack(now)
            return

        # Fifth, check the ACK field.
        if not flags & ACK:
            return
        self.last_rcv = now
        if self.ts_ok and seg.ts_val is not None and sq.le(seg.seq, self.rcv_nxt):
            self.ts_recent = seg.ts_val
        if st is S.SYN_RCVD:
            if sq.lt(self.snd_una, seg.ack) and sq.le(seg.ack, self.snd_nxt):
                self.snd_una = seg.ack
                self.snd_wnd = seg.window << self.snd_wscale
                self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
                self.snd_wl1 = seg.seq
                self.snd_wl2 = seg.ack
                self._rtt_sample(now, seg)
                self.retransmits = 0
                self.retrans_stamp = None
                self.rto = self._computed_rto()
                self._disarm(TimerKind.RETRANSMIT)
                self._set_state(S.ESTABLISHED, "ACK of our SYN-ACK received: handshake complete", "RFC 9293 §3.10.7.4")
                self._event(Event.CONNECTED)
                if self.keepalive:
                    self._arm(TimerKind.KEEPALIVE, now + self.keep_idle)
                st = self.state
            else:
                self._send(Segment(self.lport, self.rport, seg.ack, 0, RST, 0))
                return
        if st is S.TIME_WAIT:
            if flags & FIN:
                self._send_ack(now)
                self._arm(TimerKind.TIME_WAIT, now + self.cfg.time_wait)
            return
        if not self._process_ack(now, seg):
            return
        st = self.state
        if st is S.CLOSED:
            return

        # Seventh, process the segment text.
        payload = seg.payload
        if payload and st in _RECEIVING:
            if self.orphan and self.rd_shut:
                # Linux tcp_rcv_state_process(): new data for a closed socket is answered
                # with a reset (TCPAbortOnData). The reset answers the segment
                # (tcp_v4_send_reset): <SEQ=SEG.ACK><CTL=RST>, no ACK bit.
                self._send(Segment(self.lport, self.rport, seg.ack, 0, RST, 0))
                self._delete(now, S.CLOSED, "data arrived after close(): RST", "RFC 1122 §4.2.2.13", None)
                return
            self._receive_text(now, seg, ack_later=bool(flags & FIN))
        elif payload and self.peer_fin:
            pass  # text after the peer's FIN is ignored (RFC 9293 §3.10.7.4, seventh)

        # Eighth, check the FIN bit.
        if flags & FIN:
            fin_at = sq.add(seg.seq, len(payload))
            if fin_at == self.rcv_nxt and not self.peer_fin:
                self._receive_fin(now)
            elif sq.gt(fin_at, self.rcv_nxt):
                self.ooo_fin = fin_at
                self._send_ack(now)
            elif self.peer_fin:
                self._send_ack(now)  # a retransmitted FIN: ACK it again
        elif self.ack_pending and not self.timers.get(TimerKind.DELACK):
            self._send_ack(now)

        self._output(now)

    def _receive_text(self, now: float, seg: Segment, ack_later: bool = False) -> None:
        """Accept segment text; ``ack_later`` when a FIN in the same segment will be ACKed."""
        payload = seg.payload
        start = seg.seq
        # Trim what we already have (RFC 9293 §3.10.7.4: segments are trimmed to the window).
        skip = sq.sub(self.rcv_nxt, start)
        if skip > 0:
            payload = payload[skip:]
            start = self.rcv_nxt
        room = self.rcv_wnd - sq.sub(start, self.rcv_nxt)
        if room <= 0:
            self._send_ack(now)
            return
        if len(payload) > room:
            payload = payload[:room]
        if not payload:
            self._send_ack(now)
            return
        if start != self.rcv_nxt:
            # Out of order: keep it for reassembly, and ACK at once (a duplicate ACK).
            prev = self.ooo.get(start)
            if prev is None or len(prev) < len(payload):
                self.ooo[start] = payload
            self._send_ack(now)
            return
        had_ooo = bool(self.ooo)
        if not self.rd_shut:
            self.rcv_buf += payload
        self.rcv_nxt = sq.add(self.rcv_nxt, len(payload))
        # Pull in any out-of-order pieces that now fit.
        while self.ooo:
            moved = False
            for s in list(self.ooo):
                d = sq.sub(self.rcv_nxt, s)
                if d >= 0:
                    piece = self.ooo.pop(s)
                    if d < len(piece):
                        if not self.rd_shut:
                            self.rcv_buf += piece[d:]
                        self.rcv_nxt = sq.add(self.rcv_nxt, len(piece) - d)
                    moved = True
            if not moved:
                break
        self._event(Event.READABLE)
        if ack_later:
            self.ack_pending = True
        elif had_ooo:
            self._send_ack(now)  # a hole was filled: ACK at once (RFC 5681 §4.2)
        else:
            self._schedule_ack(now, len(payload))
        if self.ooo_fin is not None and self.ooo_fin == self.rcv_nxt and not self.peer_fin:
            self._receive_fin(now)

    def _schedule_ack(self, now: float, nbytes: int) -> None:
        """Delayed ACK: quick ACKs at the start (Linux quickack mode), then every
        second full segment or when the delayed-ACK timer fires (RFC 1122 4.2.3.2)."""
        if self.quickacks == 0 and not self.delack_segs and self.data_in == 0:
            self.quickacks = min(_MAX_QUICKACKS, max(self.rcv_cap // (2 * max(self.mss, 1)), 2))
        self.data_in += 1
        if self.quickacks > 0:
            self.quickacks -= 1
            self._send_ack(now)
            return
        self.delack_segs += 1
        self.ack_pending = True
        if self.delack_segs >= 2:
            self._send_ack(now)
            return
        if TimerKind.DELACK not in self.timers:
            self._arm(TimerKind.DELACK, now + self.cfg.delack_min)

    def _receive_fin(self, now: float) -> None:
        self.peer_fin = True
        self.ooo_fin = None
        self.rcv_nxt = sq.add(self.rcv_nxt, 1)
        self._send_ack(now)
        self._event(Event.EOF)
        st = self.state
        if st is S.ESTABLISHED:
            self._set_state(S.CLOSE_WAIT, "FIN received: the peer has finished sending", "RFC 9293 §3.10.7.4")
        elif st is S.FIN_WAIT_1:
            # Had this segment acknowledged our FIN, step five would have moved us to FIN_WAIT_2.
            self._set_state(S.CLOSING, "FIN received while our FIN is unacknowledged: simultaneous close",
                            "RFC 9293 §3.10.7.4")
        elif st is S.FIN_WAIT_2:
            self._enter_time_wait(now, S.TIME_WAIT, "FIN received in FIN_WAIT_2")

    def _enter_time_wait(self, now: float, new: State, cause: str) -> None:
        self._set_state(new, cause, "RFC 9293 §3.10.7.4")
        for k in (TimerKind.RETRANSMIT, TimerKind.PERSIST, TimerKind.KEEPALIVE, TimerKind.FIN_WAIT_2, TimerKind.DELACK):
            self.timers.pop(k, None)
        self._arm(TimerKind.TIME_WAIT, now + self.cfg.time_wait)

    def _process_ack(self, now: float, seg: Segment) -> bool:
        """Fifth step for synchronized states. Returns False when the segment is to be dropped."""
        ack = seg.ack
        una = self.snd_una
        if (self.snd_nxt - ack) & _MASK >= _HALF:
            # Acknowledges something not yet sent: ACK and drop (RFC 9293 §3.10.7.4).
            self._send_ack(now)
            return False
        d_una = (ack - una) & _MASK  # ack - SND.UNA, modulo 2**32
        if d_una >= _HALF and (una - ack) & _MASK > max(self.max_snd_wnd, 1):
            # RFC 5961 §5.2: too old to be acceptable.
            self._challenge_ack(now)
            return False
        st = self.state
        # Linux tcp_ack(): any valid ACK shows the peer is alive: keepalive probes and
        # soft errors are forgotten.
        self.probes_out = 0
        if d_una < _HALF:
            self.soft_error = None
        if seg.sack and self.sack_ok:
            self._update_scoreboard(seg.sack)
        if 0 < d_una < _HALF:
            acked = d_una
            self._rtt_sample(now, seg)
            # Drop acknowledged bytes from the send buffer.
            nbytes = sq.sub(ack, self.snd_buf_seq)
            if nbytes > 0:
                nbytes = min(nbytes, len(self.snd_buf))
                del self.snd_buf[:nbytes]
                self.snd_buf_seq = sq.add(self.snd_buf_seq, nbytes)
                self._event(Event.WRITABLE)
            self.snd_una = ack
            st_q = self.sent_times
            if st_q:
                while st_q and sq.le(st_q[0][0], ack):
                    st_q.popleft()
            if sq.lt(self.snd_rtx, ack):
                self.snd_rtx = ack
            if sq.lt(self.rtx_end, self.snd_rtx):
                self.rtx_end = self.snd_rtx
            self.retransmits = 0
            self.retrans_stamp = None
            self.probes_out = 0
            if self.sacked:
                self._trim_scoreboard(ack)
            self._congestion_on_ack(acked, ack, now)
            if ack == self.snd_nxt:
                self._disarm(TimerKind.RETRANSMIT)
            else:
                self._arm_rto(now)
            fin_acked = self.fin_seq is not None and sq.gt(ack, self.fin_seq)
            if fin_acked:
                if st is S.FIN_WAIT_1:
                    self._set_state(S.FIN_WAIT_2, "ACK of our FIN received", "RFC 9293 §3.10.7.4")
                    if self.orphan:
                        self._arm(TimerKind.FIN_WAIT_2, now + self.cfg.fin_timeout)
                elif st is S.CLOSING:
                    self._enter_time_wait(now, S.TIME_WAIT, "ACK of our FIN received in CLOSING")
                    return False
                elif st is S.LAST_ACK:
                    self._delete(now, S.CLOSED, "ACK of our FIN received in LAST_ACK", "RFC 9293 §3.10.7.4", None)
                    return False
        elif (ack == una and not seg.payload and not seg.flags & FIN and sq.gt(self.snd_nxt, una)
              and (seg.window << self.snd_wscale) == self.snd_wnd):
            # A duplicate ACK (RFC 5681 §2): same ACK, no data, window unchanged, data outstanding.
            self._bump("dup_acks_in")
            self._on_dupack(now)
        # Update the send window (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2 rule).
        if sq.lt(self.snd_wl1, seg.seq) or (self.snd_wl1 == seg.seq and sq.le(self.snd_wl2, ack)):
            was_zero = self.snd_wnd == 0
            self.snd_wnd = seg.window << self.snd_wscale
            if self.snd_wnd > self.max_snd_wnd:
                self.max_snd_wnd = self.snd_wnd
            self.snd_wl1 = seg.seq
            self.snd_wl2 = ack
            if was_zero and self.snd_wnd > 0:
                self._disarm(TimerKind.PERSIST)
                self.retransmits = 0
                self.rto = self._computed_rto()
        if self.keepalive and self.state is not S.TIME_WAIT:
            self._arm(TimerKind.KEEPALIVE, now + self.keep_idle)
        return True

    # ------------------------------------------------ RTT, RTO and congestion

    def _computed_rto(self) -> float:
        cfg = self.cfg
        if self.srtt is None:
            return cfg.rto_initial
        if cfg.rto_min_on_variance:
            # Linux __tcp_set_rto(): srtt + max(4*rttvar, rto_min).
            rto = self.srtt + max(4 * self.rttvar, cfg.rto_min)
        else:
            rto = max(self.srtt + max(cfg.clock_granularity, 4 * self.rttvar), cfg.rto_min)
        return min(rto, cfg.rto_max)

    def _rtt_sample(self, now: float, seg: Segment) -> None:
        """RFC 6298 §2: measure one segment at a time, never a retransmitted one (Karn)."""
        if self.rtt_seq is None or sq.lt(seg.ack, self.rtt_seq):
            if (self.state is S.SYN_SENT or self.state is S.SYN_RCVD) and self.retransmits == 0 \
                    and self.retrans_stamp is not None:
                self._update_rtt(now - self.retrans_stamp)
            return
        self.rtt_seq = None
        self._update_rtt(now - self.rtt_time)

    def _update_rtt(self, r: float) -> None:
        if r < 0:
            return
        if self.srtt is None:
            self.srtt = r
            self.rttvar = r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = self._computed_rto()

    def flight_size(self) -> int:
        return sq.sub(self.snd_nxt, self.snd_una)

    def _congestion_on_ack(self, acked: int, ack: int, now: float) -> None:
        """Window growth, and the end of loss recovery (RFC 5681 §3.1, RFC 6582, RFC 6675)."""
        mss = self.mss
        if self.in_recovery:
            if sq.ge(ack, self.recover):
                self.in_recovery = False
                # RFC 6582 §3.2 (3): deflate to min(ssthresh, FlightSize + SMSS).
                self.cwnd = min(self.ssthresh, max(sq.sub(self.snd_nxt, ack), 0) + mss)
            elif not self.sack_ok:
                # NewReno partial ACK: retransmit the next hole, deflate by the amount acked.
                self.cwnd = max(self.cwnd - acked + mss, mss)
                self.snd_rtx = ack
                self.rtx_end = min_seq(sq.add(ack, mss), self.snd_nxt)
            self.dupacks = 0
            return
        self.dupacks = 0
        if self.retransmits == 0 or not sq.lt(ack, self.recover):
            self.cc.on_ack(self, acked, now)
            # Send-buffer autotuning (Linux tcp_sndbuf_expand()): room for two windows.
            want = 2 * self.cwnd
            if want > self.snd_cap:
                self.snd_cap = min(want, self.cfg.wmem[2])

    def _on_dupack(self, now: float) -> None:
        self.dupacks += 1
        mss = self.mss
        if self.in_recovery:
            if not self.sack_ok:
                self.cwnd += mss  # NewReno: inflate for each segment that left the network
            return
        if self.dupacks >= 3 or (self.sack_ok and self._is_lost(self.snd_una)):
            self._enter_recovery(now)

    def _enter_recovery(self, now: float) -> None:
        """Fast retransmit (RFC 5681 §3.2) into NewReno (RFC 6582) or SACK recovery (RFC 6675)."""
        if self.in_recovery or not (sq.gt(self.snd_nxt, self.recover) or self.recover == self.iss
                                    or sq.ge(self.snd_una, self.recover)):
            return
        mss = self.mss
        self.ssthresh = self.cc.ssthresh_on_loss(self, now)
        self.recover = self.snd_nxt
        self.in_recovery = True
        self._bump("fast_retransmits")
        self._bump("retransmits")
        self.rtt_seq = None
        self.snd_rtx = self.snd_una
        self.rtx_end = min_seq(sq.add(self.snd_una, mss), self.snd_nxt)
        if self.sack_ok:
            self.cwnd = self.ssthresh
            self.high_rxt = self.rtx_end
        else:
            self.cwnd = self.ssthresh + 3 * mss
        self._output(now, force_one=True)
        if self.sack_ok:
            self._output(now)

    # ---------------------------------------------------------------- SACK

    def _update_scoreboard(self, blocks: tuple[tuple[int, int], ...]) -> None:
        una, nxt = self.snd_una, self.snd_nxt
        ranges = self.sacked
        for a, b in blocks:
            if not (sq.lt(a, b) and sq.lt(una, b) and sq.le(b, nxt)):
                continue  # stale, or for data never sent (RFC 2018 §4: ignore)
            if sq.lt(a, una):
                a = una
            ranges.append((a, b))
        if not ranges:
            return
        ranges.sort(key=lambda r: sq.sub(r[0], una))
        merged: list[tuple[int, int]] = []
        for a, b in ranges:
            if merged and sq.le(a, merged[-1][1]):
                if sq.gt(b, merged[-1][1]):
                    merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        self.sacked = merged

    def _trim_scoreboard(self, ack: int) -> None:
        out = []
        for a, b in self.sacked:
            if sq.le(b, ack):
                continue
            out.append((ack, b) if sq.lt(a, ack) else (a, b))
        self.sacked = out

    def _is_lost(self, seqno: int) -> bool:
        """RFC 6675 IsLost: DupThresh discontiguous SACKed ranges, or more than
        (DupThresh - 1) * SMSS SACKed bytes, above ``seqno``."""
        n = 0
        nbytes = 0
        for a, b in self.sacked:
            if sq.gt(b, seqno):
                n += 1
                nbytes += sq.sub(b, a if sq.gt(a, seqno) else seqno)
        return n >= 3 or nbytes > 2 * self.mss

    def _holes(self) -> list[tuple[int, int]]:
        """Un-SACKed ranges between SND.UNA and the highest SACKed byte."""
        holes = []
        cur = self.snd_una
        for a, b in self.sacked:
            if sq.lt(cur, a):
                holes.append((cur, a))
            cur = b
        return holes

    def _pipe(self) -> int:
        """RFC 6675 SetPipe: bytes believed to be in the network."""
        pipe = 0
        high_rxt = self.high_rxt
        for a, b in self._holes():
            rtx = max(0, min(sq.sub(high_rxt, a), sq.sub(b, a)))
            if self._is_lost(a):
                pipe += rtx
            else:
                pipe += sq.sub(b, a) + rtx
        top = self.sacked[-1][1] if self.sacked else self.snd_una
        pipe += max(sq.sub(self.snd_nxt, top), 0)
        return pipe

    def _sack_output(self, now: float) -> None:
        """Transmit during SACK recovery while cwnd - pipe >= SMSS (RFC 6675 §5, NextSeg)."""
        mss = self.mss
        for _ in range(1000):
            if self.cwnd - self._pipe() < mss:
                return
            nxt = None
            for a, b in self._holes():
                start = a if sq.ge(a, self.high_rxt) else self.high_rxt
                if sq.lt(start, b) and self._is_lost(start):
                    nxt = (start, min_seq(sq.add(start, mss), b))
                    break
            if nxt is not None:
                self.snd_rtx, self.rtx_end = nxt
                self.high_rxt = nxt[1]
                self._bump("retransmits")
                self._output(now, force_one=True)
                continue
            before = self.snd_nxt
            self._output(now, new_one=True)
            if self.snd_nxt == before:
                return

    # ----------------------------------------------------------- inspection

    def info(self) -> dict[str, Any]:
        """A tcp_info-like snapshot for traces and tests."""
        return {
            "state": self.state.value, "snd_una": self.snd_una, "snd_nxt": self.snd_nxt, "rcv_nxt": self.rcv_nxt,
            "snd_wnd": self.snd_wnd, "rcv_wnd": self.rcv_wnd, "cwnd": self.cwnd, "ssthresh": self.ssthresh,
            "srtt": self.srtt, "rto": self.rto, "mss": self.mss, "recv_q": len(self.rcv_buf),
            "send_q": len(self.snd_buf),
        }


class _PeerOpts(Segment):
    """The options the peer offered, rebuilt from what was negotiated (for SYN-ACK retransmission)."""

    def __init__(self, c: Connection) -> None:
        super().__init__(c.rport, c.lport, c.irs, 0, SYN, 0,
                         wscale=0 if c.rcv_wscale else None, sack_ok=c.sack_ok,
                         ts_val=c.ts_recent if c.ts_ok else None)
