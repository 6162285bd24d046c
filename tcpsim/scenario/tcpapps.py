"""The TCP application types of a scenario (``type: tcp-server``, ``tcp-client``, ...).

Each spec validates its own keys and builds the matching ``tcpsim.apps``
class. Socket options are checked here against the names and value kinds
the socket layer takes, and reported at their own key
(``apps[2].sockopts.TCP_KEEPIDLE``), because a misspelt option that the
simulator silently ignored would make a keepalive lesson show nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tcpsim.apps.attack import parse_ports
from tcpsim.scenario.base import AppBase, Loc, Name, Problem
from tcpsim.scenario.units import (
    MAX_COUNT,
    ConnRate,
    Duration,
    PositiveDuration,
    RequestSize,
    Size,
    SynRate,
    describe,
)

if TYPE_CHECKING:
    from tcpsim.scenario.build import BuildContext

__all__ = ["TCP_APP_SPECS", "sockopt_problem"]

Port = Annotated[int, Field(ge=1, le=65535)]

# Socket options a scenario may set, with what their values mean.
_FLAG_OPTS = ("SO_KEEPALIVE", "SO_REUSEADDR", "TCP_NODELAY")
_SECONDS_OPTS = ("TCP_KEEPIDLE", "TCP_KEEPINTVL")
_COUNT_OPTS = ("TCP_KEEPCNT", "TCP_SYNCNT", "TCP_MAXSEG")
_BYTES_OPTS = ("SO_RCVBUF", "SO_SNDBUF")
SOCKOPTS = tuple(sorted((*_FLAG_OPTS, *_SECONDS_OPTS, *_COUNT_OPTS, *_BYTES_OPTS, "SO_LINGER", "TCP_USER_TIMEOUT",
                          "IP_TTL")))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# The values each option takes, as Linux's setsockopt() checks them (include/net/tcp.h:
# MAX_TCP_KEEPIDLE/KEEPINTVL 32767 s, MAX_TCP_KEEPCNT and MAX_TCP_SYNCNT 127, TCP_MIN_MSS 88).
SOCKOPT_RANGES: dict[str, tuple[int, int]] = {
    "TCP_KEEPIDLE": (1, 32767), "TCP_KEEPINTVL": (1, 32767), "TCP_KEEPCNT": (1, 127), "TCP_SYNCNT": (1, 127),
    "TCP_MAXSEG": (88, 65495), "SO_RCVBUF": (1, 2**31 - 1), "SO_SNDBUF": (1, 2**31 - 1),
    "TCP_USER_TIMEOUT": (0, 2**31 - 1), "SO_LINGER": (0, 2**31 - 1),
}


def sockopt_problem(name: Any, value: Any) -> str | None:
    """What is wrong with ``name: value`` as a socket option, or None."""
    if name not in SOCKOPTS:
        return f"unknown socket option {describe(name)} (expected one of: {', '.join(SOCKOPTS)})"
    lo, hi = SOCKOPT_RANGES.get(name, (0, 1))
    if name in _FLAG_OPTS:
        if not (isinstance(value, bool) or value in (0, 1)):
            return f"expected 0 or 1, got {describe(value)}"
    elif name in _SECONDS_OPTS:
        if not _number(value) or not lo <= value <= hi:
            return f"expected a number of seconds >= {lo} and <= {hi} (as setsockopt takes it), got {describe(value)}"
    elif name in _COUNT_OPTS or name in _BYTES_OPTS:
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            return f"expected an integer >= {lo} and <= {hi}, got {describe(value)}"
    elif name == "IP_TTL":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 255:
            return f"expected a TTL 1..255, got {describe(value)}"
    elif name == "TCP_USER_TIMEOUT":
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            return f"expected milliseconds as an integer >= 0 and <= {hi} (0 = off), got {describe(value)}"
    elif name == "SO_LINGER":
        linger = value.get("linger", 0) if isinstance(value, dict) else value
        ok = (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi) or (
            isinstance(value, dict) and set(value) <= {"onoff", "linger"} and "onoff" in value
            and value["onoff"] in (0, 1) and not isinstance(linger, bool)
            and isinstance(linger, int) and lo <= linger <= hi
        )
        if not ok:
            return f"expected seconds >= 0 and <= {hi} (linger on) or {{onoff: 0|1, linger: seconds}}, got {describe(value)}"
    return None


def _sockopts_value(opts: dict[str, Any]) -> dict[str, Any]:
    """The options as the socket layer takes them (SO_LINGER as (on, seconds))."""
    out: dict[str, Any] = {}
    for k, v in opts.items():
        if k == "SO_LINGER":
            out[k] = (True, int(v)) if isinstance(v, int) else (bool(v["onoff"]), int(v.get("linger", 0)))
        elif isinstance(v, bool):
            out[k] = int(v)
        else:
            out[k] = v
    return out


class TcpAppBase(AppBase):
    """What TCP apps add to every app: socket options."""

    sockopts: dict[str, Any] = Field(
        default_factory=dict,
        description="setsockopt() calls made on every socket of the app, e.g. {SO_KEEPALIVE: 1, TCP_KEEPIDLE: 10}.",
    )

    @field_validator("sockopts", mode="before")
    @classmethod
    def _null_opts(cls, value: Any) -> Any:
        return {} if value is None else value

    def problems(self, loc: Loc) -> Iterator[Problem]:
        for key, value in self.sockopts.items():
            message = sockopt_problem(key, value)
            if message is not None:
                yield (*loc, "sockopts", key), message

    def opts(self) -> dict[str, Any]:
        return _sockopts_value(self.sockopts)


class ClientMixin:
    """Apps that connect somewhere: their ``dst`` must name a node (or be an address)."""

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "dst", getattr(self, "dst")  # noqa: B009 - a mixin; pydantic declares the field


class TcpServerSpec(TcpAppBase):
    """A server: listen on ``port``, accept, serve each connection by ``behaviour``."""

    type: Literal["tcp-server"]
    port: Port = Field(80, description="Port to listen on.")
    backlog: Annotated[int, Field(ge=0, le=65535)] = Field(128, description="listen() backlog (capped by net.core.somaxconn).")
    behaviour: Literal["echo", "sink", "respond", "close-after-response", "never-close"] = Field(
        "respond", description="What the server does with each connection.")
    request_size: RequestSize = Field(100, description="Bytes that make one request.")
    response_size: Size = Field(1000, description="Bytes sent back per request (respond, close-after-response, never-close).")
    delay: Duration = Field(0.0, description="Time the server takes before each answer.")
    worker_limit: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(
        None, description="Stop calling accept() while this many connections are open.")

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import TcpServer

        return TcpServer(ctx.sim, ctx.host(self.host), name, port=self.port, backlog=self.backlog,
                         behaviour=self.behaviour, request_size=self.request_size,
                         response_size=self.response_size, delay=self.delay, worker_limit=self.worker_limit,
                         start=self.start, sockopts=self.opts())


class SinkSpec(TcpAppBase):
    """A server that reads and discards everything (the other end of ``bulk``)."""

    type: Literal["sink"]
    port: Port = Field(5001, description="Port to listen on.")
    backlog: Annotated[int, Field(ge=0, le=65535)] = Field(128, description="listen() backlog.")

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import Sink

        return Sink(ctx.sim, ctx.host(self.host), name, port=self.port, backlog=self.backlog, start=self.start,
                    sockopts=self.opts())


class TcpClientSpec(ClientMixin, TcpAppBase):
    """Clients: connect, upload, request/response exchanges, then finish."""

    type: Literal["tcp-client"]
    dst: str = Field(description="Server: a host name or an IPv4 address.")
    port: Port = Field(80, description="Server port.")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(1, description="How many clients (each its own connection).")
    stagger: Duration = Field(0.0, description="Time between the starts of successive clients.")
    send: Size = Field(0, description="Bytes uploaded right after connecting.")
    requests: Annotated[int, Field(ge=0, le=MAX_COUNT)] = Field(1, description="Request/response exchanges per connection.")
    request_size: RequestSize = Field(100, description="Bytes per request.")
    response_size: Size = Field(1000, description="Bytes expected back per request.")
    think: Duration = Field(0.0, description="Time between two requests.")
    idle: Duration = Field(0.0, description="Time idle after the last request, before finishing.")
    finish: Literal["close", "shutdown", "linger0", "hold"] = Field(
        "close", description="How the connection ends: close, shutdown (half-close), linger0 (RST), hold (stay open).")
    local_port: Port | None = Field(None, description="bind() to this port before connecting (default: an ephemeral one).")
    start_delay: Duration = Field(0.0, description="Time between connecting and the first send.")
    on_error: Literal["stop", "continue"] = Field(
        "stop", description="After an error: stop (that client ends), or continue (connect again for the requests left).")

    @model_validator(mode="after")
    def _one_port_one_client(self) -> TcpClientSpec:
        if self.local_port is not None and self.count > 1:
            raise ValueError("local_port: needs count: 1 (one local port, one connection)")
        return self

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import TcpClient

        return TcpClient(ctx.sim, ctx.host(self.host), name, dst=ctx.address(self.dst), port=self.port,
                         count=self.count, stagger=self.stagger, send=self.send, requests=self.requests,
                         request_size=self.request_size, response_size=self.response_size, think=self.think,
                         idle=self.idle, finish=self.finish, local_port=self.local_port, start=self.start,
                         sockopts=self.opts(), start_delay=self.start_delay, on_error=self.on_error)


class BulkSpec(ClientMixin, TcpAppBase):
    """A bulk sender: ``bytes`` or ``duration`` worth of data as fast as TCP goes."""

    type: Literal["bulk"]
    dst: str = Field(description="Receiver (runs a sink): a host name or an IPv4 address.")
    port: Port = Field(5001, description="Receiver port.")
    bytes: Size | None = Field(None, description="Bytes to send.")
    duration: PositiveDuration | None = Field(None, description="Or: send for this long.")
    start_delay: Duration = Field(0.0, description="Time between connecting and the first send.")

    @model_validator(mode="after")
    def _one_of(self) -> BulkSpec:
        if (self.bytes is None) == (self.duration is None):
            raise ValueError("expected exactly one of bytes and duration")
        return self

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import BulkSender

        return BulkSender(ctx.sim, ctx.host(self.host), name, dst=ctx.address(self.dst), port=self.port,
                          nbytes=self.bytes, duration=self.duration, start=self.start, sockopts=self.opts(),
                          start_delay=self.start_delay)


def _check_prefix(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError:
        raise PydanticCustomError("prefix", "expected an IPv4 prefix such as 100.64.0.0/10 or an address, got {got}",
                                  {"got": describe(value)}) from None


class SynFloodSpec(ClientMixin, AppBase):
    """A SYN flood with forged source addresses."""

    type: Literal["syn-flood"]
    dst: str = Field(description="Target: a host name or an IPv4 address.")
    port: Port = Field(80, description="Target port.")
    rate: SynRate = Field(100.0, description="SYNs per second.")
    duration: PositiveDuration | None = Field(None, description="How long to flood.")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(None, description="Or: how many SYNs.")
    spoof: str = Field("100.64.0.0/10", description="Forged sources: random addresses of this prefix (a /32: one address).")

    @field_validator("spoof")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _check_prefix(value)

    @model_validator(mode="after")
    def _one_of(self) -> SynFloodSpec:
        if (self.duration is None) == (self.count is None):
            raise ValueError("expected exactly one of duration and count")
        return self

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import SynFlood

        return SynFlood(ctx.sim, ctx.host(self.host), name, dst=ctx.address(self.dst), port=self.port,
                        rate=self.rate, duration=self.duration, count=self.count, spoof=self.spoof,
                        start=self.start)


def _check_ports(value: Any) -> list[int]:
    try:
        return parse_ports(value)
    except ValueError as exc:
        raise PydanticCustomError("ports", "{msg}", {"msg": str(exc)}) from None


class PortScanSpec(ClientMixin, AppBase):
    """A SYN scan (``nmap -sS``) of a list of ports."""

    type: Literal["port-scan"]
    dst: str = Field(description="Target: a host name or an IPv4 address.")
    ports: Annotated[Any, Field(description="Ports: 22, '20-25,80' or [22, 80, 443].")]
    interval: Duration = Field(0.001, description="Time between probes.")
    wait: PositiveDuration = Field(1.0, description="How long to wait for answers after the last probe.")
    retries: Annotated[int, Field(ge=0, le=5)] = Field(1, description="Probes sent again to silent ports.")

    @field_validator("ports", mode="plain")
    @classmethod
    def _ports(cls, value: Any) -> list[int]:
        return _check_ports(value)

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import PortScan

        return PortScan(ctx.sim, ctx.host(self.host), name, dst=ctx.address(self.dst), ports=list(self.ports),
                        interval=self.interval, wait=self.wait, retries=self.retries, start=self.start)


class ChurnSpec(ClientMixin, TcpAppBase):
    """Short connections at a steady rate (or requests over a pool of persistent ones)."""

    type: Literal["churn"]
    dst: str = Field(description="Server: a host name or an IPv4 address.")
    port: Port = Field(80, description="Server port.")
    rate: ConnRate = Field(10.0, description="Requests (new connections) per second.")
    duration: PositiveDuration | None = Field(None, description="How long to go on.")
    connections: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(None, description="Or: how many requests in all.")
    request_size: RequestSize = Field(100, description="Bytes per request.")
    response_size: Size = Field(1000, description="Bytes expected back per request.")
    pool: Annotated[int, Field(ge=0, le=MAX_COUNT)] = Field(0, description="0: a new connection per request; N: N persistent connections.")
    finish: Literal["close", "linger0"] = Field("close", description="How each connection ends.")

    @model_validator(mode="after")
    def _one_of(self) -> ChurnSpec:
        if (self.duration is None) == (self.connections is None):
            raise ValueError("expected exactly one of duration and connections")
        return self

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import Churn

        return Churn(ctx.sim, ctx.host(self.host), name, dst=ctx.address(self.dst), port=self.port, rate=self.rate,
                     duration=self.duration, connections=self.connections, request_size=self.request_size,
                     response_size=self.response_size, pool=self.pool, finish=self.finish, start=self.start,
                     sockopts=self.opts())


class VanishingClientSpec(ClientMixin, TcpAppBase):
    """A client whose host crashes or loses its link, without a FIN, again and again."""

    type: Literal["vanishing-client"]
    dst: str = Field(description="Server: a host name or an IPv4 address.")
    port: Port = Field(80, description="Server port.")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(1, description="Connections opened each time.")
    requests: Annotated[int, Field(ge=0, le=MAX_COUNT)] = Field(1, description="Exchanges on each connection before going idle.")
    request_size: RequestSize = Field(100, description="Bytes per request.")
    response_size: Size = Field(1000, description="Bytes expected back per request.")
    after: Duration = Field(1.0, description="Time connected before vanishing.")
    down_for: PositiveDuration = Field(5.0, description="Time gone before coming back and reconnecting.")
    times: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(1, description="How many times it vanishes.")
    vanish: Literal["crash", "unplug"] = Field("crash", description="crash the host, or unplug its link.")
    link: Name | None = Field(None, description="The link to unplug (default: the host's only link).")

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.apps import VanishingClient

        return VanishingClient(ctx.sim, ctx.host(self.host), name, dst=ctx.address(self.dst), port=self.port,
                               count=self.count, requests=self.requests, request_size=self.request_size,
                               response_size=self.response_size, after=self.after, down_for=self.down_for,
                               times=self.times, vanish=self.vanish, link=self.link, start=self.start,
                               sockopts=self.opts())


TCP_APP_SPECS = (TcpServerSpec, SinkSpec, TcpClientSpec, BulkSpec, SynFloodSpec, PortScanSpec, ChurnSpec,
                 VanishingClientSpec)
