"""A listening socket as a pure value: it takes a SYN and returns a decision.

The SYN queue holds half-open requests (children in SYN_RCVD); the accept
queue holds completed connections waiting for accept(). Sizes follow Linux:
the backlog is min(listen(backlog), somaxconn); the SYN queue counts as full
at the backlog; the accept queue is full when it holds more than the backlog
(``sk_acceptq_is_full`` uses ``>``).
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from enum import Enum

from tcpsim.tcp.config import TcpConfig
from tcpsim.tcp.connection import Connection, Output
from tcpsim.tcp.state import TRANSITIONS, State, TransitionError
from tcpsim.wire.segment import ACK, RST, SYN, Segment


class SynDecision(Enum):
    CHILD = "child"          # a new request in SYN_RCVD, SYN-ACK sent
    DROP = "drop"            # dropped (queue full, cookies off)
    RST = "rst"              # answered with a reset
    IGNORE = "ignore"        # nothing to do (a RST to a listener)


class Listener:
    __slots__ = ("cfg", "laddr", "lport", "backlog", "state", "syn_queue", "accept_queue", "counters",
                 "name", "transitions")

    def __init__(self, cfg: TcpConfig, laddr: str, lport: int, backlog: int) -> None:
        self.cfg = cfg
        self.laddr = laddr
        self.lport = lport
        # Linux: a backlog <= 0 means 0 here and a queue of one; capped by somaxconn.
        self.backlog = max(0, min(backlog, cfg.somaxconn))
        self.state = State.CLOSED
        self.syn_queue: dict[str, Connection] = {}
        self.accept_queue: deque[Connection] = deque()
        self.counters: Counter[str] = Counter()
        self.name = f"{laddr}:{lport}>0.0.0.0:*"
        self.transitions: list[tuple[State, State, str, str]] = []

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

    def on_segment(self, now: float, raddr: str, seg: Segment, iss: int) -> tuple[SynDecision, Connection | None, Output | None, Segment | None]:
        """SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2)."""
        flags = seg.flags
        if flags & RST:
            return SynDecision.IGNORE, None, None, None  # first: a RST to a listener is ignored
        if flags & ACK:
            # second: any ACK (a stray ACK, a SYN-ACK) is answered <SEQ=SEG.ACK><CTL=RST>.
            self.counters["rst_sent"] += 1
            return SynDecision.RST, None, None, Segment(seg.dport, seg.sport, seg.ack, 0, RST, 0)
        if not flags & SYN:
            return SynDecision.IGNORE, None, None, None
        self.counters["syns_received"] += 1
        if self.accept_queue_full():
            self.counters["listen_overflows"] += 1
            self.counters["listen_drops"] += 1
            return SynDecision.DROP, None, None, None
        if self.syn_queue_full():
            self.counters["listen_drops"] += 1
            self.counters["syn_queue_full_drops"] += 1
            return SynDecision.DROP, None, None, None
        child, out = Connection.from_syn(self.cfg, self.laddr, raddr, seg, iss, now)
        self.syn_queue[child.name] = child
        self.counters["synacks_sent"] += 1
        return SynDecision.CHILD, child, out, None

    def admit(self, child: Connection) -> bool:
        """May this half-open child complete its handshake now? (accept queue room)."""
        if self.accept_queue_full():
            self.counters["listen_overflows"] += 1
            self.counters["listen_drops"] += 1
            return False
        return True

    def established(self, child: Connection) -> None:
        self.syn_queue.pop(child.name, None)
        self.accept_queue.append(child)
        self.counters["completed"] += 1

    def forget(self, child: Connection) -> None:
        """A half-open request ended (RST, timeout) or an unaccepted child closed."""
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
