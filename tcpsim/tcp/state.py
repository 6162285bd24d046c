"""TCP states and the one declared transition table (RFC 9293 §3.3.2, Figure 5).

Member names follow the RFC; values are the spellings ``netstat -nat`` prints,
which is what users see everywhere (trace, summary, plots).
"""

from __future__ import annotations

from enum import Enum


class State(Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN_SENT"
    SYN_RCVD = "SYN_RECV"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN_WAIT1"
    FIN_WAIT_2 = "FIN_WAIT2"
    CLOSE_WAIT = "CLOSE_WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST_ACK"
    TIME_WAIT = "TIME_WAIT"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str) -> State:
        """Accept the netstat spelling, the RFC spelling, or the member name."""
        key = text.strip().upper().replace("-", "_")
        for s in cls:
            if key in (s.name, s.value) or key.replace("_", "") == s.name.replace("_", ""):
                return s
        if key == "SYN_RECEIVED":
            return cls.SYN_RCVD
        raise ValueError(f"unknown TCP state {text!r}")


def identity_hash(cls: type) -> type:
    """Hash the members of an Enum by identity: a C-level hash instead of
    ``Enum.__hash__`` (a Python call hashing the member's name). Members are
    singletons, so equality is identity anyway; the hot path looks states and
    timer kinds up in dicts and sets on every segment."""
    cls.__hash__ = object.__hash__  # type: ignore[method-assign,assignment]
    return cls


identity_hash(State)
S = State

# Every edge this implementation can take, with what drives it. The RFC's
# figure also has LISTEN -> SYN_SENT (SEND on a listening socket), which no
# socket API offers; SYN_RCVD -> CLOSE_WAIT, which step five (no ACK, no
# progress) makes unreachable; and FIN_WAIT_1 -> TIME_WAIT, which the
# processing rules (and Linux) take as two steps: the ACK of our FIN moves to
# FIN_WAIT_2 first, then the FIN in the same segment to TIME_WAIT. None of
# them is listed, so none can be taken.
TRANSITIONS: dict[tuple[State, State], str] = {
    (S.CLOSED, S.LISTEN): "passive OPEN (listen)",
    (S.CLOSED, S.SYN_SENT): "active OPEN (connect), send SYN",
    (S.LISTEN, S.SYN_RCVD): "rcv SYN, send SYN,ACK",
    (S.LISTEN, S.CLOSED): "CLOSE of the listener",
    (S.SYN_SENT, S.SYN_RCVD): "rcv SYN (simultaneous open), send SYN,ACK",
    (S.SYN_SENT, S.ESTABLISHED): "rcv SYN,ACK, send ACK",
    (S.SYN_SENT, S.CLOSED): "CLOSE, RST, ICMP error or SYN timeout",
    (S.SYN_RCVD, S.ESTABLISHED): "rcv ACK of SYN",
    (S.SYN_RCVD, S.LISTEN): "rcv RST (passive open)",
    (S.SYN_RCVD, S.FIN_WAIT_1): "CLOSE, send FIN",
    (S.SYN_RCVD, S.CLOSED): "RST (active open), SYN,ACK timeout or ABORT",
    (S.ESTABLISHED, S.FIN_WAIT_1): "CLOSE, send FIN",
    (S.ESTABLISHED, S.CLOSE_WAIT): "rcv FIN, send ACK",
    (S.ESTABLISHED, S.CLOSED): "RST, ABORT or retransmission timeout",
    (S.FIN_WAIT_1, S.FIN_WAIT_2): "rcv ACK of FIN",
    (S.FIN_WAIT_1, S.CLOSING): "rcv FIN, send ACK",
    (S.FIN_WAIT_1, S.CLOSED): "RST, ABORT or retransmission timeout",
    (S.FIN_WAIT_2, S.TIME_WAIT): "rcv FIN, send ACK",
    (S.FIN_WAIT_2, S.CLOSED): "FIN_WAIT_2 timeout (orphan), RST or ABORT",
    (S.CLOSE_WAIT, S.LAST_ACK): "CLOSE, send FIN",
    (S.CLOSE_WAIT, S.CLOSED): "RST, ABORT or retransmission timeout",
    (S.CLOSING, S.TIME_WAIT): "rcv ACK of FIN",
    (S.CLOSING, S.CLOSED): "RST, ABORT or retransmission timeout",
    (S.LAST_ACK, S.CLOSED): "rcv ACK of FIN, RST or retransmission timeout",
    (S.TIME_WAIT, S.CLOSED): "2MSL timeout, RST or SYN reuse",
}

SYNCHRONIZED = frozenset({
    S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT,
})


class TransitionError(RuntimeError):
    """A state change that the transition table does not declare (a bug, never input)."""
