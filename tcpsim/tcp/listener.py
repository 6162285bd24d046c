"""A listening socket as a pure value: it takes a segment and returns a decision.

The SYN queue holds half-open requests (children in SYN_RCVD); the accept
queue holds completed connections waiting for accept(). Sizes follow Linux:
the backlog is min(listen(backlog), somaxconn); the SYN queue counts as full
at the backlog (``inet_csk_reqsk_queue_is_full``); the accept queue is full
when it holds more than the backlog (``sk_acceptq_is_full`` uses ``>``).
With ``tcp_syncookies`` = 1 a full SYN queue answers with a cookie SYN-ACK and
keeps nothing; with 2 every SYN gets a cookie (tcp_conn_request()).

``counters`` are counted where Linux counts the /proc/net/netstat field named
beside each (docs/summary.md has the table): ``listen_overflows``
ListenOverflows, ``listen_drops`` ListenDrops, ``cookies_sent``
SyncookiesSent, ``cookies_validated`` SyncookiesRecv (every valid cookie ACK,
even one the full accept queue then drops), ``cookies_failed``
SyncookiesFailed, ``syn_queue_full_drops`` TCPReqQFullDrop,
``reqq_full_do_cookies`` TCPReqQFullDoCookies.
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from enum import Enum

from tcpsim.tcp import seq as sq
from tcpsim.tcp.config import TcpConfig
from tcpsim.tcp.connection import Connection, Output
from tcpsim.tcp.cookies import SynCookies, decode_ts, encode_ts
from tcpsim.tcp.state import TRANSITIONS, State, TransitionError
from tcpsim.wire.segment import ACK, RST, SYN, Segment

COOKIE_VALID = 120.0  # seconds a listener keeps checking ACKs as cookies after its last overflow


class SynDecision(Enum):
    CHILD = "child"          # a new request in SYN_RCVD, SYN-ACK sent
    COOKIE = "cookie"        # a stateless cookie SYN-ACK in ``reply``
    COOKIE_CHILD = "cookie_child"  # an ACK with a valid cookie: an established child
    DROP = "drop"            # dropped (queue full and no cookies, accept queue full)
    RST = "rst"              # answered with the reset in ``reply``
    IGNORE = "ignore"        # nothing to do (a RST to a listener, a stray segment)


Decision = tuple[SynDecision, Connection | None, Output | None, Segment | None]


class Listener:
    __slots__ = ("cfg", "laddr", "lport", "backlog", "state", "syn_queue", "accept_queue", "counters",
                 "name", "transitions", "cookies", "last_overflow", "retried")

    def __init__(self, cfg: TcpConfig, laddr: str, lport: int, backlog: int, cookie_key: bytes = b"tcpsim") -> None:
        self.cfg = cfg
        self.laddr = laddr
        self.lport = lport
        self.backlog = max(0, min(backlog, cfg.somaxconn))
        self.state = State.CLOSED
        self.syn_queue: dict[str, Connection] = {}
        self.accept_queue: deque[Connection] = deque()
        self.counters: Counter[str] = Counter()
        self.name = f"{laddr}:{lport}>0.0.0.0:*"
        self.transitions: list[tuple[State, State, str, str]] = []
        self.cookies = SynCookies(cookie_key)
        self.last_overflow: float | None = None
        self.retried: set[str] = set()  # half-open requests that retransmitted their SYN-ACK (Windows)

    def _set_state(self, new: State, cause: str, rfc: str) -> None:
        if (self.state, new) not in TRANSITIONS:
            raise TransitionError(f"listener {self.name}: {self.state} -> {new}")
        self.transitions.append((self.state, new, cause, rfc))
        self.state = new

    def listen(self) -> list[tuple[State, State, str, str]]:
        self._set_state(State.LISTEN, "listen(): passive open", "RFC 9293 §3.10.1")
        out, self.transitions = self.transitions, []
        return out

    def close(self) -> list[tuple[State, State, str, str]]:
        if self.state is State.LISTEN:
            self._set_state(State.CLOSED, "close() of the listening socket", "RFC 9293 §3.10.4")
        out, self.transitions = self.transitions, []
        return out

    def syn_queue_full(self) -> bool:
        return len(self.syn_queue) >= max(self.backlog, 1)

    def accept_queue_full(self) -> bool:
        return len(self.accept_queue) > self.backlog

    def under_attack(self) -> bool:
        """Windows SYN attack protection engages past TcpMaxHalfOpen or TcpMaxHalfOpenRetried."""
        cfg = self.cfg
        if not cfg.syn_attack_protect or not cfg.max_half_open:
            return False
        return len(self.syn_queue) >= cfg.max_half_open or len(self.retried) >= cfg.max_half_open_retried

    def on_segment(self, now: float, raddr: str, seg: Segment, iss: int) -> Decision:
        """SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2), with Linux's queues and cookies."""
        flags = seg.flags
        if flags & RST:
            return SynDecision.IGNORE, None, None, None  # first: a RST to a listener is ignored
        if flags & ACK:
            if not flags & SYN and self.cfg.syncookies and self._cookies_active(now):
                d = self._cookie_ack(now, raddr, seg)
                if d is not None:
                    return d
            # second: any other ACK (stray ACK, SYN-ACK) is answered <SEQ=SEG.ACK><CTL=RST>.
            self.counters["rst_sent"] += 1
            return SynDecision.RST, None, None, Segment(seg.dport, seg.sport, seg.ack, 0, RST, 0)
        if not flags & SYN:
            return SynDecision.IGNORE, None, None, None
        self.counters["syns_received"] += 1
        cfg = self.cfg
        want_cookie = False
        if cfg.syncookies == 2 or self.syn_queue_full():
            if not cfg.syncookies:
                self.counters["syn_queue_full_drops"] += 1
                self.counters["listen_drops"] += 1
                return SynDecision.DROP, None, None, None
            want_cookie = True
            self.counters["reqq_full_do_cookies"] += 1  # Linux TCPReqQFullDoCookies (tcp_syn_flood_action)
        if self.accept_queue_full():
            self.counters["listen_overflows"] += 1
            self.counters["listen_drops"] += 1
            return SynDecision.DROP, None, None, None
        if want_cookie:
            return SynDecision.COOKIE, None, None, self._cookie_syn_ack(now, raddr, seg)
        if not cfg.syncookies and cfg.max_syn_backlog - len(self.syn_queue) < (cfg.max_syn_backlog >> 2):
            # Without cookies the last quarter of tcp_max_syn_backlog is kept for proven peers.
            self.counters["listen_drops"] += 1
            return SynDecision.DROP, None, None, None
        child, out = Connection.from_syn(cfg, self.laddr, raddr, seg, iss, now)
        if self.under_attack():
            # SynAttackProtect: half-open requests get a single SYN-ACK retransmission.
            child.syn_retries = 1
        self.syn_queue[child.name] = child
        self.counters["synacks_sent"] += 1
        return SynDecision.CHILD, child, out, None

    # -- cookies ---------------------------------------------------------------

    def _cookies_active(self, now: float) -> bool:
        if self.cfg.syncookies == 2:
            return True
        return self.last_overflow is not None and now - self.last_overflow < COOKIE_VALID

    def _cookie_syn_ack(self, now: float, raddr: str, syn: Segment) -> Segment:
        cfg = self.cfg
        peer_mss = syn.mss if syn.mss is not None else 536
        isn, mss = self.cookies.make(now, self.laddr, self.lport, raddr, syn.sport, syn.seq, min(peer_mss, cfg.mss))
        self.last_overflow = now
        self.counters["cookies_sent"] += 1
        self.counters["synacks_sent"] += 1
        reply = Segment(syn.dport, syn.sport, isn, sq.add(syn.seq, 1), SYN | ACK, min(cfg.syn_window, 0xFFFF),
                        mss=cfg.mss)
        ts_ok = cfg.timestamps and syn.ts_val is not None
        if cfg.sack and syn.sack_ok:
            reply.sack_ok = True
        if cfg.window_scaling and syn.wscale is not None:
            reply.wscale = cfg.wscale
        if ts_ok:
            reply.ts_val = encode_ts(int(now * 1000) & 0xFFFFFFFF,
                                     syn.wscale if cfg.window_scaling else None, bool(cfg.sack and syn.sack_ok))
            reply.ts_ecr = syn.ts_val
        return reply

    def _cookie_ack(self, now: float, raddr: str, seg: Segment) -> Decision | None:
        mss = self.cookies.check(now, self.laddr, self.lport, raddr, seg.sport, sq.add(seg.seq, -1), sq.add(seg.ack, -1))
        if mss is None:
            self.counters["cookies_failed"] += 1
            return None
        # Linux's SyncookiesRecv counts every valid cookie (cookie_v4_check), before the
        # accept queue is looked at; a full one then counts ListenOverflows as well.
        self.counters["cookies_validated"] += 1
        if self.accept_queue_full():
            self.counters["listen_overflows"] += 1
            self.counters["listen_drops"] += 1
            return SynDecision.DROP, None, None, None
        wscale, sack_ok = (None, False)
        if seg.ts_ecr is not None:
            wscale, sack_ok = decode_ts(seg.ts_ecr)
        child = Connection.from_cookie(self.cfg, self.laddr, raddr, seg, mss, wscale, sack_ok, now)
        first = child._take()
        out = child.on_segment(now, seg)
        out.transitions[:0] = first.transitions
        return SynDecision.COOKIE_CHILD, child, out, None

    # -- queue bookkeeping ---------------------------------------------------------

    def admit(self, child: Connection) -> bool:
        """May this half-open child complete its handshake now? (accept queue room)."""
        if self.accept_queue_full():
            self.counters["listen_overflows"] += 1
            self.counters["listen_drops"] += 1
            return False
        return True

    def established(self, child: Connection) -> None:
        self.syn_queue.pop(child.name, None)
        self.retried.discard(child.name)
        self.accept_queue.append(child)
        self.counters["completed"] += 1

    def synack_retransmitted(self, child: Connection) -> None:
        self.counters["synack_retransmits"] += 1
        self.retried.add(child.name)

    def forget(self, child: Connection) -> None:
        """A half-open request ended (RST, timeout) or an unaccepted child closed."""
        self.retried.discard(child.name)
        if self.syn_queue.pop(child.name, None) is not None:
            self.counters["requests_dropped"] += 1
        else:
            with contextlib.suppress(ValueError):
                self.accept_queue.remove(child)

    def accept(self) -> Connection | None:
        if self.accept_queue:
            self.counters["accepted"] += 1
            return self.accept_queue.popleft()
        return None
