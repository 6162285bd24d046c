"""A packet-trace style harness for driving one Connection (smoltcp-like).

``T`` holds one connection under test and plays the remote peer: ``send``
injects a segment at a time, ``expect`` asserts the exact segments the
connection emitted. Sequence numbers are absolute; the local ISN is
``LOCAL_ISS`` and the remote one ``REMOTE_ISS`` unless a test says otherwise.
"""

from __future__ import annotations

from typing import Any

from tcpsim.tcp import Connection, Output, State, TcpConfig, make_config
from tcpsim.tcp.listener import Listener, SynDecision
from tcpsim.wire.segment import ACK, FIN, PSH, RST, SYN, URG, Segment

LOCAL = "198.51.100.1"
REMOTE = "192.0.2.1"
LPORT = 80
RPORT = 40000
LOCAL_ISS = 10_000
REMOTE_ISS = 50_000

_LETTERS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, "U": URG, ".": ACK}


def flags(text: str) -> int:
    v = 0
    for ch in text:
        v |= _LETTERS[ch]
    return v


def seg(fl: str, seq: int, ack: int = 0, win: int = 64240, data: bytes = b"", **opts: Any) -> Segment:
    """A segment from the remote peer to the local connection."""
    return Segment(RPORT, LPORT, seq, ack, flags(fl), win, data, **opts)


def plain(cfg: TcpConfig | None = None, **overrides: Any) -> TcpConfig:
    """The linux profile without timestamps, SACK and window scaling: segments stay short to read."""
    base = cfg or make_config("linux")
    fields = {"timestamps": False, "sack": False, "window_scaling": False}
    fields.update(overrides)
    return base.replace(**fields)


def describe(s: Segment) -> tuple[Any, ...]:
    from tcpsim.wire.segment import flags_text

    return (flags_text(s.flags), s.seq, s.ack, s.window, len(s.payload))


class T:
    """One connection under test and the clock."""

    def __init__(self, cfg: TcpConfig | None = None, iss: int = LOCAL_ISS) -> None:
        self.cfg = cfg or plain()
        self.iss = iss
        self.now = 0.0
        self.conn: Connection | None = None
        self.listener: Listener | None = None
        self.outs: list[Output] = []
        self.transitions: list[tuple[str, str]] = []
        self.events: list[tuple[str, str]] = []
        self.sent: list[tuple[float, Segment]] = []

    # -- driving --------------------------------------------------------------

    def at(self, t: float) -> T:
        self.now = t
        return self

    def _record(self, out: Output) -> Output:
        self.outs.append(out)
        for a, b, _, _ in out.transitions:
            self.transitions.append((a.value, b.value))
        for ev, d in out.events:
            self.events.append((ev.value, d))
        for s in out.segments:
            self.sent.append((self.now, s))
        return out

    def connect(self) -> Output:
        self.conn = Connection(self.cfg, LOCAL, LPORT, REMOTE, RPORT, self.iss)
        return self._record(self.conn.open_active(self.now))

    def listen(self, backlog: int = 128) -> None:
        self.listener = Listener(self.cfg, LOCAL, LPORT, backlog)
        for a, b, _, _ in self.listener.listen():
            self.transitions.append((a.value, b.value))

    def send(self, s: Segment) -> Output:
        """Deliver a segment from the peer."""
        if self.conn is None or (self.conn.state in (State.CLOSED, State.LISTEN) and self.listener is not None):
            assert self.listener is not None, "no connection and no listener"
            decision, child, out, reply = self.listener.on_segment(self.now, REMOTE, s, self.iss)
            if decision is SynDecision.CHILD:
                assert child is not None and out is not None
                self.conn = child
                return self._record(out)
            out = Output()
            if reply is not None:
                out.segments.append(reply)
            return self._record(out)
        return self._record(self.conn.on_segment(self.now, s))

    def tick(self, t: float) -> Output:
        """Advance the clock and fire due timers."""
        self.now = t
        assert self.conn is not None
        return self._record(self.conn.on_timer(t))

    def run_timers(self, until: float) -> list[tuple[float, Segment]]:
        """Fire every deadline up to ``until``; return (time, segment) for what was sent."""
        assert self.conn is not None
        sent: list[tuple[float, Segment]] = []
        while True:
            dl = self.conn.next_deadline()
            if dl is None or dl > until:
                break
            out = self.tick(dl)
            sent += [(dl, s) for s in out.segments]
            if self.conn.state is State.CLOSED:
                break
        self.now = max(self.now, until) if self.conn.state is not State.CLOSED else self.now
        return sent

    def app_send(self, data: bytes) -> Output:
        assert self.conn is not None
        n, out = self.conn.send(self.now, data)
        assert n == len(data)
        return self._record(out)

    def app_recv(self, n: int = 1 << 20) -> bytes:
        assert self.conn is not None
        data, out = self.conn.receive(self.now, n)
        self._record(out)
        return data

    def close(self) -> Output:
        assert self.conn is not None
        return self._record(self.conn.close(self.now))

    def shutdown_wr(self) -> Output:
        assert self.conn is not None
        return self._record(self.conn.shutdown(self.now, False, True))

    def abort(self) -> Output:
        assert self.conn is not None
        return self._record(self.conn.abort(self.now))

    # -- fixtures for each state ------------------------------------------------

    def established_active(self) -> T:
        """SYN sent, SYN-ACK received, ACK sent: ESTABLISHED with snd_nxt = rcv_nxt = ISN+1."""
        self.connect()
        self.send(seg("S.", REMOTE_ISS, self.iss + 1, mss=1460))
        assert self.state == "ESTABLISHED"
        return self

    def established_passive(self) -> T:
        self.listen()
        self.send(seg("S", REMOTE_ISS, mss=1460))
        self.send(seg(".", REMOTE_ISS + 1, self.iss + 1))
        assert self.state == "ESTABLISHED"
        return self

    # -- inspection ---------------------------------------------------------------

    @property
    def state(self) -> str:
        assert self.conn is not None
        return self.conn.state.value

    @property
    def c(self) -> Connection:
        assert self.conn is not None
        return self.conn


def expect(out: Output, *wanted: tuple[Any, ...]) -> None:
    """Assert the exact segments: (flags, seq, ack[, win[, len]]) each."""
    got = [describe(s) for s in out.segments]
    want = []
    for i, w in enumerate(wanted):
        g = got[i] if i < len(got) else None
        want.append(tuple(w) + tuple(g[len(w):]) if g is not None else tuple(w))
    assert got == want, f"segments: got {got}, expected {want}"


def expect_nothing(out: Output) -> None:
    assert out.segments == [], f"expected no segment, got {[describe(s) for s in out.segments]}"
