"""The TCP layer of a host: the SimPy adapter around the pure core.

It demultiplexes arriving segments (4-tuple, else listener, else a RST,
never answering a RST), applies each core :class:`Output` (segments to IP,
transitions and timer expiries to the trace, events to sockets), and keeps
at most one pending SimPy wake-up per connection: the earliest deadline the
core asks for. A wake-up that turns out early or stale does nothing, because
the core re-checks every deadline.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Union

from tcpsim.net.sched import Call, push
from tcpsim.tcp import seq as sq
from tcpsim.tcp.config import TcpConfig, make_config
from tcpsim.tcp.connection import Connection, Event, Output, TimerKind, rst_for_closed
from tcpsim.tcp.isn import IsnGenerator
from tcpsim.tcp.listener import Listener, SynDecision
from tcpsim.tcp.request import Request
from tcpsim.tcp.state import State
from tcpsim.tcp.timewait import TimeWait
from tcpsim.wire.ip import (
    ICMP_DEST_UNREACH,
    ICMP_TIME_EXCEEDED,
    IPPROTO_TCP,
    UNREACH_HOST,
    UNREACH_NET,
    UNREACH_PORT,
    ICMPMessage,
    IPPacket,
)
from tcpsim.wire.segment import ACK, RST, SYN, Segment

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation
    from tcpsim.net.socket import Socket

# ICMP (type, code) -> errno, as Linux's icmp_err_convert[] and tcp_v4_err() map them.
_ICMP_ERRNO = {
    (ICMP_DEST_UNREACH, UNREACH_NET): "ENETUNREACH",
    (ICMP_DEST_UNREACH, UNREACH_HOST): "EHOSTUNREACH",
    (ICMP_DEST_UNREACH, 2): "ENOPROTOOPT",
    (ICMP_DEST_UNREACH, UNREACH_PORT): "ECONNREFUSED",
    (ICMP_DEST_UNREACH, 5): "EOPNOTSUPP",
    (ICMP_DEST_UNREACH, 6): "ENETUNREACH",
    (ICMP_DEST_UNREACH, 7): "EHOSTDOWN",
    (ICMP_DEST_UNREACH, 9): "ENETUNREACH",
    (ICMP_DEST_UNREACH, 10): "EHOSTUNREACH",
    (ICMP_DEST_UNREACH, 11): "ENETUNREACH",
    (ICMP_DEST_UNREACH, 12): "EHOSTUNREACH",
    (ICMP_DEST_UNREACH, 13): "EHOSTUNREACH",
    (ICMP_DEST_UNREACH, 14): "EHOSTUNREACH",
    (ICMP_DEST_UNREACH, 15): "EHOSTUNREACH",
}

Key = tuple[int, str, int]  # (local port, remote address, remote port)
AnyConn = Union[Connection, TimeWait]  # noqa: UP007  (a runtime alias)

TCP_SYSCTL_PREFIXES = ("net.ipv4.tcp_", "net.core.somaxconn", "net.ipv4.ip_local_port_range")


def tcp_overrides(sysctls: dict[str, object]) -> dict[str, Any]:
    """The entries of a host's sysctls that are TCP knobs (the rest belong to IP)."""
    from tcpsim.tcp.config import _BY_NAME

    return {k: v for k, v in sysctls.items() if k in _BY_NAME and k not in ("net.ipv4.ip_default_ttl", "ip_default_ttl", "DefaultTTL")}


class TcpStack:
    """All TCP state of one host: connections, listeners, ports, timers."""

    def __init__(self, sim: Simulation, host: Host) -> None:
        self.sim = sim
        self.env = sim.env
        self.host = host
        self.trace = sim.trace
        self.cfg: TcpConfig = make_config(host.profile, tcp_overrides(host.sysctls))
        self.conns: dict[Key, Any] = {}  # Connection, or TimeWait once a closed socket's TCB is in TIME_WAIT
        self.listeners: dict[int, Listener] = {}
        self.listen_sockets: dict[int, Socket] = {}
        self.sockets: dict[Connection, Socket] = {}
        self.bound: dict[int, int] = {}  # port -> sockets that bind()ed it
        # Connection name -> the IP TTL its socket set (IP_TTL); empty unless a socket set one,
        # so the per-segment cost is one truth test.
        self.ttls: dict[str, int] = {}
        self.port_refs: dict[int, int] = {}  # port -> connections using it as their local port
        # (remote addr, port) -> connections to it from ephemeral ports, by port parity
        self.dest_parity: dict[tuple[str, int], list[int]] = {}
        self._perturb: dict[tuple[str, int], int] = {}  # Linux's table_perturb, per destination
        self._wake: dict[Any, float] = {}  # connection -> when its one pending wake-up runs
        self._wake_cbs = (self._on_wake,)
        # TIME_WAIT entries in the order they were queued: they all last the same, so a
        # FIFO with one pending wake-up replaces a timer each (as Linux's timewait death row
        # did). An entry whose 2MSL restarted (a retransmitted FIN) moves to ``_tw_late``,
        # a heap, when the FIFO reaches it; so does one queued out of order.
        self._tw_q: deque[TimeWait] = deque()
        self._tw_late: list[tuple[float, int, TimeWait]] = []
        self._tw_seq = 0
        self._tw_tail = float("-inf")
        self._tw_wake: float | None = None
        self.tw_count = 0
        self._samples = sim.trace.keep_samples
        self._last_sample: dict[Connection, tuple[object, ...]] = {}
        self._last_queues: dict[str, tuple[int, int]] = {}
        if sim.trace.keep_queues:
            # Shadow _apply on this instance only: stacks that keep no queue samples pay nothing.
            plain = self._apply

            def apply_and_sample(conn: Any, out: Output) -> None:
                plain(conn, out)
                self.sample_queues(conn)

            self._apply = apply_and_sample  # type: ignore[method-assign]
        self._boot = 0
        self.isn = IsnGenerator(self.cfg.isn, sim.rng(f"isn:{host.name}:0"))
        self.cookie_key = sim.rng(f"cookies:{host.name}:0").getrandbits(128).to_bytes(16, "big")
        self._port_rng = sim.rng(f"ports:{host.name}")
        self.counters: dict[str, int] = {"rst_sent": 0, "active_opens": 0, "passive_opens": 0, "estab_resets": 0,
                                         "attempt_fails": 0, "tw_destroyed": 0}
        host.handlers[IPPROTO_TCP] = self.on_packet
        host.icmp_error_handlers[IPPROTO_TCP] = self.on_icmp_error
        host.on_down.append(self.crash)
        host.on_up.append(self.reboot)
        host.tcp = self  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- config

    def set_sysctl(self, name: str, value: object) -> None:
        """Change a knob at run time. New connections see it, and so do existing
        listeners, as Linux reads tcp_syncookies, tcp_max_syn_backlog and
        tcp_synack_retries at every SYN; established connections keep theirs."""
        self.host.sysctls[name] = value
        self.cfg = make_config(self.host.profile, tcp_overrides(self.host.sysctls))
        for lst in self.listeners.values():
            lst.cfg = self.cfg

    # ------------------------------------------------------------- packet in

    def on_packet(self, pkt: IPPacket) -> None:
        seg = pkt.payload
        if not isinstance(seg, Segment):
            return
        now = self.env.now
        key = (seg.dport, pkt.src, seg.sport)
        conn = self.conns.get(key)
        if conn is not None:
            if type(conn) is Request:
                conn = self._promote(conn, key)
            if conn.state is State.SYN_RCVD and conn.passive and seg.flags & ACK and not seg.flags & (RST | SYN) \
                    and seg.ack == conn.snd_nxt:
                lst = self.listeners.get(conn.lport)
                if lst is not None and not lst.admit(conn):
                    # Accept queue full: drop the handshake's ACK (Linux ListenOverflows);
                    # the client's retransmission may succeed later.
                    if self.cfg.abort_on_overflow:
                        # Linux tcp_check_req() -> embryonic_reset: one reset answering the
                        # ACK, <SEQ=SEG.ACK><CTL=RST>, and the request is dropped silently.
                        self._send_seg(pkt.src, Segment(seg.dport, seg.sport, seg.ack, 0, RST, 0))
                        self._apply(conn, conn.drop_request(now, "accept queue full and tcp_abort_on_overflow=1"))
                    return
            out = conn.on_segment(now, seg)
            reuse = conn.state is State.CLOSED and any(ev is Event.CLOSED and d == "reuse" for ev, d in out.events)
            self._apply(conn, out)
            if reuse:
                # The TIME_WAIT connection gave way to a new SYN: hand it to the listener.
                self._to_listener(now, pkt, seg)
            return
        self._to_listener(now, pkt, seg)

    def _to_listener(self, now: float, pkt: IPPacket, seg: Segment) -> None:
        lst = self.listeners.get(seg.dport)
        if lst is None or lst.state is not State.LISTEN:
            rst = rst_for_closed(seg)
            if rst is not None:
                self.counters["rst_sent"] += 1
                self._send_seg(pkt.src, rst)
            return
        iss = self.isn(now, self.host.address, seg.dport, pkt.src, seg.sport)
        decision, child, out, reply = lst.on_segment(now, pkt.src, seg, iss)
        if child is not None:
            # A listener's IP_TTL is its children's (Linux sends the SYN-ACK with the
            # listener's TTL and the child socket inherits it).
            lsock = self.listen_sockets.get(seg.dport)
            if lsock is not None and "IP_TTL" in lsock.opts:
                self.ttls[child.name] = int(lsock.opts["IP_TTL"])
        if decision is SynDecision.CHILD:
            assert child is not None and out is not None
            self.counters["passive_opens"] += 1
            # Kept as a small request until anything more arrives (Linux's request_sock).
            req = Request(child, seg, now)
            if lst.syn_queue.get(child.name) is child:
                lst.syn_queue[child.name] = req  # type: ignore[assignment]
            self.add_conn(req, None)  # type: ignore[arg-type]
            self._apply(req, out)
        elif decision is SynDecision.COOKIE and reply is not None:
            self._send_seg(pkt.src, reply)
        elif decision is SynDecision.COOKIE_CHILD:
            assert child is not None and out is not None
            self.counters["passive_opens"] += 1
            self.add_conn(child, None)
            self._apply(child, out)
        elif decision is SynDecision.RST and reply is not None:
            self.counters["rst_sent"] += 1
            self._send_seg(pkt.src, reply)
        elif decision is SynDecision.DROP:
            self.trace.count(self.host.name, "tcp:listen_drops")

    def on_icmp_error(self, pkt: IPPacket, icmp: ICMPMessage) -> None:
        quoted = icmp.quoted
        if quoted is None or not isinstance(quoted.payload, Segment):
            return
        seg = quoted.payload
        if icmp.type == ICMP_TIME_EXCEEDED:
            errno = "EHOSTUNREACH"
        else:
            errno = _ICMP_ERRNO.get((icmp.type, icmp.code), "")
        if not errno:
            return
        conn = self.conns.get((seg.sport, quoted.dst, seg.dport))
        if conn is None:
            return
        if type(conn) is Connection and not sq.between(conn.snd_una, seg.seq, conn.snd_nxt):
            # Linux's OutOfWindowIcmps: the core ignores it (RFC 5927 §4.1); count it here.
            self.trace.count(self.host.name, "tcp:out_of_window_icmps")
        self._apply(conn, conn.on_icmp(self.env.now, errno, seg.seq))

    # ------------------------------------------------------------ packet out

    def _send_seg(self, dst: str, seg: Segment) -> None:
        self.host.ip_send(dst, IPPROTO_TCP, seg)

    def _apply(self, conn: Any, out: Output) -> None:
        """Carry out one core Output: send, record, notify, re-arm."""
        host = self.host
        if out.transitions:
            now = self.env.now
            name = host.name
            for old, new, cause, rfc in out.transitions:
                self.trace.state(now, name, conn.name, old.value, new.value, cause, rfc)
                self.trace.count(name, "tcp:enter:" + new.value)
                if new is State.TIME_WAIT:
                    self.tw_count += 1
                elif old is State.TIME_WAIT:
                    self.tw_count -= 1
            if conn.state is State.TIME_WAIT and self.tw_count > self.cfg.max_tw_buckets:
                # tcp_max_tw_buckets: the TIME_WAIT socket is destroyed at once (TCPTimeWaitOverflow).
                self.counters["tw_destroyed"] += 1
                self.trace.count(name, "tcp:tw_overflow")
                extra = conn.kill("TIME_WAIT bucket table full (tcp_max_tw_buckets): destroyed",
                                  "Linux tcp_max_tw_buckets")
                out.transitions += extra.transitions
                out.events += extra.events
                for old, new, cause, rfc in extra.transitions:
                    self.trace.state(now, name, conn.name, old.value, new.value, cause, rfc)
                    self.tw_count -= 1
        if out.fired:
            now = self.env.now
            for kind in out.fired:
                self.trace.timer(now, host.name, conn.name, kind.value)
                if kind is TimerKind.RETRANSMIT and conn.passive and conn.state is State.SYN_RCVD:
                    lst = self.listeners.get(conn.lport)
                    if lst is not None:
                        lst.synack_retransmitted(conn)
        if host.up:
            ip_send = host.ip_send
            ttl = self.ttls.get(conn.name) if self.ttls else None
            for seg in out.segments:
                ip_send(conn.raddr, IPPROTO_TCP, seg, ttl)
        if self._samples and type(conn) is Connection:
            self._sample(conn)
        closed = False
        if out.events:
            sock = self.sockets.get(conn)
            for ev, detail in out.events:
                if ev is Event.CLOSED:
                    closed = True
                elif ev is Event.CONNECTED and conn.passive:
                    lst = self.listeners.get(conn.lport)
                    if lst is not None:
                        lst.established(conn)
                        lsock = self.listen_sockets.get(conn.lport)
                        if lsock is not None:
                            lsock._notify_accept()
                if ev is Event.ERROR:
                    self.trace.app(self.env.now, host.name, sock.app if sock is not None else "", "error",
                                   {"errno": detail, "conn": conn.name})
                if sock is not None:
                    sock._on_event(ev, detail)
        if closed:
            self._forget(conn)
            return
        if conn.state is State.TIME_WAIT and conn.orphan:
            if type(conn) is Connection:
                conn = self._to_timewait(conn)
            if conn.queued is None:
                self._tw_enqueue(conn)
            return
        dl = conn.next_deadline()
        if dl is not None:
            pending = self._wake.get(conn)
            if pending is None or dl < pending:
                now = self.env._now
                at = dl if dl > now else now
                self._wake[conn] = at
                push(self.env, at, self._wake_cbs, conn)

    def _promote(self, req: Request, key: Key) -> Connection:
        """Something arrived for a half-open request: it becomes the full TCB it stands for."""
        c = req.promote()
        self.conns[key] = c
        lst = self.listeners.get(req.lport)
        name = c.name
        if lst is not None and lst.syn_queue.get(name) is req:
            lst.syn_queue[name] = c
        at = self._wake.pop(req, None)
        if at is not None:  # the SYN-ACK timer carries over, whatever happens to the segment
            self._wake[c] = at
            push(self.env, at, self._wake_cbs, c)
        return c

    # ---------------------------------------------------------- TIME_WAIT

    def _to_timewait(self, conn: Connection) -> TimeWait:
        """Swap a closed socket's TCB in TIME_WAIT for the small TIME_WAIT entry."""
        sock = self.sockets.pop(conn, None)
        tw = TimeWait(conn, sock.app if sock is not None else "")
        if sock is not None:
            sock.conn = tw  # type: ignore[assignment]
        key = (conn.lport, conn.raddr, conn.rport)
        if self.conns.get(key) is conn:
            self.conns[key] = tw
        self._wake.pop(conn, None)
        self._last_sample.pop(conn, None)
        # The full TCB is retired, as Linux's tcp_time_wait() ends the socket with tcp_done():
        # the connection lives on as ``tw`` (the trace follows it there by name).
        conn.state = State.CLOSED
        conn.timers.clear()
        return tw

    def _tw_enqueue(self, tw: TimeWait) -> None:
        dl = tw.deadline
        if dl is None:
            return
        tw.queued = dl
        if dl < self._tw_tail:
            self._tw_late_push(tw, dl)  # out of order (the 2MSL length changed mid-run)
        else:
            self._tw_tail = dl
            self._tw_q.append(tw)
        self._tw_arm()

    def _tw_late_push(self, tw: TimeWait, dl: float) -> None:
        self._tw_seq += 1
        heappush(self._tw_late, (dl, self._tw_seq, tw))

    def _tw_arm(self) -> None:
        """Keep one wake-up pending, at the earliest queued deadline."""
        q, late = self._tw_q, self._tw_late
        if not q and not late:
            return
        first = late[0][0] if late else math.inf
        head = q[0].queued if q else None
        if head is not None and head < first:
            first = head
        if self._tw_wake is None or first < self._tw_wake:
            self._tw_wake = first
            self.sim.call_at(max(first, self.env.now), self._on_tw_wake, first)

    def _on_tw_wake(self, when: float) -> None:
        if self._tw_wake != when:
            return  # superseded by an earlier wake-up
        self._tw_wake = None
        now = self.env.now
        q, late = self._tw_q, self._tw_late
        conns = self.conns
        due: list[TimeWait] = []
        while q and q[0].queued <= now:  # type: ignore[operator]
            due.append(q.popleft())
        while late and late[0][0] <= now:
            due.append(heappop(late)[2])
        for tw in due:
            if tw.state is not State.TIME_WAIT or conns.get((tw.lport, tw.raddr, tw.rport)) is not tw:
                continue  # already gone
            dl = tw.deadline
            if dl is not None and dl > now:
                self._tw_late_push(tw, dl)  # its 2MSL restarted: wait again
                continue
            self._apply(tw, tw.on_timer(now))
        self._tw_arm()

    def _sample(self, conn: Connection) -> None:
        """Record the TCB variables that changed (trace level ``full``)."""
        flight = (conn.snd_nxt - conn.snd_una) & 0xFFFFFFFF
        values = (conn.cwnd, conn.ssthresh, conn.srtt, conn.rto, flight, conn.rcv_wnd, conn.snd_wnd)
        last = self._last_sample.get(conn)
        if last == values:
            return
        self._last_sample[conn] = values
        names = ("cwnd", "ssthresh", "srtt", "rto", "flight", "rcv_wnd", "snd_wnd")
        changed = {n: v for i, (n, v) in enumerate(zip(names, values, strict=True))
                   if last is None or last[i] != v}
        self.trace.sample(self.env.now, self.host.name, conn.name, changed)

    def sample_queues(self, conn: Any) -> None:
        """Record a connection's Recv-Q / Send-Q and its listener's queue lengths, if they changed."""
        if type(conn) is Connection:
            if conn.state is not State.CLOSED:
                self._queue_record(conn.name, (len(conn.rcv_buf), len(conn.snd_buf)), ("recv_q", "send_q"))
            elif self._last_queues.pop(conn.name, (0, 0)) != (0, 0):
                # Gone: its queues went with it (a later use of the same 4-tuple starts from 0).
                self.trace.queues(self.env.now, self.host.name, conn.name, {"recv_q": 0, "send_q": 0})
        lst = self.listeners.get(conn.lport) if conn.passive else None
        if lst is not None:
            self.sample_listener(lst)

    def sample_listener(self, lst: Listener) -> None:
        self._queue_record(lst.name, (len(lst.syn_queue), len(lst.accept_queue)), ("syn_queue", "accept_queue"))

    def _queue_record(self, name: str, values: tuple[int, int], keys: tuple[str, str]) -> None:
        if self._last_queues.get(name) == values:
            return
        self._last_queues[name] = values
        self.trace.queues(self.env.now, self.host.name, name, dict(zip(keys, values, strict=True)))

    def _on_wake(self, ev: Call) -> None:
        """A connection's wake-up: one queued event carrying the connection, nothing else
        (no closure, no argument tuple); ``_wake`` holds the time it was queued for."""
        conn = ev._value
        now = self.env._now
        if self._wake.get(conn) != now:
            return  # superseded by an earlier wake-up, which re-armed this one
        del self._wake[conn]
        if self.conns.get((conn.lport, conn.raddr, conn.rport)) is conn:
            out = ev._value.on_timer(now)
            self._apply(ev._value, out)

    def add_conn(self, conn: Connection, sock: Socket | None) -> None:
        self.conns[(conn.lport, conn.raddr, conn.rport)] = conn
        self.port_refs[conn.lport] = self.port_refs.get(conn.lport, 0) + 1
        dest = (conn.raddr, conn.rport)
        lo, hi = self.cfg.local_port_range
        if lo <= conn.lport <= hi:
            used = self.dest_parity.get(dest)
            if used is None:
                used = self.dest_parity[dest] = [0, 0]
            used[(conn.lport - lo) & 1] += 1
        if sock is not None:
            self.sockets[conn] = sock

    def _forget(self, conn: Any) -> None:
        lport, raddr, rport = conn.lport, conn.raddr, conn.rport
        key = (lport, raddr, rport)
        if self.conns.get(key) is conn:
            del self.conns[key]
            n = self.port_refs.get(lport, 0) - 1
            if n > 0:
                self.port_refs[lport] = n
            else:
                self.port_refs.pop(lport, None)
            lo, hi = self.cfg.local_port_range
            used = self.dest_parity.get((raddr, rport))
            if used is not None and lo <= lport <= hi:
                used[(lport - lo) & 1] -= 1
                if not used[0] and not used[1]:
                    del self.dest_parity[(raddr, rport)]
        self._wake.pop(conn, None)
        self._last_sample.pop(conn, None)
        if conn.passive:
            lst = self.listeners.get(conn.lport)
            if lst is not None:
                lst.forget(conn)
        sock = self.sockets.pop(conn, None)
        if sock is not None:
            sock._release_port()
        if self.ttls:
            self.ttls.pop(conn.name, None)

    # ----------------------------------------------------------- ports

    def ephemeral_port(self, raddr: str, rport: int) -> int | None:
        """Linux __inet_hash_connect(): from a per-destination offset (a random start,
        moved past each port handed out, as Linux's table_perturb), try the ports of one
        parity, then the other; take the first whose 4-tuple to this destination is free
        (TIME_WAIT holds it unless tcp_tw_reuse lets connect() take it over)."""
        lo, hi = self.cfg.local_port_range
        n = hi - lo + 1
        dest = (raddr, rport)
        reuse = self.cfg.tw_reuse
        may_reuse = reuse == 1 or (reuse == 2 and raddr.startswith("127."))
        used = self.dest_parity.get(dest)
        if used is not None and not may_reuse and used[0] + used[1] >= n:
            # Every port towards this destination is taken (TIME_WAIT included):
            # no need to walk the whole range on every failing connect().
            return None
        perturb = self._perturb.get(dest)
        if perturb is None:
            perturb = self._perturb[dest] = self._port_rng.randrange(n)
        offset = (perturb % n) & ~1
        conns = self.conns
        bound = self.bound
        listeners = self.listeners
        for parity in (0, 1):
            if used is not None and not may_reuse and n % 2 == 0 and used[parity] >= n // 2:
                continue  # this parity is full: Linux would walk it for nothing
            start = offset + parity
            for i in range((n + 1 - parity) // 2):
                port = lo + (start + 2 * i) % n
                if port in bound or port in listeners:
                    continue
                c = conns.get((port, raddr, rport))
                if c is None or (c.state is State.TIME_WAIT and self._tw_reusable(c)):
                    if c is not None:
                        self._forget_tw(c)
                    step = max(2 * i, 2 * self._port_rng.randrange(8))
                    self._perturb[dest] = perturb + step + 2
                    return port
        return None

    def _tw_reusable(self, c: Connection) -> bool:
        # tcp_twsk_unique(): reuse needs timestamps and at least 1 s since the last segment.
        reuse = self.cfg.tw_reuse
        if reuse == 0 or (reuse == 2 and not c.raddr.startswith("127.")):
            return False
        return c.ts_ok and self.env.now - c.last_rcv >= 1.0

    def _forget_tw(self, c: AnyConn) -> None:
        out = Output()
        out.transitions = c.kill("TIME_WAIT 4-tuple reused by connect() (tcp_tw_reuse)", "Linux tcp_tw_reuse").transitions
        self._apply(c, out)
        self._forget(c)

    # ----------------------------------------------------------- crash

    def crash(self) -> None:
        """The host stopped: every TCB and listener is lost; nothing is sent."""
        now = self.env.now
        for conn in list(self.conns.values()):
            self.trace.state(now, self.host.name, conn.name, conn.state.value, State.CLOSED.value,
                             "host crashed: TCB lost", "")
            sock = self.sockets.get(conn)
            if sock is not None:
                sock._on_crash()
        for port, lst in list(self.listeners.items()):
            self.trace.state(now, self.host.name, lst.name, lst.state.value, State.CLOSED.value,
                             "host crashed: listener lost", "")
            lsock = self.listen_sockets.get(port)
            if lsock is not None:
                lsock._on_crash()
        self.conns.clear()
        self._tw_q.clear()
        self._tw_late.clear()
        self.dest_parity.clear()
        self.tw_count = 0
        self.port_refs.clear()
        self.listeners.clear()
        self.listen_sockets.clear()
        self.sockets.clear()
        self.bound.clear()
        self._wake.clear()
        self.ttls.clear()

    def reboot(self) -> None:
        """Fresh state and a new ISN space."""
        self._boot += 1
        self.isn = IsnGenerator(self.cfg.isn, self.sim.rng(f"isn:{self.host.name}:{self._boot}"))
        self.cookie_key = self.sim.rng(f"cookies:{self.host.name}:{self._boot}").getrandbits(128).to_bytes(16, "big")

    # ----------------------------------------------------------- sockets

    def socket(self, app: str = "") -> Socket:
        from tcpsim.net.socket import Socket

        return Socket(self, app)

    def connections(self) -> list[Connection]:
        return list(self.conns.values())

    def netstat(self) -> list[tuple[str, str, str, int, int]]:
        """(local, foreign, state, recv-q, send-q) rows, listeners first."""
        rows = [(f"{lst.laddr}:{lst.lport}", "0.0.0.0:*", lst.state.value, len(lst.accept_queue), lst.backlog)
                for lst in self.listeners.values()]
        for c in self.conns.values():
            rows.append((f"{c.laddr}:{c.lport}", f"{c.raddr}:{c.rport}", c.state.value,
                         len(getattr(c, "rcv_buf", b"")), len(getattr(c, "snd_buf", b""))))
        return rows


def stack_of(host: Host) -> TcpStack:
    """The host's TCP layer, created on first use."""
    stack = getattr(host, "tcp", None)
    if stack is None:
        from tcpsim.net.node import Host as _Host

        assert isinstance(host, _Host)
        stack = TcpStack(host.sim, host)
    return stack


__all__ = ["TcpStack", "stack_of"]
