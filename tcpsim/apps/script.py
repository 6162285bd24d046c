"""``script``: an application that makes the socket calls it is given, at the times it is given.

The other apps decide for themselves when to call what; a script is for the
lesson that needs one exact sequence ("the server closes at 5 s, the client's
next recv() fails"). Each step is one call on a ``tcpsim.net.socket.Socket``,
the same calls every other app makes, run when the previous one has returned
and the step's time has come. Times are kept in whole nanoseconds, so steps
``after: 1ms`` apart land on 0.001, 0.002, 0.003 s exactly as written.

Every step and its result is an APP record ``what="step"`` in the trace
(the socket layer also records the call itself as ``what="call"``, for every app)
(detail: ``step``, ``call``, ``fd``, ``args``, ``start``, and ``result`` or
``errno``, plus ``expect``/``ok`` when the step checks it), and a line of
output; ``results()["calls"]`` lists them for summary.json. A failed call
is also an error of the app (``errors``, for ``{app:, call:, error:}``
expectations).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy

from tcpsim.apps.base import AppBody, TcpApp, fmt_time
from tcpsim.net.socket import ERRNO_TEXT, Socket, SocketError

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation

__all__ = ["ScriptApp", "Step", "call_text", "expect_met"]


@dataclass(frozen=True)
class Step:
    """One call: its name, its arguments (``fd``, ``port``, ``to`` as ``ADDR:PORT``...), its time, its check."""

    index: int
    call: str
    args: dict[str, Any]
    at_ns: int | None = None
    after_ns: int | None = None
    expect: Any = None
    data: bytes | None = None


def call_text(call: str, args: dict[str, Any]) -> str:
    """``recv(s, 100)``, ``connect(s, 198.51.100.1:80)``, ``setsockopt(s, IP_TTL, 2)``."""
    parts: list[str] = []
    if "fd" in args:
        parts.append(str(args["fd"]))
    for key in ("port", "backlog", "to", "bytes", "how", "opt", "value", "duration"):
        if key in args:
            v = args[key]
            if isinstance(v, dict):
                v = "{" + ", ".join(f"{k}: {x}" for k, x in v.items()) + "}"
            elif key == "duration":
                v = f"{v:g}s"
            parts.append(str(v))
    return f"{call}({', '.join(parts)})"


def _shown(value: Any) -> str:
    if isinstance(value, tuple):  # SO_LINGER as the socket keeps it
        return f"{{onoff: {int(bool(value[0]))}, linger: {value[1]}}}"
    return str(value)


def expect_met(call: str, opt: str | None, expect: Any, result: Any, errno: str | None) -> bool:
    """Does the outcome (``result`` or ``errno``) meet ``expect`` (ok, a value, an errno name)?"""
    if expect == "ok":
        return errno is None
    if call == "getsockopt" and errno is None:
        if isinstance(expect, dict) and isinstance(result, tuple):
            return (int(bool(result[0])), int(result[1])) == (int(expect["onoff"]), int(expect["linger"]))
        if isinstance(expect, str) and opt == "SO_ERROR":
            return result == expect
        if isinstance(expect, int) and not isinstance(result, str | tuple):
            return int(result) == expect
        return False
    if isinstance(expect, str):
        return errno == expect
    return errno is None and result == expect


class ScriptApp(TcpApp):
    """Runs ``steps`` once per start. ``results()``: ``calls`` (each call, its times and
    result), ``failed_expectations``, ``bytes_sent``, ``bytes_received``, plus ``errors``."""

    type_name = "script"

    def __init__(self, sim: Simulation, host: Host, name: str, steps: list[Step], *,
                 stop_on_error: bool = False, start: float = 0.0, sockopts: dict[str, Any] | None = None) -> None:
        self.steps = list(steps)
        self.stop_on_error = stop_on_error
        self.calls: list[dict[str, Any]] = []
        self.bytes_sent = 0
        self.bytes_received = 0
        self._current: dict[str, Any] | None = None
        self.stopped_at: int | None = None
        super().__init__(sim, host, name, start, sockopts)

    # -- running -------------------------------------------------------------------

    def _until(self, t_ns: int) -> simpy.Event:
        """An event at exactly ``t_ns`` nanoseconds (a timeout would add float error to the delay)."""
        ev = self.env.event()
        self.sim.call_at(max(t_ns / 1e9, self.env.now), ev.succeed)
        return ev

    def main(self) -> AppBody:
        fds: dict[str, Socket] = {}
        numbers: dict[str, int] = {}
        for step in self.steps:
            now_ns = round(self.env.now * 1e9)
            target = step.at_ns if step.at_ns is not None else now_ns + (step.after_ns or 0)
            if target > now_ns:
                yield self._until(target)
            if step.call == "kill":
                self._finish(step, self.env.now, 0, None)
                self.kill("killed by its script")
                return
            t0 = self.env.now
            self._current = {"step": step.index, "call": step.call, "fd": step.args.get("fd"), "start": t0,
                             "text": call_text(step.call, step.args)}
            result: Any = None
            errno: str | None = None
            try:
                result = yield from self._do(step, fds, numbers)
            except SocketError as e:
                errno = e.errno
            if not self._finish(step, t0, result, errno):
                self.stopped_at = step.index
                self.say(f"{fmt_time(self.env.now)} stop_on_error: the script stops here")
                return

    def _do(self, step: Step, fds: dict[str, Socket], numbers: dict[str, int]) -> Generator[simpy.Event, Any, Any]:
        a = step.args
        call = step.call
        if call == "socket":
            sock = self.socket()
            sock.nonblocking = bool(a.get("nonblocking", False))
            old = fds.pop(a["fd"], None)
            if old is not None:
                numbers.pop(a["fd"], None)
            fds[a["fd"]] = sock
            numbers[a["fd"]] = self._fd_number(numbers)
            return numbers[a["fd"]]
        if call == "sleep":
            yield self._until(round(self.env.now * 1e9) + round(float(a["duration"]) * 1e9))
            return 0
        sock_or_none = fds.get(a["fd"])
        if sock_or_none is None:
            raise SocketError("EBADF", call)
        sock = sock_or_none
        if call == "bind":
            sock.bind(int(a["port"]))
        elif call == "listen":
            sock.listen(int(a.get("backlog", 128)))
            if sock.lport is not None:
                self.listen_ports.add(sock.lport)
        elif call == "accept":
            child = yield sock.accept()
            assert isinstance(child, Socket)
            self.sockets.append(child)
            self.note_conn(child)
            name = a["as"]
            if name in fds:
                numbers.pop(name, None)
            fds[name] = child
            numbers[name] = self._fd_number(numbers)
            return numbers[name]
        elif call == "connect":
            addr, _, port = str(a["to"]).rpartition(":")
            try:
                ev = sock.connect(addr, int(port))
            finally:
                # The connection is the app's from the SYN on, even if the app dies in connect().
                self.note_conn(sock)
            yield ev
        elif call == "send":
            data = step.data or b""
            n = yield sock.send(data)
            self.bytes_sent += int(n)
            return int(n)
        elif call == "recv":
            want = int(a.get("bytes", 65536))
            got = 0
            while True:
                chunk = yield sock.recv(want - got)
                got += len(chunk)
                if not a.get("waitall") or not chunk or got >= want:
                    break
            self.bytes_received += got
            return got
        elif call == "shutdown":
            sock.shutdown(str(a["how"]))
        elif call == "close":
            self.close(sock)
            del fds[a["fd"]]
            numbers.pop(a["fd"], None)
        elif call == "setsockopt":
            sock.setsockopt(str(a["opt"]), a["value"])
        elif call == "getsockopt":
            return sock.getsockopt(str(a["opt"]))
        else:  # pragma: no cover - the schema lists every call
            raise ValueError(f"unknown call {call!r}")
        return 0

    @staticmethod
    def _fd_number(numbers: dict[str, int]) -> int:
        """The lowest free descriptor, as Linux hands them out (0-2 are stdin, stdout, stderr)."""
        taken = set(numbers.values())
        n = 3
        while n in taken:
            n += 1
        return n

    def _finish(self, step: Step, t0: float, result: Any, errno: str | None) -> bool:
        """Record the call; False when the script must stop here (stop_on_error)."""
        now = self.env.now
        self._current = None
        entry: dict[str, Any] = {"step": step.index, "call": step.call, "fd": step.args.get("fd"),
                                 "text": call_text(step.call, step.args), "start": t0, "t": now}
        if errno is not None:
            entry["errno"] = errno
        else:
            entry["result"] = _shown(result) if isinstance(result, tuple) else result
        ok = True
        if step.expect is not None:
            ok = expect_met(step.call, step.args.get("opt"), step.expect, result, errno)
            entry["expect"] = step.expect
            entry["ok"] = ok
        self.calls.append(entry)
        self.sim.trace.app(now, self.host.name, self.name, "step", dict(entry))
        outcome = f"{errno} ({ERRNO_TEXT.get(errno, errno)})" if errno is not None else _shown(result)
        self.say(f"{fmt_time(now)} {entry['text']} -> {outcome}"
                 + ("" if ok else f"   [expected {step.expect}]"))
        if errno is not None:
            self.errors.append({"t": now, "errno": errno, "call": step.call})
        unexpected_error = errno is not None and step.expect is None
        return not (self.stop_on_error and (not ok or unexpected_error))

    def on_stop(self) -> None:
        cur = self._current
        if cur is not None:
            self._current = None
            entry = {**cur, "t": self.env.now, "interrupted": True}
            self.calls.append(entry)
            self.sim.trace.app(self.env.now, self.host.name, self.name, "step", dict(entry))

    # -- results -------------------------------------------------------------------

    def step_outcomes(self) -> list[tuple[Step, dict[str, Any] | None]]:
        """Each step with an ``expect:`` and the last call it made (None: it never returned)."""
        last: dict[int, dict[str, Any]] = {}
        for c in self.calls:
            last[c["step"]] = c
        if self._current is not None:
            last[self._current["step"]] = {**self._current, "blocked": True}
        return [(s, last.get(s.index)) for s in self.steps if s.expect is not None]

    def results(self) -> dict[str, Any]:
        calls = [dict(c) for c in self.calls]
        if self._current is not None:
            calls.append({**self._current, "blocked": True})
        return {
            "calls": calls,
            "failed_expectations": sum(1 for c in self.calls if c.get("ok") is False),
            "stopped_at_step": self.stopped_at,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            **self.base_results(),
        }
