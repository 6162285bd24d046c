"""``type: script``: an application that is a list of socket calls, each at a chosen time.

Each step names one call (``call: connect``) and its arguments; the step's
kind is its ``call`` key, so a key that call does not take is reported at
that key. Timing: a step runs when the previous call has returned and its
``at:`` (absolute simulated time) or ``after:`` (delay from the previous
call's return) has come; with neither it runs at once.

``expect:`` checks the call's outcome: ``ok`` (it did not fail), a return
value (an integer; for getsockopt the value read, ``{onoff, linger}`` for
SO_LINGER, an errno name for SO_ERROR), or an errno name (it failed with
that errno).

File descriptors are names (``fd: s``) given by ``socket`` and by
``accept``'s ``as:``; a step using a name no earlier step gave is an error
of the file, found before the run.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from tcpsim.scenario.base import Loc, Name, Problem, Spec, is_ipv4
from tcpsim.scenario.tcpapps import SOCKOPTS, TcpAppBase, sockopt_problem
from tcpsim.scenario.units import Duration, PositiveDuration, Size, describe, duration_ns

if TYPE_CHECKING:
    from tcpsim.scenario.build import BuildContext

__all__ = ["CALLS", "GETSOCKOPTS", "ScriptSpec", "StepSpec", "expect_problem"]

CALLS = ("socket", "bind", "listen", "accept", "connect", "send", "recv", "shutdown", "close", "setsockopt",
         "getsockopt", "sleep", "kill")
SETSOCKOPTS = SOCKOPTS
GETSOCKOPTS = tuple(sorted((*SETSOCKOPTS, "SO_ERROR")))
_ERRNO = re.compile(r"^E[A-Z0-9]+$")
_TO = re.compile(r"^(?P<node>[^:\s]+):(?P<port>\d+)$")


def expect_problem(call: str, opt: str | None, value: Any) -> str | None:
    """What is wrong with ``expect: value`` on a ``call`` step, or None."""
    if value == "ok" or (isinstance(value, str) and _ERRNO.match(value)):
        return None
    if call == "getsockopt":
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        if opt == "SO_LINGER" and isinstance(value, dict) and set(value) == {"onoff", "linger"} \
                and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            return None
        return (f"expected ok, an errno name (ECONNREFUSED...), the value read (an integer"
                f"{', or {onoff: 0|1, linger: seconds}' if opt == 'SO_LINGER' else ''}), got {describe(value)}")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"expected ok, a return value (an integer >= 0) or an errno name such as ECONNRESET, got {describe(value)}"


class _Step(Spec):
    """What every step has: when it runs and what it should give."""

    at: Duration | None = Field(None, description="Run at this simulated time (or at once, if it has passed).")
    after: Duration | None = Field(None, description="Or: run this long after the previous call returned.")
    expect: Any = Field(None, description="ok, a return value, or an errno name (ECONNRESET...).")

    @model_validator(mode="after")
    def _one_time(self) -> _Step:
        if self.at is not None and self.after is not None:
            raise ValueError("expected at most one of at (an absolute time) and after (a delay)")
        return self

    def fds_used(self) -> list[str]:
        fd = getattr(self, "fd", None)
        return [fd] if fd is not None and getattr(self, "call", "") != "socket" else []

    def fd_made(self) -> str | None:
        return None


class SocketStep(_Step):
    """socket(AF_INET, SOCK_STREAM): a new socket named ``fd``."""

    call: Literal["socket"]
    fd: Name = Field(description="The name the new socket goes by.")
    nonblocking: bool = Field(False, description="O_NONBLOCK: calls that would block fail with EAGAIN/EINPROGRESS.")

    def fd_made(self) -> str | None:
        return self.fd


class BindStep(_Step):
    call: Literal["bind"]
    fd: Name
    port: Annotated[int, Field(ge=0, le=65535)] = Field(description="Local port (0: an ephemeral one).")


class ListenStep(_Step):
    call: Literal["listen"]
    fd: Name
    backlog: Annotated[int, Field(ge=0, le=65535)] = Field(128, description="listen() backlog (capped by net.core.somaxconn).")


class AcceptStep(_Step):
    call: Literal["accept"]
    fd: Name
    as_: Name = Field(alias="as", description="The name of the accepted connection's socket.")

    def fd_made(self) -> str | None:
        return self.as_


class ConnectStep(_Step):
    call: Literal["connect"]
    fd: Name
    to: str = Field(description="'HOST:PORT': a host or router name, or an IPv4 address, and a port.")


class SendStep(_Step):
    call: Literal["send"]
    fd: Name
    bytes: Size | None = Field(None, description="Send this many bytes.")
    data: str | None = Field(None, description="Or: send this text (UTF-8).")

    @model_validator(mode="after")
    def _one_of(self) -> SendStep:
        if (self.bytes is None) == (self.data is None):
            raise ValueError("expected exactly one of bytes (a count) and data (a text)")
        return self

    def payload(self) -> builtins.bytes:
        return self.data.encode() if self.data is not None else b"x" * (self.bytes or 0)


class RecvStep(_Step):
    call: Literal["recv"]
    fd: Name
    bytes: Annotated[Size, Field(ge=1)] = Field(65536, description="Read at most this many bytes.")
    waitall: bool = Field(False, description="MSG_WAITALL: wait for all of them (or end of file, or an error).")


class ShutdownStep(_Step):
    call: Literal["shutdown"]
    fd: Name
    how: Literal["SHUT_RD", "SHUT_WR", "SHUT_RDWR"] = Field(description="SHUT_RD, SHUT_WR or SHUT_RDWR.")


class CloseStep(_Step):
    call: Literal["close"]
    fd: Name


class SetsockoptStep(_Step):
    call: Literal["setsockopt"]
    fd: Name
    opt: str = Field(description="Option name: " + ", ".join(SETSOCKOPTS) + ".")
    value: Any = Field(description="Its value (SO_LINGER: {onoff: 1, linger: 0}).")


class GetsockoptStep(_Step):
    call: Literal["getsockopt"]
    fd: Name
    opt: str = Field(description="Option name: " + ", ".join(GETSOCKOPTS) + ".")


class SleepStep(_Step):
    call: Literal["sleep"]
    duration: PositiveDuration = Field(description="How long.")


class KillStep(_Step):
    """The app dies with its sockets open: the host closes them (as ``kill -9``)."""

    call: Literal["kill"]


StepSpec = Annotated[
    Union[  # noqa: UP007
        SocketStep, BindStep, ListenStep, AcceptStep, ConnectStep, SendStep, RecvStep, ShutdownStep, CloseStep,
        SetsockoptStep, GetsockoptStep, SleepStep, KillStep,
    ],
    Field(discriminator="call"),
]


def parse_to(text: str) -> tuple[str, int] | None:
    m = _TO.match(text)
    if m is None or not 1 <= int(m.group("port")) <= 65535:
        return None
    return m.group("node"), int(m.group("port"))


class ScriptSpec(TcpAppBase):
    """Socket calls at chosen times, each result recorded and checked."""

    type: Literal["script"]
    steps: list[StepSpec] = Field(min_length=1, description="The calls, in order.")
    stop_on_error: bool = Field(False, description="Stop at the first call whose result is not the expected one.")

    def targets(self) -> Iterator[tuple[Any, str]]:
        for i, step in enumerate(self.steps):
            if isinstance(step, ConnectStep):
                parsed = parse_to(step.to)
                if parsed is not None:
                    yield ("steps", i, "to"), parsed[0]

    def problems(self, loc: Loc) -> Iterator[Problem]:
        yield from super().problems(loc)
        fds: list[str] = []
        for i, step in enumerate(self.steps):
            here: Loc = (*loc, "steps", i)
            for fd in step.fds_used():
                if fd not in fds:
                    known = ", ".join(fds) if fds else "none yet: a socket step names one (fd:)"
                    yield (*here, "fd"), f"unknown fd {fd!r} (expected one named by an earlier step: {known})"
            made = step.fd_made()
            if made is not None and made not in fds:
                fds.append(made)
            if isinstance(step, ConnectStep) and parse_to(step.to) is None:
                yield (*here, "to"), f"expected 'HOST:PORT' (e.g. 'server:80' or '198.51.100.1:80'), got {step.to!r}"
            if isinstance(step, SetsockoptStep):
                if step.opt == "SO_ERROR":
                    yield (*here, "opt"), "SO_ERROR can only be read (getsockopt)"
                elif step.opt == "IP_TTL":
                    v = step.value
                    if isinstance(v, bool) or not isinstance(v, int) or not (1 <= v <= 255 or v == -1):
                        yield (*here, "value"), f"expected a TTL 1..255 (or -1: the default), got {describe(v)}"
                else:
                    message = sockopt_problem(step.opt, step.value)
                    if message is not None:
                        key = "opt" if message.startswith("unknown socket option") else "value"
                        if key == "opt":
                            message = f"unknown socket option {step.opt!r} (expected one of: {', '.join(SETSOCKOPTS)})"
                        yield (*here, key), message
            if isinstance(step, GetsockoptStep) and step.opt not in GETSOCKOPTS:
                yield (*here, "opt"), f"unknown socket option {step.opt!r} (expected one of: {', '.join(GETSOCKOPTS)})"
            if step.expect is not None:
                message = expect_problem(step.call, getattr(step, "opt", None), step.expect)
                if message is not None:
                    yield (*here, "expect"), message

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps.script import ScriptApp, Step

        steps: list[Step] = []
        for i, s in enumerate(self.steps):
            args = s.model_dump(exclude={"at", "after", "expect", "call"}, by_alias=True, exclude_none=True)
            if isinstance(s, ConnectStep):
                node, port = parse_to(s.to) or ("", 0)
                args["to"] = f"{ctx.address(node) if not is_ipv4(node) else node}:{port}"
            if isinstance(s, SendStep):
                args = {"fd": s.fd, "bytes": len(s.payload())}
            if isinstance(s, SetsockoptStep) and s.opt == "SO_LINGER" and isinstance(s.value, int):
                args["value"] = {"onoff": 1, "linger": s.value}
            steps.append(Step(
                index=i, call=s.call, args=args,
                at_ns=duration_ns(s.at) if s.at is not None else None,
                after_ns=duration_ns(s.after) if s.after is not None else None,
                expect=s.expect,
                data=s.payload() if isinstance(s, SendStep) else None,
            ))
        return ScriptApp(ctx.sim, ctx.host(self.host), name, steps, stop_on_error=self.stop_on_error,
                         start=self.start, sockopts=self.opts())
