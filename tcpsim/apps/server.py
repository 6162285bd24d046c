"""``tcp-server`` and ``sink``: a listening socket and one process per accepted connection.

The behaviours are the ones that make TCP lessons: a well-behaved server
(``echo``, ``sink``, ``respond``), a server that closes first and so keeps
the TIME_WAIT (``close-after-response``), a buggy one that never calls
close() and so leaks CLOSE_WAIT (``never-close``), and one with a fixed pool
of workers that stops calling accept() when all are busy (``worker_limit``),
which is how an accept queue fills up in real life.

Requests have a fixed size (``request_size``) known to both sides, the
simplest framing there is: every ``request_size`` bytes read is one request,
answered with ``response_size`` bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tcpsim.apps.base import AppBody, TcpApp, fmt_time, payload
from tcpsim.net.socket import Socket, SocketError
from tcpsim.tcp.listener import Listener

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation

__all__ = ["BEHAVIOURS", "TcpServer"]

BEHAVIOURS = ("echo", "sink", "respond", "close-after-response", "never-close")

RECV_CHUNK = 65536


class TcpServer(TcpApp):
    """listen(), accept() in a loop, serve each connection by ``behaviour``.

    ``results()``: ``accepted``, ``open`` (connections not yet closed by the
    server at the end), ``requests``, ``bytes_received``, ``bytes_sent``,
    ``transfers`` (per connection: bytes, first and last byte times, goodput
    in bit/s), ``listener`` (the listen queue counters at the end of the
    run: SYNs received, SYN-ACKs and cookies sent, drops, ...), plus the
    common ``errors`` (e.g. ``bind`` EADDRINUSE on a restart).
    """

    type_name = "tcp-server"

    def __init__(self, sim: Simulation, host: Host, name: str, *, port: int = 80, backlog: int = 128,
                 behaviour: str = "respond", request_size: int = 100, response_size: int = 1000,
                 delay: float = 0.0, worker_limit: int | None = None, start: float = 0.0,
                 sockopts: dict[str, Any] | None = None) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r} (expected one of: {', '.join(BEHAVIOURS)})")
        self.port = port
        self.backlog = backlog
        self.behaviour = behaviour
        self.request_size = request_size
        self.response_size = response_size
        self.delay = delay
        self.worker_limit = worker_limit
        self.accepted = 0
        self.open = 0
        self.requests = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self.transfers: list[dict[str, Any]] = []
        self.listener_counters: dict[str, int] = {}
        self._listener: Listener | None = None
        self._slot: Any = None
        super().__init__(sim, host, name, start, sockopts)

    def main(self) -> AppBody:
        self.open = 0
        lsock = self.socket()
        try:
            lsock.bind(self.port)
            lsock.listen(self.backlog)
        except SocketError as e:
            self.record_error(e)
            self.close(lsock)
            self.running = False
            return
        self.listen_ports.add(self.port)
        assert lsock.listener is not None
        self._listener = lsock.listener
        self.say(f"{fmt_time(self.env.now)} listening on {self.host.address}:{self.port} "
                 f"(backlog {lsock.listener.backlog}, {self.behaviour})")
        while True:
            if self.worker_limit is not None and self.open >= self.worker_limit:
                # Every worker is busy: nobody calls accept(), the accept queue fills.
                self._slot = self.env.event()
                yield self._slot
                continue
            sock = yield lsock.accept()
            self.accepted += 1
            self.open += 1
            self.sockets.append(sock)
            self.note_conn(sock)
            self.spawn(self.serve(sock))

    def _closed(self, sock: Socket, *, abort: bool = False) -> None:
        self.close(sock, abort=abort)
        self.open -= 1
        slot = self._slot
        if slot is not None and not slot.triggered:
            self._slot = None
            slot.succeed()

    def serve(self, sock: Socket) -> AppBody:
        transfer: dict[str, Any] = {"conn": sock.conn.name if sock.conn else "", "bytes": 0,
                                    "first_byte": None, "last_byte": None, "goodput_bps": None}
        self.transfers.append(transfer)
        pending = 0  # bytes of the current, incomplete request
        answered = False
        try:
            while True:
                data = yield sock.recv(RECV_CHUNK)
                if not data:
                    break
                n = len(data)
                now = self.env.now
                self.bytes_received += n
                transfer["bytes"] += n
                if transfer["first_byte"] is None:
                    transfer["first_byte"] = now
                transfer["last_byte"] = now
                if self.behaviour == "sink":
                    continue
                if self.behaviour == "echo":
                    if self.delay:
                        yield self.env.timeout(self.delay)
                    yield sock.send(data)
                    self.bytes_sent += n
                    continue
                pending += n
                while pending >= self.request_size:
                    pending -= self.request_size
                    self.requests += 1
                    if self.delay:
                        yield self.env.timeout(self.delay)
                    if self.response_size:
                        yield sock.send(payload(self.response_size, b"r"))
                        self.bytes_sent += self.response_size
                    answered = True
                    if self.behaviour == "close-after-response":
                        break
                if answered and self.behaviour == "close-after-response":
                    break
        except SocketError as e:
            self.record_error(e)
            self._finish(transfer)
            self._closed(sock)
            return
        self._finish(transfer)
        if self.behaviour == "never-close":
            # The bug this behaviour shows: the peer has closed (EOF), we never do.
            # The connection stays in CLOSE_WAIT for as long as the process lives.
            return
        self._closed(sock)

    def _finish(self, transfer: dict[str, Any]) -> None:
        first, last = transfer["first_byte"], transfer["last_byte"]
        if first is not None and last is not None and last > first:
            transfer["goodput_bps"] = transfer["bytes"] * 8 / (last - first)

    def on_stop(self) -> None:
        self._snapshot_listener()
        self._listener = None
        self.open = 0

    def _snapshot_listener(self) -> None:
        # Kept across runs: a restarted server listens with a new queue.
        lst = self._listener
        if lst is not None:
            for k, v in lst.counters.items():
                self.listener_counters[k] = self.listener_counters.get(k, 0) + v
            lst.counters.clear()

    def results(self) -> dict[str, Any]:
        self._snapshot_listener()
        return {
            "port": self.port,
            "behaviour": self.behaviour,
            "accepted": self.accepted,
            "open": self.open,
            "requests": self.requests,
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "transfers": [dict(t) for t in self.transfers],
            "listener": dict(sorted(self.listener_counters.items())),
            **self.base_results(),
        }


class Sink(TcpServer):
    """``sink``: a server that reads everything and answers nothing (the receiving end of ``bulk``)."""

    type_name = "sink"

    def __init__(self, sim: Simulation, host: Host, name: str, *, port: int = 5001, backlog: int = 128,
                 start: float = 0.0, sockopts: dict[str, Any] | None = None) -> None:
        super().__init__(sim, host, name, port=port, backlog=backlog, behaviour="sink", start=start,
                         sockopts=sockopts)
