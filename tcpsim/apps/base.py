"""What every TCP application shares: a life cycle tied to its host, sockets, and results.

Why a base of its own rather than ``tcpsim.net.App``: TCP apps run several
SimPy processes at once (a server has one per connection), and they must
stop when the scenario kills them or their host crashes, then maybe start
again after a reboot. SimPy's ``Process.interrupt`` is a poor fit: a socket
event that already failed (the crash fails every blocked call) and whose
waiter was interrupted would have no one to handle its failure and would
stop the whole simulation. Instead every run of the app has an *epoch*; each
process is driven by ``_guard``, which after every wake-up checks that its
epoch is still current and otherwise closes the generator quietly. Killing
an app or crashing its host just bumps the epoch.

App bodies are plain generators that ``yield`` SimPy events (socket calls,
timeouts); a ``SocketError`` raised by a call is recorded by ``record_error``
with the time and errno name, which is what ends up in summary.json.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Any

import simpy

from tcpsim.net.socket import ERRNO_TEXT, Socket, SocketError
from tcpsim.net.tcp_layer import stack_of

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation
    from tcpsim.net.tcp_layer import TcpStack

__all__ = ["AppBody", "TcpApp", "MAX_LINES", "fmt_time", "payload"]

AppBody = Generator[simpy.Event, Any, None]

#: Lines of output an app keeps; a flood of a thousand connections would
#: otherwise bury everything else. Results in summary.json are never cut.
MAX_LINES = 200


def fmt_time(t: float) -> str:
    """A simulated time as the apps print it: seconds with millisecond precision."""
    return f"{t:9.3f}"


def payload(n: int, fill: bytes = b"x") -> bytes:
    """``n`` bytes of application data (the content never matters, only the count)."""
    return fill * n


class TcpApp:
    """One TCP application on one host.

    Subclasses implement ``main()`` (the body of one run) and extend
    ``results()``. ``start`` is when the first run begins; ``restart()``
    (a reboot with ``restart_apps``, or a ``start:`` event) begins another.
    """

    type_name = "tcp-app"

    def __init__(self, sim: Simulation, host: Host, name: str, start: float = 0.0,
                 sockopts: dict[str, Any] | None = None) -> None:
        self.sim = sim
        self.env = sim.env
        self.host = host
        self.name = name
        self.start = start
        self.stack: TcpStack = stack_of(host)
        self.sockopts = dict(sockopts or {})
        self._lines: list[str] = []
        self._suppressed = 0
        self.errors: list[dict[str, Any]] = []
        self.epoch = 0
        self.running = False
        self.starts = 0
        self.kills = 0
        self.sockets: list[Socket] = []
        # Every connection this app ever had (``LOCAL>REMOTE`` names) and every
        # port it listened on: expectations filter connections by app with these.
        self.conn_names: list[str] = []
        self.listen_ports: set[int] = set()
        host.on_down.append(self._host_down)
        epoch = self.epoch
        sim.call_at(max(start, sim.now), self._start_if, epoch)

    # -- life cycle ----------------------------------------------------------------

    def _start_if(self, epoch: int) -> None:
        if epoch == self.epoch and self.host.up and not self.running:
            self.launch()

    def launch(self) -> None:
        """Begin a run now (a fresh epoch)."""
        self.epoch += 1
        self.running = True
        self.starts += 1
        if self.starts > 1:
            self.say(f"{fmt_time(self.env.now)} started again")
        self.spawn(self.main())

    def spawn(self, body: AppBody) -> None:
        """Run ``body`` as a process of the current run."""
        self.env.process(self._guard(body, self.epoch))

    def _guard(self, body: AppBody, epoch: int) -> AppBody:
        """Drive ``body``, ending it quietly as soon as its run is over (see the module docstring)."""
        value: Any = None
        exc: BaseException | None = None
        while True:
            try:
                ev = body.throw(exc) if exc is not None else body.send(value)
            except StopIteration:
                return
            except SocketError as e:
                # An error the body did not handle ends that process; it is still a result.
                if self.epoch == epoch:
                    self.record_error(e)
                return
            try:
                value = yield ev
                exc = None
            except simpy.Interrupt:
                body.close()
                return
            except Exception as e:  # a failed event, e.g. a SocketError from connect()
                value, exc = None, e
            if self.epoch != epoch:
                body.close()
                return

    def main(self) -> AppBody:  # pragma: no cover - every app overrides
        raise NotImplementedError
        yield

    def kill(self, reason: str = "killed") -> None:
        """Stop the app as ``kill -9`` does: the host closes its sockets (FIN, or RST when data is unread)."""
        if not self.running:
            return
        self.epoch += 1
        self.running = False
        self.kills += 1
        self.sim.trace.app(self.env.now, self.host.name, self.name, "killed", {"reason": reason})
        self.say(f"{fmt_time(self.env.now)} {reason}: its sockets are closed by the host")
        for sock in self.sockets:
            if not sock.fd_closed:
                sock.close()
        self.sockets.clear()
        self.on_stop()

    def restart(self) -> None:
        """Kill the app if it runs, then start it again now."""
        self.kill("killed for a restart")
        if self.host.up:
            self.launch()

    def _host_down(self) -> None:
        # The host crashed: its TCP layer already forgot every socket, nothing is sent.
        if not self.running:
            self.epoch += 1  # a start still pending for this host's previous life is void
            return
        self.epoch += 1
        self.running = False
        self.sockets.clear()
        self.sim.trace.app(self.env.now, self.host.name, self.name, "killed", {"reason": "host crashed"})
        self._lines.append(f"{fmt_time(self.env.now)} host {self.host.name} crashed")
        self.on_stop()

    def on_stop(self) -> None:
        """Hook for subclasses: the run ended (killed or crashed)."""

    # -- sockets -------------------------------------------------------------------

    def socket(self, sockopts: dict[str, Any] | None = None) -> Socket:
        """A new socket of this app with its socket options applied."""
        sock = self.stack.socket(self.name)
        for opt, value in (self.sockopts if sockopts is None else sockopts).items():
            sock.setsockopt(opt, value)
        self.sockets.append(sock)
        return sock

    def close(self, sock: Socket, *, abort: bool = False) -> None:
        """close(2) (or an abortive close) and forget the socket."""
        if not sock.fd_closed:
            if abort:
                sock.abort()
            else:
                sock.close()
        if sock in self.sockets:
            self.sockets.remove(sock)

    def note_conn(self, sock: Socket) -> None:
        conn = sock.conn
        if conn is not None and conn.name not in self.conn_names:
            self.conn_names.append(conn.name)

    # -- output and results ----------------------------------------------------------

    def say(self, text: str) -> None:
        """A line of output (kept, and recorded in the trace) unless the app already said a lot."""
        if len(self._lines) >= MAX_LINES:
            self._suppressed += 1
            return
        self._lines.append(text)
        self.sim.trace.app(self.env.now, self.host.name, self.name, "line", {"text": text})

    @property
    def lines(self) -> list[str]:
        if self._suppressed:
            return [*self._lines, f"... and {self._suppressed} more lines (see summary.json for the results)"]
        return list(self._lines)

    def record_error(self, err: SocketError, *, quiet: bool = False) -> None:
        self.errors.append({"t": self.env.now, "errno": err.errno, "call": err.call})
        if not quiet:
            self.say(f"{fmt_time(self.env.now)} {err.call}: {err.errno} ({ERRNO_TEXT.get(err.errno, err.errno)})")

    def base_results(self) -> dict[str, Any]:
        counts = Counter(e["errno"] for e in self.errors)
        return {
            "errors": list(self.errors),
            "error_counts": dict(sorted(counts.items())),
            "starts": self.starts,
            "kills": self.kills,
            "connections": list(self.conn_names),
        }

    def results(self) -> dict[str, Any]:
        return self.base_results()


def sum_field(items: Iterable[dict[str, Any]], key: str) -> int:
    return sum(int(i.get(key, 0)) for i in items)


class ClientApp(TcpApp):
    """An app that opens connections to ``dst``:``port`` and counts them."""

    dst: str
    port: int
    made: int
    failed: int

    def connect_counted(self, sock: Socket, *, local_port: int | None = None, quiet: bool = False,
                        count_failure: bool = True) -> Generator[simpy.Event, Any, bool]:
        """connect() ``sock``; count it as made or failed and remember its connection.

        A failure is recorded (``quiet`` keeps it out of the printed lines) and the socket
        closed; ``count_failure=False`` only closes it (an app that vanished on purpose).
        """
        try:
            if local_port is not None:
                sock.bind(local_port)
            try:
                ev = sock.connect(self.dst, self.port)
            finally:
                # The connection is the app's from its SYN on: an app killed inside connect()
                # never comes back here, and its half-open connection must still be its own.
                self.note_conn(sock)
            yield ev
        except SocketError as e:
            if count_failure:
                self.failed += 1
                self.record_error(e, quiet=quiet)
            self.note_conn(sock)
            self.close(sock)
            return False
        self.made += 1
        self.note_conn(sock)
        return True
