"""``tcp-client`` and ``bulk``: connect, talk, and end the connection one of four ways.

How a client ends a connection is most of what TCP's closing states are
about, so it is a first-class choice (``finish``):

* ``close``: close(2) right away; the client closes first and keeps the TIME_WAIT;
* ``shutdown``: shutdown(SHUT_WR), keep reading until the server's FIN, then
  close: the half-close, where data still flows towards the client in FIN_WAIT_2;
* ``linger0``: SO_LINGER {on, 0} then close: an abortive close, a RST and no TIME_WAIT;
* ``hold``: keep the connection open and idle, blocked in recv() as a client
  waiting for the server to speak; it ends on EOF (then closes) or on an error
  (ETIMEDOUT from keepalive, ECONNRESET from a rebooted peer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tcpsim.apps.base import AppBody, ClientApp, fmt_time, payload
from tcpsim.apps.server import RECV_CHUNK
from tcpsim.net.socket import Socket, SocketError

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation

__all__ = ["FINISHES", "BulkSender", "TcpClient"]

FINISHES = ("close", "shutdown", "linger0", "hold")


class TcpClient(ClientApp):
    """``count`` clients (``stagger`` apart), each: connect (from ``local_port`` when
    given, as for a simultaneous open), upload ``send`` bytes,
    make ``requests`` request/response exchanges (``think`` apart), stay idle
    ``idle``, then ``finish``.

    ``results()``: ``connections_made``, ``connections_failed``,
    ``requests``, ``bytes_sent``, ``bytes_received``, ``connect_times`` (the
    handshake's duration per connection), ``completion_times`` (from
    connect() to the end of the connection, per client that finished),
    ``completion_time`` (the longest), ``goodput_bps`` (application bytes
    both ways over the time from the first connect() to the last end), plus
    ``errors``.
    """

    type_name = "tcp-client"

    def __init__(self, sim: Simulation, host: Host, name: str, *, dst: str, port: int = 80,
                 count: int = 1, stagger: float = 0.0, send: int = 0, requests: int = 1,
                 request_size: int = 100, response_size: int = 1000, think: float = 0.0,
                 idle: float = 0.0, finish: str = "close", local_port: int | None = None, start: float = 0.0,
                 sockopts: dict[str, Any] | None = None, start_delay: float = 0.0,
                 on_error: str = "stop") -> None:
        if finish not in FINISHES:
            raise ValueError(f"unknown finish {finish!r} (expected one of: {', '.join(FINISHES)})")
        self.dst = dst
        self.port = port
        self.count = count
        self.stagger = stagger
        self.send_bytes = send
        self.requests_per_conn = requests
        self.request_size = request_size
        self.response_size = response_size
        self.think = think
        self.idle = idle
        self.finish = finish
        self.local_port = local_port
        self.start_delay = start_delay
        self.on_error = on_error
        self.made = 0
        self.failed = 0
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.connect_times: list[float] = []
        self.completion_times: list[float] = []
        self.first_connect: float | None = None
        self.last_end: float | None = None
        super().__init__(sim, host, name, start, sockopts)

    def main(self) -> AppBody:
        for i in range(self.count):
            if i and self.stagger:
                yield self.env.timeout(self.stagger)
            self.spawn(self.one())

    def one(self, first: int = 0) -> AppBody:
        """One client's connection, from request ``first`` on (after an error with
        ``on_error: continue``, the next connection takes the requests left)."""
        env = self.env
        sock = self.socket()
        t0 = env.now
        if self.first_connect is None:
            self.first_connect = t0
        if not (yield from self.connect_counted(sock, local_port=self.local_port)):
            if self._go_on(first + 1):
                yield from self.one(first + 1)
            return
        self.connect_times.append(env.now - t0)
        conn = sock.conn
        self.say(f"{fmt_time(env.now)} connected {conn.name if conn else ''} "
                 f"({(env.now - t0) * 1000:.1f} ms)")
        i = first
        try:
            if self.start_delay and first == 0:
                yield env.timeout(self.start_delay)
            if self.send_bytes and first == 0:
                yield sock.send(payload(self.send_bytes))
                self.bytes_sent += self.send_bytes
            for i in range(first, self.requests_per_conn):
                if i > first and self.think:
                    yield env.timeout(self.think)
                yield sock.send(payload(self.request_size, b"q"))
                self.bytes_sent += self.request_size
                got = 0
                while got < self.response_size:
                    data = yield sock.recv(RECV_CHUNK)
                    if not data:
                        break
                    got += len(data)
                self.bytes_received += got
                if got < self.response_size:
                    self.say(f"{fmt_time(env.now)} the server closed before answering in full "
                             f"({got} of {self.response_size} bytes)")
                    break
                self.requests += 1
            if self.idle:
                yield env.timeout(self.idle)
            yield from self.end(sock)
        except SocketError as e:
            self.record_error(e)
            self.close(sock)
            if self._go_on(i + 1):
                self.say(f"{fmt_time(env.now)} on_error: continue: connecting again for the requests left")
                yield from self.one(i + 1)
            return
        self.completion_times.append(env.now - t0)
        self.last_end = env.now

    def _go_on(self, next_request: int) -> bool:
        """After an error: start another connection for the requests left (on_error: continue)?"""
        return self.on_error == "continue" and next_request < self.requests_per_conn

    def end(self, sock: Socket) -> AppBody:
        env = self.env
        if self.finish == "close":
            self.close(sock)
        elif self.finish == "linger0":
            self.say(f"{fmt_time(env.now)} close() with SO_LINGER 0: abortive close (RST)")
            self.close(sock, abort=True)
        else:
            if self.finish == "shutdown":
                sock.shutdown("SHUT_WR")
                self.say(f"{fmt_time(env.now)} shutdown(SHUT_WR): no more data from us, still reading")
            while True:
                data = yield sock.recv(RECV_CHUNK)
                if not data:
                    break
                self.bytes_received += len(data)
            self.say(f"{fmt_time(env.now)} end of file from the peer: close()")
            self.close(sock)

    def results(self) -> dict[str, Any]:
        return {
            "dst": self.dst,
            "port": self.port,
            "connections_made": self.made,
            "connections_failed": self.failed,
            "requests": self.requests,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "connect_times": list(self.connect_times),
            "completion_times": list(self.completion_times),
            "completion_time": max(self.completion_times) if self.completion_times else None,
            "goodput_bps": self._goodput(),
            **self.base_results(),
        }

    def _goodput(self) -> float | None:
        """Application bytes moved both ways, in bit/s, from the first connect() to the last end."""
        if self.first_connect is None or self.last_end is None or self.last_end <= self.first_connect:
            return None
        return (self.bytes_sent + self.bytes_received) * 8 / (self.last_end - self.first_connect)


class BulkSender(ClientApp):
    """``bulk``: send ``bytes`` (or as much as fits in ``duration``) as fast as TCP allows.

    Ends with shutdown(SHUT_WR) and waits for the receiver's FIN, so the
    completion time covers delivery of the last byte, not just handing it to
    the kernel (a sender that just close()s cannot know when its data
    arrived). ``results()``: ``bytes_sent``, ``completion_time`` (connect()
    to the receiver's FIN), ``goodput_bps`` (bytes * 8 / completion_time).
    """

    type_name = "bulk"

    WRITE = 65536

    def __init__(self, sim: Simulation, host: Host, name: str, *, dst: str, port: int = 5001,
                 nbytes: int | None = None, duration: float | None = None, start: float = 0.0,
                 sockopts: dict[str, Any] | None = None, start_delay: float = 0.0) -> None:
        if (nbytes is None) == (duration is None):
            raise ValueError("bulk: give exactly one of bytes and duration")
        self.start_delay = start_delay
        self.dst = dst
        self.port = port
        self.nbytes = nbytes
        self.duration = duration
        self.bytes_sent = 0
        self.completion_time: float | None = None
        self.made = 0
        self.failed = 0
        super().__init__(sim, host, name, start, sockopts)

    def main(self) -> AppBody:
        env = self.env
        sock = self.socket()
        t0 = env.now
        if not (yield from self.connect_counted(sock)):
            return
        self.say(f"{fmt_time(env.now)} connected {sock.conn.name if sock.conn else ''}")
        try:
            if self.start_delay:
                yield env.timeout(self.start_delay)
            if self.nbytes is not None:
                left = self.nbytes
                while left > 0:
                    n = min(left, self.WRITE)
                    yield sock.send(payload(n))
                    self.bytes_sent += n
                    left -= n
            else:
                assert self.duration is not None
                stop = t0 + self.duration
                while env.now < stop:
                    yield sock.send(payload(self.WRITE))
                    self.bytes_sent += self.WRITE
            sock.shutdown("SHUT_WR")
            while True:
                data = yield sock.recv(RECV_CHUNK)
                if not data:
                    break
            self.close(sock)
        except SocketError as e:
            self.record_error(e)
            self.close(sock)
            return
        self.completion_time = env.now - t0
        rate = self.bytes_sent * 8 / self.completion_time if self.completion_time > 0 else None
        self.say(f"{fmt_time(env.now)} sent {self.bytes_sent} bytes in {self.completion_time:.3f} s"
                 + (f" ({rate / 1e6:.3f} Mbit/s)" if rate else ""))

    def results(self) -> dict[str, Any]:
        ct = self.completion_time
        return {
            "dst": self.dst,
            "port": self.port,
            "connections_made": self.made,
            "connections_failed": self.failed,
            "bytes_sent": self.bytes_sent,
            "completion_time": ct,
            "goodput_bps": self.bytes_sent * 8 / ct if ct else None,
            **self.base_results(),
        }
