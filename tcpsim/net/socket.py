"""BSD-style sockets for simulated apps; blocking calls are SimPy events.

An app is a SimPy process::

    sock = stack.socket("client")
    yield sock.connect("198.51.100.1", 80)      # raises SocketError("ECONNREFUSED") ...
    yield sock.send(b"GET / HTTP/1.0\\r\\n\\r\\n")
    data = yield sock.recv(4096)                 # b"" at EOF
    sock.close()

Errors reach the app as :class:`SocketError` carrying the errno name Linux
would report. At trace level ``states`` and above every call an app makes is
recorded when it returns (an APP record ``what="call"``: the call, its
arguments, ``ok`` or the errno, what it returned, and when a blocking call was
made), so a run can be read back as the app's sequence of system calls. A pending error (after a RST, a timeout) is reported once by
the next call, as ``sock_error()`` does; afterwards ``send`` gives EPIPE and
``recv`` gives end of file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import simpy

from tcpsim.tcp.connection import Connection, Event
from tcpsim.tcp.listener import Listener
from tcpsim.tcp.state import State

if TYPE_CHECKING:
    from tcpsim.net.tcp_layer import TcpStack

SOCKET_OPTIONS = frozenset({
    "SO_KEEPALIVE", "SO_REUSEADDR", "SO_LINGER", "SO_ERROR", "SO_RCVBUF", "SO_SNDBUF",
    "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT", "TCP_USER_TIMEOUT",
    "TCP_MAXSEG", "TCP_NODELAY", "IP_TTL",
})

ERRNO_TEXT = {
    "ECONNREFUSED": "Connection refused",
    "ETIMEDOUT": "Connection timed out",
    "ECONNRESET": "Connection reset by peer",
    "EPIPE": "Broken pipe",
    "EHOSTUNREACH": "No route to host",
    "ENETUNREACH": "Network is unreachable",
    "EADDRINUSE": "Address already in use",
    "EADDRNOTAVAIL": "Cannot assign requested address",
    "EINPROGRESS": "Operation now in progress",
    "EAGAIN": "Resource temporarily unavailable",
    "ENOTCONN": "Transport endpoint is not connected",
    "EISCONN": "Transport endpoint is already connected",
    "EBADF": "Bad file descriptor",
    "EINVAL": "Invalid argument",
    "ECONNABORTED": "Software caused connection abort",
    "EALREADY": "Operation already in progress",
    "ENOPROTOOPT": "Protocol not available",
    "EHOSTDOWN": "Host is down",
    "EOPNOTSUPP": "Operation not supported",
}


class SocketError(Exception):
    """A failed socket call; ``errno`` is the name Linux reports (``ECONNREFUSED``...)."""

    def __init__(self, errno: str, call: str = "") -> None:
        # SimPy re-creates a failed event's exception from its args when it throws it
        # into the waiting process, so the args must be exactly the constructor's.
        super().__init__(errno, call)
        self.errno = errno
        self.call = call

    def __str__(self) -> str:
        text = ERRNO_TEXT.get(self.errno, self.errno)
        return f"{self.call}: {self.errno} ({text})" if self.call else f"{self.errno} ({text})"


_F = TypeVar("_F", bound=Callable[..., Any])


def _args_text(call: str, args: tuple[Any, ...]) -> str:
    if call == "connect" and len(args) == 2:
        return f"{args[0]}:{args[1]}"
    if call == "send" and args and isinstance(args[0], bytes | bytearray):
        return f"{len(args[0])} bytes"
    return ", ".join(str(a) for a in args)


def _traced(call: str) -> Callable[[_F], _F]:
    """Record the call when it returns (see the module docstring); free below trace level states."""

    def wrap(fn: _F) -> _F:
        @functools.wraps(fn)
        def traced(self: Socket, *args: Any) -> Any:
            if not self.stack.trace.keep_states:
                return fn(self, *args)
            since = self.env.now
            try:
                value = fn(self, *args)
            except SocketError as exc:
                self._record_call(call, args, since, exc.errno, None)
                raise
            if isinstance(value, simpy.Event) and value.callbacks is not None:
                value.callbacks.append(lambda ev: self._call_returned(call, args, since, ev))
            else:
                self._record_call(call, args, since, "ok", None)
            return value

        return traced  # type: ignore[return-value]

    return wrap


class Socket:
    """One socket of one host's TCP layer."""

    def __init__(self, stack: TcpStack, app: str = "") -> None:
        self.stack = stack
        self.env: simpy.Environment = stack.env
        self.app = app
        self.conn: Connection | None = None
        self.listener: Listener | None = None
        self.lport: int | None = None
        self.opts: dict[str, Any] = {}
        self.nonblocking = False
        self.pending_error: str | None = None
        self.fd_closed = False
        self.was_connected = False
        self.peer_eof = False
        self._connect_ev: simpy.Event | None = None
        # Plain lists: a socket rarely has more than one call waiting, and an empty deque
        # costs 760 bytes against a list's 56 (thousands of idle sockets add up).
        self._recv_waiters: list[tuple[simpy.Event, int]] = []
        self._send_waiter: tuple[simpy.Event, bytes, int] | None = None
        self._accept_waiters: list[simpy.Event] = []
        self._holds_bind = False

    # ------------------------------------------------------------ helpers

    def __repr__(self) -> str:
        what = self.conn.name if self.conn else (f"listen :{self.lport}" if self.listener else "unbound")
        return f"<Socket {self.stack.host.name} {what}>"

    def _done(self, value: Any = None) -> simpy.Event:
        ev = self.env.event()
        ev.succeed(value)
        return ev

    def _take_error(self) -> str | None:
        err, self.pending_error = self.pending_error, None
        return err

    def _record_call(self, call: str, args: tuple[Any, ...], since: float, result: str, value: Any) -> None:
        now = self.env.now
        conn = self.conn.name if self.conn is not None else self.listener.name if self.listener is not None else ""
        detail: dict[str, Any] = {"call": call, "args": _args_text(call, args), "conn": conn, "result": result}
        if value is not None:
            detail["value"] = value
        if since != now:
            detail["since"] = since
        self.stack.trace.app(now, self.stack.host.name, self.app, "call", detail)

    def _call_returned(self, call: str, args: tuple[Any, ...], since: float, ev: simpy.Event) -> None:
        if not ev.ok:
            exc = ev.value
            self._record_call(call, args, since, exc.errno if isinstance(exc, SocketError) else str(exc), None)
            return
        v = ev.value
        value = len(v) if isinstance(v, bytes) else v if isinstance(v, int) else \
            (v.conn.name if v.conn is not None else None) if isinstance(v, Socket) else None
        self._record_call(call, args, since, "ok", value)

    def _check_open(self, call: str) -> None:
        if self.fd_closed:
            raise SocketError("EBADF", call)

    @property
    def state(self) -> State:
        if self.listener is not None:
            return self.listener.state
        if self.conn is not None:
            return self.conn.state
        return State.CLOSED

    # ------------------------------------------------------------ options

    def setsockopt(self, name: str, value: Any) -> None:
        self._check_open("setsockopt")
        if name not in SOCKET_OPTIONS:
            raise SocketError("ENOPROTOOPT", f"setsockopt({name})")
        if name == "SO_LINGER":
            if isinstance(value, dict):
                value = (bool(value.get("onoff")), int(value.get("linger", 0)))
            elif isinstance(value, int | float):
                value = (True, int(value))
        elif name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT", "TCP_MAXSEG") and \
                (not isinstance(value, int | float) or value < 1):
            raise SocketError("EINVAL", f"setsockopt({name})")
        elif name == "IP_TTL":
            # ip(7): 1..255, or -1 for the system default (net.ipv4.ip_default_ttl); else EINVAL.
            if not isinstance(value, int) or not (1 <= value <= 255 or value == -1):
                raise SocketError("EINVAL", f"setsockopt({name})")
            if value == -1:
                self.opts.pop(name, None)
                if self.conn is not None:
                    self.stack.ttls.pop(self.conn.name, None)
                return
        self.opts[name] = value
        conn = self.conn
        if conn is not None:
            self._apply_opts(conn)

    def getsockopt(self, name: str) -> Any:
        if name == "SO_ERROR":
            return self._take_error() or 0
        if name == "IP_TTL":
            return self.opts.get(name, self.stack.host.ttl)  # ip(7): unset reads the default TTL
        if name in ("SO_RCVBUF", "SO_SNDBUF") and name in self.opts:
            # socket(7): the kernel doubles the value set (for its bookkeeping) and returns that.
            return 2 * int(self.opts[name])
        return self.opts.get(name, 0)

    def _apply_opts(self, conn: Connection) -> None:
        o = self.opts
        now = self.env.now
        if "TCP_KEEPIDLE" in o:
            idle = float(o["TCP_KEEPIDLE"])
            moved = conn.keepalive and idle != conn.keep_idle
            conn.keep_idle = idle
            if moved:
                # Linux tcp_sock_set_keepidle_locked(): a running keepalive timer is moved
                # to the new idle time, counted from the last segment received.
                self.stack._apply(conn, conn.set_keepalive(now, True, from_last_rcv=True))
        if "TCP_KEEPINTVL" in o:
            conn.keep_intvl = float(o["TCP_KEEPINTVL"])
        if "TCP_KEEPCNT" in o:
            conn.keep_cnt = int(o["TCP_KEEPCNT"])
        if "TCP_SYNCNT" in o:
            conn.syn_retries = int(o["TCP_SYNCNT"])
        if "TCP_USER_TIMEOUT" in o:
            conn.user_timeout = float(o["TCP_USER_TIMEOUT"]) / 1000.0  # milliseconds, as in Linux
        if "TCP_NODELAY" in o:
            conn.nodelay = bool(o["TCP_NODELAY"])
        if "TCP_MAXSEG" in o and conn.state in (State.CLOSED, State.SYN_SENT):
            conn.our_mss = min(int(o["TCP_MAXSEG"]), conn.our_mss)
        if "IP_TTL" in o:
            self.stack.ttls[conn.name] = int(o["IP_TTL"])
        if "SO_KEEPALIVE" in o and bool(o["SO_KEEPALIVE"]) != conn.keepalive:
            self.stack._apply(conn, conn.set_keepalive(now, bool(o["SO_KEEPALIVE"])))

    # ------------------------------------------------------------ bind / listen

    @_traced("bind")
    def bind(self, port: int) -> None:
        """bind(2) to ``port`` of the host's address (0 = an ephemeral port)."""
        self._check_open("bind")
        if self.lport is not None:
            raise SocketError("EINVAL", "bind")
        stack = self.stack
        if port == 0:
            p = stack.ephemeral_port("0.0.0.0", 0)
            if p is None:
                raise SocketError("EADDRINUSE", "bind")
            port = p
        if not 0 < port <= 65535:
            raise SocketError("EINVAL", "bind")
        if port in stack.listeners:
            raise SocketError("EADDRINUSE", "bind")
        if (stack.bound.get(port) or stack.port_refs.get(port)) and not self.opts.get("SO_REUSEADDR"):
            # A socket of this port still exists (TIME_WAIT included): Linux refuses
            # without SO_REUSEADDR.
            raise SocketError("EADDRINUSE", "bind")
        self.lport = port
        stack.bound[port] = stack.bound.get(port, 0) + 1
        self._holds_bind = True

    @_traced("listen")
    def listen(self, backlog: int = 128) -> None:
        self._check_open("listen")
        stack = self.stack
        if self.conn is not None:
            raise SocketError("EINVAL", "listen")
        if self.lport is None:
            Socket.bind.__wrapped__(self, 0)  # type: ignore[attr-defined]  # autobind: not a call of the app
        assert self.lport is not None
        if self.listener is not None:
            self.listener.backlog = max(0, min(backlog, stack.cfg.somaxconn))
            return
        lst = Listener(stack.cfg, stack.host.address, self.lport, backlog, stack.cookie_key)
        self.listener = lst
        stack.listeners[self.lport] = lst
        stack.listen_sockets[self.lport] = self
        for old, new, cause, rfc in lst.listen():
            stack.trace.state(self.env.now, stack.host.name, lst.name, old.value, new.value, cause, rfc)

    @_traced("accept")
    def accept(self) -> simpy.Event:
        """An event whose value is a new connected Socket."""
        self._check_open("accept")
        if self.listener is None:
            raise SocketError("EINVAL", "accept")
        ev = self.env.event()
        self._accept_waiters.append(ev)
        self._notify_accept()
        if not ev.triggered and self.nonblocking:
            self._accept_waiters.remove(ev)
            raise SocketError("EAGAIN", "accept")
        return ev

    def _notify_accept(self) -> None:
        lst = self.listener
        while self._accept_waiters and lst is not None and lst.accept_queue:
            child = lst.accept()
            assert child is not None
            s = Socket(self.stack, self.app)
            s.conn = child
            s.lport = child.lport
            s.was_connected = True
            s.opts = {k: v for k, v in self.opts.items() if k != "SO_LINGER"} | (
                {"SO_LINGER": self.opts["SO_LINGER"]} if "SO_LINGER" in self.opts else {})
            self.stack.sockets[child] = s
            s._apply_opts(child)
            if child.peer_fin:
                s.peer_eof = True
            if child.state is State.CLOSED:
                s.pending_error = child.error
            self._accept_waiters.pop(0).succeed(s)
            if self.stack.trace.keep_queues:
                self.stack.sample_listener(lst)

    # ------------------------------------------------------------ connect

    @_traced("connect")
    def connect(self, addr: str, port: int) -> simpy.Event:
        """Active open. The event succeeds when ESTABLISHED, or fails with the errno."""
        self._check_open("connect")
        stack = self.stack
        if self.conn is not None:
            if self.conn.state is State.SYN_SENT:
                raise SocketError("EALREADY", "connect")
            raise SocketError("EISCONN", "connect")
        if self.listener is not None:
            raise SocketError("EINVAL", "connect")
        if self.lport is None:
            p = stack.ephemeral_port(addr, port)
            if p is None:
                raise SocketError("EADDRNOTAVAIL", "connect")
            lport = p
        else:
            lport = self.lport
            other = stack.conns.get((lport, addr, port))
            if other is not None:
                if other.state is State.TIME_WAIT and stack._tw_reusable(other):
                    stack._forget_tw(other)
                else:
                    raise SocketError("EADDRNOTAVAIL", "connect")
        now = self.env.now
        iss = stack.isn(now, stack.host.address, lport, addr, port)
        conn = Connection(stack.cfg, stack.host.address, lport, addr, port, iss)
        # The MSS follows the path's MTU (IP and TCP headers: 40 bytes). Announcing it in the SYN
        # also keeps the peer's segments within it, as the peer sends min(our MSS, its own).
        mtu = stack.host.path_mtu(addr)
        if mtu is not None:
            conn.our_mss = max(1, min(conn.our_mss, mtu - 40))
        self.conn = conn
        self.lport = lport
        self._apply_opts_pre(conn)
        stack.add_conn(conn, self)
        ev = self.env.event()
        self._connect_ev = ev
        stack.counters["active_opens"] += 1
        stack._apply(conn, conn.open_active(now))
        if self.nonblocking and not ev.triggered:
            self._connect_ev = None
            raise SocketError("EINPROGRESS", "connect")
        return ev

    def _apply_opts_pre(self, conn: Connection) -> None:
        o = self.opts
        if "TCP_MAXSEG" in o:
            conn.our_mss = min(int(o["TCP_MAXSEG"]), conn.our_mss)
        if "TCP_SYNCNT" in o:
            conn.syn_retries = int(o["TCP_SYNCNT"])
        if "TCP_NODELAY" in o:
            conn.nodelay = bool(o["TCP_NODELAY"])
        if "TCP_USER_TIMEOUT" in o:
            conn.user_timeout = float(o["TCP_USER_TIMEOUT"]) / 1000.0
        if o.get("SO_KEEPALIVE"):
            conn.keepalive = True
        for opt, attr in (("TCP_KEEPIDLE", "keep_idle"), ("TCP_KEEPINTVL", "keep_intvl")):
            if opt in o:
                setattr(conn, attr, float(o[opt]))
        if "TCP_KEEPCNT" in o:
            conn.keep_cnt = int(o["TCP_KEEPCNT"])
        if "IP_TTL" in o:
            self.stack.ttls[conn.name] = int(o["IP_TTL"])

    # ------------------------------------------------------------ data

    @_traced("send")
    def send(self, data: bytes) -> simpy.Event:
        """Queue all of ``data``; the event's value is the byte count once all is queued."""
        self._check_open("send")
        err = self._take_error()
        if err is not None:
            raise SocketError(err, "send")
        conn = self.conn
        if conn is None or self.listener is not None:
            raise SocketError("EPIPE" if self.was_connected else "ENOTCONN", "send")
        if conn.state not in (State.ESTABLISHED, State.CLOSE_WAIT) or conn.wr_shut:
            if conn.state is State.SYN_SENT or (conn.state is State.SYN_RCVD and not conn.wr_shut):
                raise SocketError("ENOTCONN" if not self.nonblocking else "EAGAIN", "send")
            raise SocketError("EPIPE", "send")
        if self._send_waiter is not None:
            raise SocketError("EAGAIN", "send")
        n, out = conn.send(self.env.now, data)
        self.stack._apply(conn, out)
        if n == len(data):
            return self._done(n)
        if self.nonblocking:
            if n == 0:
                raise SocketError("EAGAIN", "send")
            return self._done(n)
        ev = self.env.event()
        self._send_waiter = (ev, data[n:], len(data))
        return ev

    @_traced("recv")
    def recv(self, n: int = 65536) -> simpy.Event:
        """Up to ``n`` bytes; ``b""`` at end of file."""
        self._check_open("recv")
        ev = self.env.event()
        self._recv_waiters.append((ev, n))
        self._serve_recv()
        if not ev.triggered and self.nonblocking:
            self._recv_waiters.remove((ev, n))
            raise SocketError("EAGAIN", "recv")
        return ev

    def _serve_recv(self) -> None:
        while self._recv_waiters:
            ev, n = self._recv_waiters[0]
            conn = self.conn
            if conn is not None and conn.readable_bytes:
                data, out = conn.receive(self.env.now, n)
                self.stack._apply(conn, out)
                self._recv_waiters.pop(0)
                ev.succeed(data)
                continue
            if self.peer_eof:
                # The peer's FIN came first: end of file, whatever happened since (Linux
                # tcp_recvmsg() checks SOCK_DONE before sk_err; the error stays for SO_ERROR).
                self._recv_waiters.pop(0)
                ev.succeed(b"")
                continue
            err = self._take_error()
            if err is not None:
                self._recv_waiters.pop(0)
                ev.fail(SocketError(err, "recv"))
                continue
            if conn is None and not self.was_connected:
                self._recv_waiters.pop(0)
                ev.fail(SocketError("ENOTCONN", "recv"))
                continue
            if self.peer_eof or conn is None or conn.state is State.CLOSED or conn.rd_shut:
                self._recv_waiters.pop(0)
                ev.succeed(b"")
                continue
            return

    def _serve_send(self) -> None:
        if self._send_waiter is None:
            return
        ev, rest, total = self._send_waiter
        conn = self.conn
        if conn is None or conn.state not in (State.ESTABLISHED, State.CLOSE_WAIT):
            return
        n, out = conn.send(self.env.now, rest)
        self.stack._apply(conn, out)
        if n == len(rest):
            self._send_waiter = None
            ev.succeed(total)
        else:
            self._send_waiter = (ev, rest[n:], total)

    # ------------------------------------------------------------ closing

    @_traced("shutdown")
    def shutdown(self, how: str) -> None:
        """``SHUT_RD``, ``SHUT_WR`` or ``SHUT_RDWR``."""
        self._check_open("shutdown")
        conn = self.conn
        if conn is None or conn.state is State.CLOSED:
            raise SocketError("ENOTCONN", "shutdown")
        read = how in ("SHUT_RD", "SHUT_RDWR")
        write = how in ("SHUT_WR", "SHUT_RDWR")
        if not (read or write):
            raise SocketError("EINVAL", "shutdown")
        self.stack._apply(conn, conn.shutdown(self.env.now, read, write))
        if read:
            self._serve_recv()

    @_traced("close")
    def close(self) -> None:
        """close(2). With SO_LINGER {on, 0} the connection is aborted with a RST."""
        if self.fd_closed:
            return
        self.fd_closed = True
        stack = self.stack
        now = self.env.now
        self._release_bind()
        if self.listener is not None:
            self._close_listener()
            return
        conn = self.conn
        if conn is None:
            return
        linger = self.opts.get("SO_LINGER")
        if linger and linger[0] and linger[1] == 0:
            stack._apply(conn, conn.abort(now, "close() with SO_LINGER {on, 0}: abortive close"))
        else:
            stack._apply(conn, conn.close(now))
        for ev, _ in self._recv_waiters:
            ev.fail(SocketError("EBADF", "recv"))
        self._recv_waiters.clear()

    @_traced("abort")
    def abort(self) -> None:
        """Abortive close (RST), as SO_LINGER 0 + close() does."""
        self.opts["SO_LINGER"] = (True, 0)
        Socket.close.__wrapped__(self)  # type: ignore[attr-defined]  # recorded as this abort

    def _close_listener(self) -> None:
        stack = self.stack
        lst = self.listener
        assert lst is not None and self.lport is not None
        now = self.env.now
        for old, new, cause, rfc in lst.close():
            stack.trace.state(now, stack.host.name, lst.name, old.value, new.value, cause, rfc)
        stack.listeners.pop(self.lport, None)
        stack.listen_sockets.pop(self.lport, None)
        # Half-open requests vanish; completed but unaccepted children are reset (inet_csk_listen_stop).
        for child in list(lst.syn_queue.values()):
            stack._apply(child, child.drop_request(now, "listener closed: half-open request dropped"))
        for child in list(lst.accept_queue):
            stack._apply(child, child.abort(now, "listener closed before accept(): RST"))
        for ev in self._accept_waiters:
            ev.fail(SocketError("EBADF", "accept"))
        self._accept_waiters.clear()

    def _release_bind(self) -> None:
        if self._holds_bind and self.lport is not None:
            b = self.stack.bound
            n = b.get(self.lport, 0) - 1
            if n > 0:
                b[self.lport] = n
            else:
                b.pop(self.lport, None)
            self._holds_bind = False

    def _release_port(self) -> None:
        """The connection is gone; nothing to release beyond an explicit bind (kept until close)."""
        return

    # ------------------------------------------------------------ events from the stack

    def _on_event(self, ev: Event, detail: str) -> None:
        if ev is Event.CONNECTED:
            self.was_connected = True
            cev = self._connect_ev
            if cev is not None:
                self._connect_ev = None
                cev.succeed()
            self._serve_recv()
        elif ev is Event.READABLE:
            self._serve_recv()
        elif ev is Event.EOF:
            self.peer_eof = True
            self._serve_recv()
        elif ev is Event.WRITABLE:
            self._serve_send()
        elif ev is Event.ERROR:
            self.pending_error = detail
            cev = self._connect_ev
            if cev is not None:
                self._connect_ev = None
                self.pending_error = None
                # Linux __inet_stream_connect(): a blocking connect() that fails disconnects the
                # socket (tcp_disconnect()), which is then unconnected again: recv() gives ENOTCONN
                # rather than end of file, and connect() may be tried again.
                self.conn = None
                if not self._holds_bind:
                    self.lport = None
                cev.fail(SocketError(detail, "connect"))
            if self._send_waiter is not None:
                sev = self._send_waiter[0]
                self._send_waiter = None
                self.pending_error = None
                sev.fail(SocketError(detail, "send"))
            self._serve_recv()
        elif ev is Event.CLOSED:
            self._serve_recv()

    def _on_crash(self) -> None:
        """The host crashed under this socket. Blocked calls never return: the app died
        with its host, so its SimPy process is simply never resumed."""
        self.pending_error = None
        self.conn = None
        self.listener = None
        self._connect_ev = None
        self._recv_waiters.clear()
        self._send_waiter = None
        self._accept_waiters.clear()
