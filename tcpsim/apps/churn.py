"""``churn`` and ``vanishing-client``: many short lives, and lives that end without a goodbye.

``churn`` opens short connections at a steady rate, one request each, and
closes them: the client closes first, so each leaves a TIME_WAIT holding its
local port for the profile's TIME_WAIT length. Given a narrow
``net.ipv4.ip_local_port_range``, connect() runs out of 4-tuples and fails
with EADDRNOTAVAIL. With ``pool: N`` the same requests travel over N
persistent connections instead, and the problem never arises.

``vanishing-client`` is the laptop that loses power or Wi-Fi: it connects,
then its host crashes (``vanish: crash``) or its link is pulled
(``vanish: unplug``) without a FIN, comes back after ``down_for`` and
connects again, ``times`` times. The server is left holding connections to
a peer that no longer knows them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from tcpsim.apps.base import AppBody, ClientApp, fmt_time, payload
from tcpsim.apps.server import RECV_CHUNK
from tcpsim.net.socket import Socket, SocketError

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation

__all__ = ["Churn", "VanishingClient"]


class Churn(ClientApp):
    """``rate`` requests per second for ``duration`` (or ``connections`` requests in all).

    Each request uses a fresh connection (connect, request, response, close
    or abortive close by ``finish``), or, with ``pool``, one of ``pool``
    connections kept open. ``results()``: ``attempts``,
    ``connections_made``, ``connections_failed``, ``requests``, plus
    ``errors`` (each with its time) and ``error_counts``.
    """

    type_name = "churn"

    def __init__(self, sim: Simulation, host: Host, name: str, *, dst: str, port: int = 80, rate: float = 10.0,
                 duration: float | None = None, connections: int | None = None, request_size: int = 100,
                 response_size: int = 1000, pool: int = 0, finish: str = "close", start: float = 0.0,
                 sockopts: dict[str, Any] | None = None) -> None:
        if finish not in ("close", "linger0"):
            raise ValueError(f"churn: finish must be close or linger0, got {finish!r}")
        self.dst = dst
        self.port = port
        self.rate = rate
        self.duration = duration
        self.total = connections if connections is not None else max(int(round((duration or 0) * rate)), 1)
        self.request_size = request_size
        self.response_size = response_size
        self.pool = pool
        self.finish = finish
        self.attempts = 0
        self.made = 0
        self.failed = 0
        self.requests = 0
        super().__init__(sim, host, name, start, sockopts)

    def main(self) -> AppBody:
        env = self.env
        t0 = env.now
        gap = 1.0 / self.rate
        if self.pool:
            self.say(f"{fmt_time(t0)} {self.total} requests at {self.rate:g}/s over {self.pool} persistent connections")
            for k in range(self.pool):
                share = len(range(k, self.total, self.pool))
                self.spawn(self.pooled(t0 + k * gap, gap * self.pool, share))
            return
        self.say(f"{fmt_time(t0)} {self.total} connections at {self.rate:g}/s, one request each")
        for i in range(self.total):
            at = t0 + i * gap
            if at > env.now:
                yield env.timeout(at - env.now)
            self.spawn(self.attempt())

    def _connect(self) -> Generator[simpy.Event, Any, Socket | None]:
        """connect() a new socket; the socket is the value (None when it failed)."""
        sock = self.socket()
        self.attempts += 1
        ok = yield from self.connect_counted(sock, quiet=len(self.errors) >= 20)
        return sock if ok else None

    def _exchange(self, sock: Socket) -> AppBody:
        yield sock.send(payload(self.request_size, b"q"))
        got = 0
        while got < self.response_size:
            data = yield sock.recv(RECV_CHUNK)
            if not data:
                break
            got += len(data)
        if got >= self.response_size:
            self.requests += 1

    def attempt(self) -> AppBody:
        sock = yield from self._connect()
        if sock is None:
            return
        try:
            yield from self._exchange(sock)
        except SocketError as e:
            self.record_error(e, quiet=len(self.errors) >= 20)
        self.close(sock, abort=self.finish == "linger0")

    def pooled(self, first: float, gap: float, n: int) -> AppBody:
        env = self.env
        sock: Socket | None = None
        for i in range(n):
            at = first + i * gap
            if at > env.now:
                yield env.timeout(at - env.now)
            if sock is None:
                sock = yield from self._connect()
                if sock is None:
                    continue
            try:
                yield from self._exchange(sock)
            except SocketError as e:
                self.record_error(e, quiet=len(self.errors) >= 20)
                self.close(sock)
                sock = None
        if sock is not None:
            self.close(sock, abort=self.finish == "linger0")

    def results(self) -> dict[str, Any]:
        return {
            "dst": self.dst, "port": self.port, "attempts": self.attempts, "connections_made": self.made,
            "connections_failed": self.failed, "requests": self.requests, **self.base_results(),
        }


class VanishingClient(ClientApp):
    """Connect ``count`` connections, make ``requests`` exchanges, wait ``after``, vanish; ``times`` times.

    ``vanish: crash`` crashes the host (every TCB lost, nothing sent) and
    brings it back ``down_for`` later; ``vanish: unplug`` takes ``link``
    down, and the app gives its connections up while the link is down (its
    RSTs are lost with the link), then plugs it back in. Either way the
    server hears nothing. After the last comeback the client connects once
    more and stays. ``results()``: ``vanished`` (times), ``connections_made``,
    ``connections_failed``, plus ``errors``.

    Unlike other apps it outlives its host's crashes: it plays the user who
    pulls the plug, not a process on the machine.
    """

    type_name = "vanishing-client"

    def __init__(self, sim: Simulation, host: Host, name: str, *, dst: str, port: int = 80, count: int = 1,
                 requests: int = 1, request_size: int = 100, response_size: int = 1000, after: float = 1.0,
                 down_for: float = 5.0, times: int = 1, vanish: str = "crash", link: str | None = None,
                 start: float = 0.0, sockopts: dict[str, Any] | None = None) -> None:
        if vanish not in ("crash", "unplug"):
            raise ValueError(f"vanish must be crash or unplug, got {vanish!r}")
        if vanish == "unplug":
            if link is None:
                if len(host.links) != 1:
                    raise ValueError(f"host {host.name!r} has {len(host.links)} links: say which one to unplug (link:)")
                link = host.links[0].name
            sim.link(link)  # raises ValueError for an unknown link
        self.dst = dst
        self.port = port
        self.count = count
        self.requests_per_conn = requests
        self.request_size = request_size
        self.response_size = response_size
        self.after = after
        self.down_for = down_for
        self.times = times
        self.vanish = vanish
        self.link = link
        self.vanished = 0
        self.made = 0
        self.failed = 0
        self.requests = 0
        self._gone = False
        super().__init__(sim, host, name, start, sockopts)

    def _host_down(self) -> None:
        # Our own crashes do not stop us (see the class docstring); the sockets are gone.
        if self._gone:
            self.sockets.clear()
            return
        super()._host_down()

    def main(self) -> AppBody:
        env = self.env
        for cycle in range(self.times + 1):
            self._gone = False
            for _ in range(self.count):
                self.spawn(self.connection())
            if cycle == self.times:
                return
            yield env.timeout(self.after)
            self._gone = True
            self.vanished += 1
            if self.vanish == "crash":
                self.say(f"{fmt_time(env.now)} power lost: {self.host.name} crashes without a word")
                self.sim.node_down(self.host.name)
            else:
                assert self.link is not None
                self.say(f"{fmt_time(env.now)} link {self.link} unplugged; the app gives up its connections")
                self.sim.link_down(self.link)
                for sock in list(self.sockets):
                    self.close(sock, abort=True)
            yield env.timeout(self.down_for)
            if self.vanish == "crash":
                self.sim.node_up(self.host.name)
                self.say(f"{fmt_time(env.now)} {self.host.name} is back, with no memory of its connections")
            else:
                assert self.link is not None
                self.sim.link_up(self.link)
                self.say(f"{fmt_time(env.now)} link {self.link} plugged back in")

    def connection(self) -> AppBody:
        env = self.env
        sock = self.socket()
        if not (yield from self.connect_counted(sock, count_failure=not self._gone)):
            return
        self.say(f"{fmt_time(env.now)} connected {sock.conn.name if sock.conn else ''}")
        try:
            for _ in range(self.requests_per_conn):
                yield sock.send(payload(self.request_size, b"q"))
                got = 0
                while got < self.response_size:
                    data = yield sock.recv(RECV_CHUNK)
                    if not data:
                        break
                    got += len(data)
                self.requests += 1
            while True:  # stay connected and idle, as a client waiting for news
                data = yield sock.recv(RECV_CHUNK)
                if not data:
                    break
            self.close(sock)
        except SocketError as e:
            if self._gone:
                return  # our own vanishing: ECONNABORTED (crash) or EBADF (given up)
            self.record_error(e)
            self.close(sock)

    def results(self) -> dict[str, Any]:
        return {
            "dst": self.dst, "port": self.port, "vanished": self.vanished, "connections_made": self.made,
            "connections_failed": self.failed, "requests": self.requests, **self.base_results(),
        }
