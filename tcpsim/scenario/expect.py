"""Expectations (``expect:``): what a scenario claims about its own run, checked at the end.

Each expectation is a mapping whose kind is given by one key::

    - {at: 5s, host: server, state: SYN_RECV, count: 3}          # states at a time
    - {host: client, state: TIME_WAIT, lasted: 60s}               # how long a state lasted
    - {host: client, sequence: [SYN_SENT, ESTABLISHED, ...]}     # a connection's states, in order
    - {app: client, error: ETIMEDOUT, at: 131s, within: 10ms}    # an error an app saw
    - {host: server, counter: "tcp:listen_drops", value: ">= 1"} # a trace counter
    - {app: server, result: accepted, value: 3}                  # a value of the app's results
    - {packet: {moment: final-ack, from: client}, count: 2}      # packets seen (count: 0 = never)

They are read from the run itself: state changes and packets from the
trace, errors and results from the apps, counters from the trace's counters.
State queries therefore need the trace level ``states`` (packets:
``packets``); ``required_level`` says which, and the scenario's automatic
trace level honours it.

Every check returns an ``Outcome``: a sentence saying what was expected,
whether it held, and, when it did not, what happened instead.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tcpsim.scenario.base import Name, Spec
from tcpsim.scenario.packets import (
    ConnPattern,
    FlowTracker,
    PacketMatcher,
    PacketMatchSpec,
    describe_packet,
    parse_conn,
)
from tcpsim.scenario.units import Duration, describe, parse_duration
from tcpsim.tcp.state import State
from tcpsim.trace.records import PKT, RECV, SAMPLE, SEND, STATE, Level
from tcpsim.trace.summary import connections

if TYPE_CHECKING:
    from tcpsim.scenario.build import Built

__all__ = ["ExpectSpec", "Outcome", "Range", "check_all", "parse_range", "required_level"]


# -- values and ranges --------------------------------------------------------------------

MAX_RANGE = 1e15  # numbers in expected values and ranges: any count or byte total a run can reach
RANGE_HINT = "a number or a range such as 3, '>= 3', '< 10' or '2..5'"
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_RANGE = re.compile(rf"^\s*(?:(>=|<=|>|<|==|=)\s*({_NUM})|({_NUM})\s*\.\.\s*({_NUM})|({_NUM}))\s*$")


@dataclass(frozen=True)
class Range:
    lo: float | None
    hi: float | None
    lo_open: bool = False
    hi_open: bool = False

    def holds(self, x: float) -> bool:
        if self.lo is not None and (x < self.lo or (self.lo_open and x == self.lo)):
            return False
        return not (self.hi is not None and (x > self.hi or (self.hi_open and x == self.hi)))

    def describe(self) -> str:
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None and lo == hi:
            return _num(lo)
        if lo is not None and hi is not None:
            return f"between {_num(lo)} and {_num(hi)}"
        if lo is not None:
            return f"{'more than' if self.lo_open else 'at least'} {_num(lo)}"
        if hi is not None:
            return f"{'less than' if self.hi_open else 'at most'} {_num(hi)}"
        return "any number"


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def parse_range(value: Any) -> Range:
    """``3`` / ``"3"`` -> exactly 3; ``">= 3"``, ``"< 10"``, ``"2..5"`` (inclusive)."""
    if isinstance(value, bool):
        raise ValueError(f"expected {RANGE_HINT}, got {describe(value)}")
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > MAX_RANGE or not math.isfinite(value) or abs(value) > MAX_RANGE:
            raise ValueError(f"expected {RANGE_HINT}, with numbers between -{MAX_RANGE:g} and {MAX_RANGE:g}, "
                             f"got {describe(value)}")
        return Range(float(value), float(value))
    if not isinstance(value, str):
        raise ValueError(f"expected {RANGE_HINT}, got {describe(value)}")
    m = _RANGE.match(value) if len(value) <= 64 else None
    if m is None:
        raise ValueError(f"expected {RANGE_HINT}, got {describe(value)}")
    op, n1, a, b, n = m.groups()
    numbers = [float(x) for x in (n1, a, b, n) if x is not None]
    if not all(math.isfinite(x) and abs(x) <= MAX_RANGE for x in numbers):
        raise ValueError(f"expected {RANGE_HINT}, with numbers between -{MAX_RANGE:g} and {MAX_RANGE:g}, "
                         f"got {describe(value)}")
    if n is not None:
        return Range(float(n), float(n))
    if a is not None:
        lo, hi = float(a), float(b)
        if lo > hi:
            raise ValueError(f"range {describe(value)} goes backwards")
        return Range(lo, hi)
    x = float(n1)
    return {">=": Range(x, None), ">": Range(x, None, lo_open=True), "<=": Range(None, x),
            "<": Range(None, x, hi_open=True)}.get(op, Range(x, x))


def _check_range(value: Any) -> Any:
    try:
        parse_range(value)
    except ValueError as exc:
        raise PydanticCustomError("range", str(exc)) from None
    return value


CountRange = Annotated[Any, PlainValidator(_check_range), WithJsonSchema({"type": ["integer", "number", "string"]})]


def _check_state(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("state", "expected a TCP state such as ESTABLISHED or TIME_WAIT, got {got}",
                                  {"got": describe(value)})
    try:
        return State.parse(value).value
    except ValueError:
        names = ", ".join(s.value for s in State)
        raise PydanticCustomError("state", "unknown TCP state {got} (expected one of: {names})",
                                  {"got": describe(value), "names": names}) from None


StateName = Annotated[Any, PlainValidator(_check_state), WithJsonSchema({"type": "string"})]


def _check_errno(value: str) -> str:
    if not re.match(r"^E[A-Z0-9]+$", value):
        raise PydanticCustomError("errno", "expected an errno name such as ETIMEDOUT or ECONNRESET, got {got}",
                                  {"got": describe(value)})
    return value


Errno = Annotated[str, AfterValidator(_check_errno)]


# -- the kinds ------------------------------------------------------------------------------


class _Filter(Spec):
    """Which connections of a host: those of an app, or those matching a 4-tuple pattern."""

    app: Name | None = Field(None, description="Only connections of this app.")
    conn: ConnPattern | None = Field(None, description="Only connections matching this pattern.")

    def filter_text(self) -> str:
        return (f" of app {self.app}" if self.app else "") + (f" matching {self.conn}" if self.conn else "")


class StateExpect(_Filter):
    """How many connections of a host are in a state at a time, or how long each stay in it lasted."""

    state: StateName = Field(description="A TCP state (netstat or RFC spelling).")
    host: Name = Field(description="The host whose connections are counted.")
    at: Duration | None = Field(None, description="The time to look at.")
    count: CountRange | None = Field(None, description="How many (default: at least 1).")
    lasted: Duration | None = Field(None, description="Or: every stay in the state lasted this long.")
    within: Duration = Field(0.001, description="Tolerance of lasted.")

    @model_validator(mode="after")
    def _one_of(self) -> StateExpect:
        if (self.at is None) == (self.lasted is None):
            raise ValueError("expected exactly one of at (count connections at a time) and lasted (how long it lasted)")
        if self.count is not None and self.at is None:
            raise ValueError("count: goes with at:")
        return self


class SequenceExpect(_Filter):
    """Some connection of the host went through exactly these states, in this order."""

    sequence: Annotated[list[StateName], Field(min_length=1)] = Field(description="States entered, in order.")
    host: Name = Field(description="The host of the connection.")
    partial: bool = Field(False, description="true: these states in this order, others may come between.")


def parse_at_tolerance(value: Any) -> tuple[float, float | None]:
    """``5s``, ``5`` -> (5.0, None); ``"5s ± 10ms"`` or ``"5s +- 10ms"`` -> (5.0, 0.01)."""
    if isinstance(value, str):
        for sep in ("±", "+-", "+/-"):
            if sep in value:
                when, _, tol = value.partition(sep)
                try:
                    return parse_duration(when.strip()), parse_duration(tol.strip())
                except ValueError as exc:
                    raise ValueError(f"expected a time with a tolerance such as 5s ± 10ms: {exc}") from None
    return parse_duration(value), None


def _at_tolerance(value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_at_tolerance(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", "{text}", {"text": str(exc)}) from None


AtTolerance = Annotated[
    Any, PlainValidator(_at_tolerance),
    WithJsonSchema({"type": ["number", "string"], "description": "A time, optionally with a tolerance: '5s ± 10ms'."}),
]


class ErrorExpect(Spec):
    """An app saw an error (errno name), optionally at a time and from a given call."""

    error: Errno = Field(description="The errno name, e.g. ETIMEDOUT.")
    app: Name = Field(description="The app that saw it.")
    call: Literal["socket", "bind", "listen", "accept", "connect", "send", "recv", "shutdown", "close", "setsockopt",
                   "getsockopt", "sleep", "kill"] | None = Field(
        None, description="The call that failed (connect, recv, send, accept, ...).")
    at: AtTolerance = Field(None, description="When: a time, or a time and tolerance ('5s ± 10ms').")
    within: Duration | None = Field(None, description="Tolerance of at (default 1ms; or write at: '5s ± 10ms').")
    count: CountRange = Field(">= 1", description="How many times (0: never).")

    @model_validator(mode="after")
    def _one_tolerance(self) -> ErrorExpect:
        if self.at is not None and self.at[1] is not None and self.within is not None:
            raise ValueError("expected the tolerance once: in at ('5s ± 10ms') or in within, not both")
        if self.at is None and self.within is not None:
            raise ValueError("within: goes with at:")
        return self

    @property
    def when(self) -> float | None:
        return None if self.at is None else float(self.at[0])

    @property
    def tolerance(self) -> float:
        if self.at is not None and self.at[1] is not None:
            return float(self.at[1])
        return self.within if self.within is not None else 0.001


class CounterExpect(Spec):
    """A trace counter of a node, e.g. tcp:listen_drops, timer:rto, drop:fault:NAME."""

    counter: Annotated[str, Field(min_length=1)] = Field(description="Counter name.")
    host: Name = Field(description="Host or router.")
    value: CountRange = Field(description="Expected value or range.")


class ResultExpect(Spec):
    """A value in an app's results (summary.json), by a dotted path."""

    result: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")] = Field(
        description="Path into the app's results, e.g. accepted or listener.cookies_sent.")
    app: Name = Field(description="The app.")
    value: Any = Field(description="Expected value: a number or range for numbers, else the exact value.")
    within: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False, description="Tolerance for a number (or a duration such as 10ms).")

    @model_validator(mode="before")
    @classmethod
    def _within_duration(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("within"), str):
            with contextlib.suppress(ValueError):
                data = {**data, "within": parse_duration(data["within"])}
        return data


AT_HINT = "a time such as 1.028s, or with a tolerance: '1.028s ± 25ms' (or '1.028s +- 25ms')"


def parse_at(value: Any) -> tuple[float, float]:
    """``"1.028s ± 25ms"`` -> (1.028, 0.025); a bare time has a tolerance of 1 µs."""
    try:
        when, tol = parse_at_tolerance(value)
    except ValueError:
        raise ValueError(f"expected {AT_HINT}, got {describe(value)}") from None
    return when, 1e-6 if tol is None else tol


def _check_at(value: Any) -> tuple[float, float]:
    try:
        return parse_at(value)
    except ValueError as exc:
        raise PydanticCustomError("at", str(exc)) from None


AtTime = Annotated[Any, PlainValidator(_check_at), WithJsonSchema({"type": ["number", "string"]})]

Number32 = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
_OPTION_NAMES = ("mss", "sackOK", "TS", "nop", "wscale", "sack", "eol")


def _check_options(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v in _OPTION_NAMES for v in value):
        return value
    raise PydanticCustomError(
        "options", "expected TCP options in tcpdump's form, e.g. 'mss 1460,sackOK,TS,nop,wscale 7', or a list of "
        "option names to require, from: {names}; got {got}", {"names": ", ".join(_OPTION_NAMES), "got": describe(value)})


Options = Annotated[Any, PlainValidator(_check_options), WithJsonSchema({"type": ["string", "array"]})]

# The keys of a packet expectation that look at one packet's fields (see PacketExpect).
FIELD_KEYS = ("seq", "ack", "abs_seq", "abs_ack", "win", "len", "ttl", "options", "to_port", "from_port", "at")


class PacketFieldsSpec(PacketMatchSpec):
    """A packet match plus the fields a packet expectation checks."""

    seq: Number32 | None = Field(None, description="Sequence number as packets.txt shows it (relative once known).")
    ack: Number32 | None = Field(None, description="Acknowledgment number as packets.txt shows it.")
    abs_seq: Number32 | None = Field(None, description="Sequence number, absolute.")
    abs_ack: Number32 | None = Field(None, description="Acknowledgment number, absolute.")
    win: Annotated[int, Field(ge=0, le=65535)] | None = Field(None, description="Window field as sent (unscaled).")
    len: Annotated[int, Field(ge=0, le=65535)] | None = Field(None, description="Bytes of data.")
    ttl: Annotated[int, Field(ge=0, le=255)] | None = Field(None, description="IP TTL as received by the destination.")
    options: Options | None = Field(None, description="Options in tcpdump's form, or a list of option names to require.")
    to_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(None, description="Destination port.")
    from_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(None, description="Source port.")
    at: AtTime | None = Field(None, description="Send time, e.g. '1.028s ± 25ms'.")

    def fields(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FIELD_KEYS if getattr(self, k) is not None}

    def without_fields(self) -> PacketMatchSpec:
        data = self.model_dump(by_alias=True, exclude_none=True, exclude=set(FIELD_KEYS))
        return PacketMatchSpec.model_validate(data)

    def describe(self) -> str:
        return super().describe()


class PacketExpect(Spec):
    """Packets sent that match: counted, or one of them checked field by field, or their send times.

    * ``count`` given: the packets matching every key (fields included) are counted.
    * Field keys (seq, ack, win, ...) without ``count``: the first (or ``nth``)
      packet matching the other keys must have these fields.
    * ``times``: the send times of every matching packet, compared with the list.
    * Otherwise: at least one packet matches.
    """

    packet: PacketFieldsSpec = Field(description="Which packets (the keys of a fault's match) and their fields.")
    count: CountRange | None = Field(None, description="How many (default: at least one).")
    nth: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(None, description="Check the fields of the nth matching packet.")
    times: list[Duration] | None = Field(None, description="Send times of every matching packet, in order.")
    tolerance: Duration = Field(0.001, description="Tolerance of times.")

    @model_validator(mode="after")
    def _one_way(self) -> PacketExpect:
        fields = self.packet.fields()
        if self.times is not None and (self.count is not None or self.nth is not None):
            raise ValueError("times: compares every matching packet; it goes without count: and nth:")
        if self.nth is not None and self.count is not None:
            raise ValueError("nth: picks one packet to check; it goes without count:")
        if self.nth is not None and not fields:
            raise ValueError("nth: needs a field to check in packet: (" + ", ".join(FIELD_KEYS) + ")")
        return self


class ListenerQueueExpect(Spec):
    """A listener's SYN queue and accept queue lengths at a time."""

    listener: Annotated[int, Field(ge=1, le=65535)] = Field(description="The listening port.")
    host: Name = Field(description="The host listening.")
    at: Duration = Field(description="The time to look at.")
    syn_queue: CountRange | None = Field(None, description="Half-open requests (SYN_RECV) waiting.")
    accept_queue: CountRange | None = Field(None, description="Completed connections not yet accepted.")

    @model_validator(mode="after")
    def _something(self) -> ListenerQueueExpect:
        if self.syn_queue is None and self.accept_queue is None:
            raise ValueError("expected syn_queue:, accept_queue: or both (the lengths to check)")
        return self


class ConnQueueExpect(Spec):
    """Bytes in connections' receive and send queues at a time (netstat's Recv-Q and Send-Q)."""

    conn: ConnPattern = Field(description="Which connections of the host, e.g. '*:80<-*' (local end first).")
    host: Name = Field(description="The host of the connections.")
    at: Duration = Field(description="The time to look at.")
    recv_q: CountRange | None = Field(None, description="Bytes received and not yet read by the application.")
    send_q: CountRange | None = Field(None, description="Bytes written by the application and not yet acknowledged.")


_KINDS: dict[str, type[Spec]] = {
    "sequence": SequenceExpect, "state": StateExpect, "error": ErrorExpect, "counter": CounterExpect,
    "result": ResultExpect, "packet": PacketExpect, "listener": ListenerQueueExpect, "recv_q": ConnQueueExpect,
}


def _kind_of(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = set(value)
        if "send_q" in keys:  # recv_q and send_q are one kind
            keys = (keys - {"send_q"}) | {"recv_q"}
        found = [k for k in _KINDS if k in keys]
        return found[0] if len(found) == 1 else None
    for k, cls in _KINDS.items():
        if isinstance(value, cls):
            return k
    return None


ExpectSpec = Annotated[
    Union[  # noqa: UP007
        Annotated[SequenceExpect, Tag("sequence")], Annotated[StateExpect, Tag("state")],
        Annotated[ErrorExpect, Tag("error")], Annotated[CounterExpect, Tag("counter")],
        Annotated[ResultExpect, Tag("result")], Annotated[PacketExpect, Tag("packet")],
        Annotated[ListenerQueueExpect, Tag("listener")], Annotated[ConnQueueExpect, Tag("recv_q")],
    ],
    Discriminator(
        _kind_of, custom_error_type="expectation",
        custom_error_message="expected a mapping with exactly one of: " + ", ".join(_KINDS) + " (or send_q)",
    ),
]


def needs_queue_samples(specs: Iterable[Any]) -> bool:
    """Does any expectation read queue lengths (so the run must record queue samples)?"""
    return any(isinstance(e, ListenerQueueExpect | ConnQueueExpect) for e in specs)


def required_level(spec: Any) -> Level:
    """The lowest trace level that keeps what this expectation reads."""
    if isinstance(spec, StateExpect | SequenceExpect):
        return Level.STATES
    if isinstance(spec, PacketExpect):
        return Level.PACKETS
    return Level.COUNTERS


# -- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    text: str
    passed: bool
    observed: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"expect": self.text, "passed": self.passed, "observed": self.observed}


def _t(x: float) -> str:
    return f"{x:g} s"


def _count_text(r: Range, what: str) -> str:
    if r.lo == 0 and r.hi == 0:
        return f"no {what}"
    return f"{r.describe()} {what}"


class _Context:
    """What the checks read, computed once per run."""

    def __init__(self, built: Built) -> None:
        self.built = built
        trace = built.sim.trace
        self.records = trace.records
        self._conns: dict[str, list[dict[str, Any]]] | None = None
        self._state_records: list[tuple[Any, ...]] | None = None

    def conns(self) -> dict[str, list[dict[str, Any]]]:
        if self._conns is None:
            self._conns = connections(self.records)
        return self._conns

    def addresses(self, name: str) -> frozenset[str]:
        return self.built.addresses(name)

    def belongs(self, host: str, conn: str, spec: _Filter) -> bool:
        """Is connection ``conn`` (``L:P>R:Q``) on ``host`` one of the filter's?"""
        if spec.conn is not None:
            a, pa, b, pb = parse_conn(spec.conn)
            local, _, remote = conn.partition(">")
            la, _, lp = local.rpartition(":")
            ra, _, rp = remote.rpartition(":")

            def ok(addr: str, port: str, pat_a: str, pat_p: int | None) -> bool:
                return (pat_a == "*" or addr in self.addresses(pat_a)) and (pat_p is None or port == str(pat_p))

            if not ((ok(la, lp, a, pa) and ok(ra, rp, b, pb)) or (ok(la, lp, b, pb) and ok(ra, rp, a, pa))):
                return False
        if spec.app is not None:
            app = self.built.app(spec.app).app
            if conn in getattr(app, "conn_names", ()):
                return True
            local = conn.partition(">")[0]
            port = local.rpartition(":")[2]
            ports: set[int] = getattr(app, "listen_ports", set())
            return self.built.app(spec.app).host == host and port.isdigit() and int(port) in ports
        return True


def _eval_state(ctx: _Context, spec: StateExpect) -> Outcome:
    host, state = spec.host, spec.state
    filt = spec.filter_text()
    if spec.at is not None:
        rng = parse_range(spec.count if spec.count is not None else ">= 1")
        bound = rng.lo if rng.lo is not None else rng.hi
        noun = "connection" if bound == 1 and (rng.hi is None or rng.hi == 1) else "connections"
        text = f"at {_t(spec.at)}, {host} has {_count_text(rng, f'{noun} in {state}{filt}')}"
        current: dict[str, str] = {}
        for r in ctx.records:
            if r[0] > spec.at + 1e-9:
                break
            if r[1] == STATE and r[2] == host:
                current[r[3]] = r[5]
        found = [c for c, s in current.items() if s == state and ctx.belongs(host, c, spec)]
        if rng.holds(len(found)):
            return Outcome(text, True, f"{len(found)}")
        tally: dict[str, int] = {}
        for name, st in current.items():
            if st != "CLOSED" and ctx.belongs(host, name, spec):
                tally[st] = tally.get(st, 0) + 1
        seen = ", ".join(f"{n} {st}" for st, n in sorted(tally.items())) or "no connections"
        return Outcome(text, False, f"found {len(found)} in {state}; {host} had {seen}")
    assert spec.lasted is not None
    text = f"on {host}, every stay in {state}{filt} lasts {_t(spec.lasted)} (± {spec.within * 1000:g} ms)"
    stays: list[tuple[str, float, float | None]] = []
    for c in ctx.conns().get(host, []):
        name = f"{c['local']}>{c['remote']}"
        if not ctx.belongs(host, name, spec):
            continue
        entered: list[dict[str, Any]] = c["states"]
        for i, entry in enumerate(entered):
            if entry["state"] == state:
                end = entered[i + 1]["t"] if i + 1 < len(entered) else None
                stays.append((name, entry["t"], end))
    if not stays:
        return Outcome(text, False, f"no connection on {host}{filt} entered {state}")
    bad = [(n, t0, t1) for n, t0, t1 in stays if t1 is None or abs((t1 - t0) - spec.lasted) > spec.within + 1e-9]
    if not bad:
        return Outcome(text, True, f"{len(stays)} stay(s)")
    n, t0, t1 = bad[0]
    how = f"still {state} at the end ({_t(ctx.built.sim.now)})" if t1 is None else f"lasted {_t(t1 - t0)}"
    return Outcome(text, False, f"{len(bad)} of {len(stays)} did not; e.g. {n}: entered at {_t(t0)}, {how}")


def _eval_sequence(ctx: _Context, spec: SequenceExpect) -> Outcome:
    want = list(spec.sequence)
    arrow = " -> ".join(want)
    text = (f"on {spec.host}, a connection{spec.filter_text()} goes "
            + ("through " if spec.partial else "") + arrow)
    seen: list[list[str]] = []
    for c in ctx.conns().get(spec.host, []):
        name = f"{c['local']}>{c['remote']}"
        if c["remote"].endswith("0.0.0.0:*") or not ctx.belongs(spec.host, name, spec):
            continue
        got = [s["state"] for s in c["states"]]
        if got == want or (spec.partial and _subsequence(want, got)):
            return Outcome(text, True, f"{name}")
        seen.append(got)
    if not seen:
        return Outcome(text, False, f"no connection on {spec.host}{spec.filter_text()}")
    shown = "; ".join(" -> ".join(s) for s in seen[:3]) + (f"; and {len(seen) - 3} more" if len(seen) > 3 else "")
    return Outcome(text, False, f"saw {shown}")


def _subsequence(want: list[str], got: list[str]) -> bool:
    it = iter(got)
    return all(any(g == w for g in it) for w in want)


def _call_of(entry: dict[str, Any]) -> str:
    """The call an error came from: ``setsockopt(TCP_X)`` -> ``setsockopt``."""
    return str(entry.get("call", "")).partition("(")[0]


def _eval_error(ctx: _Context, spec: ErrorExpect) -> Outcome:
    rng = parse_range(spec.count)
    at, within = spec.when, spec.tolerance
    when = f" at {_t(at)} (± {within * 1000:g} ms)" if at is not None else ""
    what = f"{spec.error} from {spec.call}()" if spec.call else spec.error
    text = f"{spec.app} sees {what}{when}" if rng == Range(1, None) else \
        f"{spec.app} sees {what}{when}: {rng.describe()} time(s)" if not (rng.lo == 0 and rng.hi == 0) else \
        f"{spec.app} never sees {what}{when}"
    results = ctx.built.app(spec.app).results()
    errors = results.get("errors", []) if isinstance(results, dict) else []
    same = [e for e in errors if e.get("errno") == spec.error and (spec.call is None or _call_of(e) == spec.call)]
    hits = [e for e in same if at is None or abs(e["t"] - at) <= within + 1e-9]
    if rng.holds(len(hits)):
        return Outcome(text, True, f"{len(hits)} time(s)" + (f", first at {_t(hits[0]['t'])}" if hits else ""))
    if same:
        times = ", ".join(_t(e["t"]) for e in same[:5]) + (" ..." if len(same) > 5 else "")
        return Outcome(text, False, f"{len(hits)} matching; {what} seen {len(same)} time(s) at {times}")
    others = ", ".join(f"{e['errno']} from {_call_of(e) or '?'}() at {_t(e['t'])}" for e in errors[:5]) \
        or "no errors at all"
    return Outcome(text, False, f"saw {others}")


def _eval_counter(ctx: _Context, spec: CounterExpect) -> Outcome:
    rng = parse_range(spec.value)
    text = f"{spec.host}'s counter {spec.counter} is {rng.describe()}"
    counters = ctx.built.sim.trace.counters
    value = counters.get((spec.host, spec.counter), 0)
    if rng.holds(value):
        return Outcome(text, True, str(value))
    similar = sorted(k for (n, k) in counters if n == spec.host and spec.counter.split(":")[0] in k)
    hint = f" (counters of {spec.host} like it: {', '.join(similar[:6])})" if value == 0 and similar else ""
    return Outcome(text, False, f"it is {value}{hint}")


def _dig(results: Any, path: str) -> tuple[bool, Any]:
    value = results
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def _eval_result(ctx: _Context, spec: ResultExpect) -> Outcome:
    found, value = _dig(ctx.built.app(spec.app).results(), spec.result)
    expected = spec.value
    rng: Range | None = None
    if not isinstance(expected, bool):
        try:
            rng = parse_range(expected)
        except ValueError:
            rng = None
    if rng is not None and spec.within is not None and rng.lo is not None and rng.lo == rng.hi:
        exact = rng.lo
        rng = Range(exact - spec.within, exact + spec.within)
        shown = f"{_num(exact)} (± {spec.within:g})"
    else:
        shown = rng.describe() if rng is not None else repr(expected)
    text = f"{spec.app}'s result {spec.result} is {shown}"
    if not found:
        return Outcome(text, False, f"{spec.app} has no result {spec.result!r}")
    if rng is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return Outcome(text, rng.holds(value), f"it is {value:g}" if isinstance(value, float) else f"it is {value}")
    ok = value == expected
    return Outcome(text, ok, f"it is {value!r}")


class _Seen:
    """One sent packet as a packet expectation sees it."""

    __slots__ = ("t", "pkt", "seq", "ack")

    def __init__(self, t: float, pkt: Any, seq: int, ack: int) -> None:
        self.t, self.pkt, self.seq, self.ack = t, pkt, seq, ack


def _sent(ctx: _Context, match: PacketMatchSpec) -> list[_Seen]:
    """Every sent packet matching ``match``, with its numbers as packets.txt shows them."""
    from tcpsim.trace.tcpdump import TcpdumpFormatter
    from tcpsim.wire.segment import Segment

    matcher = PacketMatcher(match, ctx.addresses)
    tracker = FlowTracker() if matcher.needs_moments else None
    apps = _recorded_app_resolver(ctx) if match.app is not None else None
    numbers = TcpdumpFormatter()
    out: list[_Seen] = []
    empty: frozenset[str] = frozenset()
    for r in ctx.records:
        if r[1] != PKT or r[3] != SEND:
            continue
        pkt = r[4]
        seg = pkt.payload
        seq = ack = 0
        if isinstance(seg, Segment):
            seq, ack, _ = numbers.numbers(pkt, seg)
        moments = tracker.observe(pkt) if tracker is not None else empty
        if matcher.matches(pkt, r[0], moments, apps):
            out.append(_Seen(r[0], pkt, seq, ack))
    return out


def _received_ttl(ctx: _Context) -> dict[int, int]:
    """id(segment or ICMP message) -> the TTL its packet had when first delivered to a host."""
    out: dict[int, int] = {}
    for r in ctx.records:
        if r[1] == PKT and r[3] == RECV:
            out.setdefault(id(r[4].payload), r[4].ttl)
    return out


def _option_tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(","):
        name, _, value = part.strip().partition(" ")
        out.append((name, value.strip()))
    return out


def _options_ok(want: Any, seg: Any) -> bool:
    from tcpsim.trace.tcpdump import format_options

    have = _option_tokens(format_options(seg)) if format_options(seg) else []
    if isinstance(want, list):
        names = {n for n, _ in have}
        return all(w in names for w in want)
    expected = _option_tokens(want)
    if len(expected) != len(have):
        return False
    # A name alone ("TS") takes any value; a name with a value must be exactly that.
    return all(en == hn and (not ev or ev == hv) for (en, ev), (hn, hv) in zip(expected, have, strict=True))


def _field_values(seen: _Seen, ttls: dict[int, int]) -> dict[str, Any]:
    from tcpsim.trace.tcpdump import format_options
    from tcpsim.wire.segment import Segment

    pkt = seen.pkt
    seg = pkt.payload
    vals: dict[str, Any] = {"at": seen.t, "ttl": ttls.get(id(seg))}
    if isinstance(seg, Segment):
        vals.update(seq=seen.seq, ack=seen.ack, abs_seq=seg.seq, abs_ack=seg.ack, win=seg.window,
                    len=len(seg.payload), to_port=seg.dport, from_port=seg.sport,
                    options=format_options(seg))
    return vals


def _field_ok(key: str, want: Any, have: Any, seen: _Seen) -> bool:
    if have is None:
        return False
    if key == "at":
        t, tol = want
        return bool(abs(have - t) <= tol + 1e-9)
    if key == "options":
        return _options_ok(want, seen.pkt.payload)
    return bool(have == want)


def _show_field(key: str, value: Any) -> str:
    if key == "at":
        if isinstance(value, tuple):
            t, tol = value
            return f"at {t:g} s" + (f" ± {tol * 1000:g} ms" if tol > 1e-6 else "")
        return f"at {value:.6f} s"
    if key == "options":
        return f"options [{','.join(value) if isinstance(value, list) else value}]"
    if key == "ttl" and value is None:
        return "ttl: never received"
    return f"{key} {value}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _eval_packet(ctx: _Context, spec: PacketExpect) -> Outcome:
    what = spec.packet.describe()
    fields = spec.packet.fields()
    want_text = ", ".join(_show_field(k, v) for k, v in fields.items())
    ttls = _received_ttl(ctx) if "ttl" in fields else {}
    if spec.times is not None:
        seen = _sent(ctx, spec.packet.without_fields())
        if fields:
            seen = [p for p in seen if all(_field_ok(k, v, _field_values(p, ttls).get(k), p) for k, v in fields.items())]
        want = [float(t) for t in spec.times]
        got = [p.t for p in seen]
        text = (f"packets {what}" + (f" with {want_text}" if fields else "") + " sent at "
                + ", ".join(f"{t:g}" for t in want) + f" s (± {spec.tolerance * 1000:g} ms)")
        ok = len(got) == len(want) and all(abs(a - b) <= spec.tolerance + 1e-9 for a, b in zip(got, want, strict=True))
        shown = ", ".join(f"{t:.6g}" for t in got[:20]) + (" ..." if len(got) > 20 else "")
        return Outcome(text, ok, f"{len(got)} sent, at {shown} s" if got else "none sent")
    if fields and spec.count is None:
        n = spec.nth or 1
        seen = _sent(ctx, spec.packet.without_fields())
        text = f"the {_ordinal(n)} packet {what} has {want_text}"
        if len(seen) < n:
            return Outcome(text, False, f"only {len(seen)} such packet(s) sent")
        p = seen[n - 1]
        vals = _field_values(p, ttls)
        wrong = [k for k, v in fields.items() if not _field_ok(k, v, vals.get(k), p)]
        got_text = ", ".join(_show_field(k, vals.get(k)) for k in fields)
        return Outcome(text, not wrong, f"{got_text} ({describe_packet(p.t, p.pkt)})")
    rng = parse_range(spec.count if spec.count is not None else ">= 1")
    text = f"packets {what}" + (f" with {want_text}" if fields else "") + ": " + (
        "never sent" if rng.lo == 0 and rng.hi == 0 else f"{rng.describe()} sent")
    seen = _sent(ctx, spec.packet.without_fields() if fields else spec.packet)
    hits = [p for p in seen if all(_field_ok(k, v, _field_values(p, ttls).get(k), p) for k, v in fields.items())]
    if rng.holds(len(hits)):
        return Outcome(text, True, f"{len(hits)}")
    shown = "; ".join(describe_packet(p.t, p.pkt) for p in hits[:3]) + (" ..." if len(hits) > 3 else "")
    extra = ""
    if fields and len(hits) < len(seen):
        p = seen[0]
        vals = _field_values(p, ttls)
        extra = f"; the first without the fields had {', '.join(_show_field(k, vals.get(k)) for k in fields)}"
    return Outcome(text, False, f"{len(hits)} sent" + (f": {shown}" if hits else "") + extra)


def _recorded_app_resolver(ctx: _Context) -> Any:
    """Which apps a packet belongs to, from what the apps recorded (the run is over)."""
    from tcpsim.wire.ip import IPPacket
    from tcpsim.wire.segment import Segment

    tuples: dict[tuple[str, int, str, int], set[str]] = {}
    listens: dict[tuple[str, int], set[str]] = {}
    for a in ctx.built.apps:
        for name in getattr(a.app, "conn_names", ()):
            local, _, remote = name.partition(">")
            la, _, lp = local.rpartition(":")
            ra, _, rp = remote.rpartition(":")
            if lp.isdigit() and rp.isdigit():
                tuples.setdefault((la, int(lp), ra, int(rp)), set()).add(a.name)
        addr = ctx.built.plan.hosts.get(a.host)
        for port in getattr(a.app, "listen_ports", ()):
            if addr is not None:
                listens.setdefault((addr, port), set()).add(a.name)

    def apps(pkt: IPPacket, seg: Segment) -> set[str]:
        out: set[str] = set()
        out |= tuples.get((pkt.src, seg.sport, pkt.dst, seg.dport), set())
        out |= tuples.get((pkt.dst, seg.dport, pkt.src, seg.sport), set())
        out |= listens.get((pkt.src, seg.sport), set())
        out |= listens.get((pkt.dst, seg.dport), set())
        return out

    return apps


def _queue_values(ctx: _Context, host: str, at: float, names: Any) -> dict[str, dict[str, int]]:
    """The latest queue sample at or before ``at`` of each of ``host``'s connections/listeners chosen by ``names``."""
    out: dict[str, dict[str, int]] = {}
    for r in ctx.records:
        if r[0] > at + 1e-9:
            break
        if r[1] == SAMPLE and r[2] == host and names(r[3]):
            out.setdefault(r[3], {}).update({k: v for k, v in r[4].items()
                                              if k in ("recv_q", "send_q", "syn_queue", "accept_queue")})
    return out


def _eval_listener_queue(ctx: _Context, spec: ListenerQueueExpect) -> Outcome:
    addr = ctx.built.plan.hosts.get(spec.host, "")
    name = f"{addr}:{spec.listener}>0.0.0.0:*"
    vals = _queue_values(ctx, spec.host, spec.at, lambda n: n == name).get(name, {})
    parts = []
    ok = True
    got = []
    for key, label in (("syn_queue", "SYN queue"), ("accept_queue", "accept queue")):
        want = getattr(spec, key)
        if want is None:
            continue
        rng = parse_range(want)
        have = vals.get(key, 0)
        parts.append(f"{label} {rng.describe()}")
        got.append(f"{label} {have}")
        ok = ok and rng.holds(have)
    text = f"at {_t(spec.at)}, {spec.host}'s listener on port {spec.listener} has " + ", ".join(parts)
    return Outcome(text, ok, ", ".join(got))


def _eval_conn_queue(ctx: _Context, spec: ConnQueueExpect) -> Outcome:
    flt = _Filter.model_validate({"conn": spec.conn})
    vals = _queue_values(ctx, spec.host, spec.at,
                         lambda n: not n.endswith(">0.0.0.0:*") and ctx.belongs(spec.host, n, flt))
    parts = []
    got = []
    ok = True
    for key, label in (("recv_q", "Recv-Q"), ("send_q", "Send-Q")):
        want = getattr(spec, key)
        if want is None:
            continue
        rng = parse_range(want)
        have = sum(v.get(key, 0) for v in vals.values())
        parts.append(f"{label} {rng.describe()}")
        got.append(f"{label} {have}")
        ok = ok and rng.holds(have)
    text = f"at {_t(spec.at)}, {spec.host}'s connections matching {spec.conn} have " + ", ".join(parts) + " bytes"
    return Outcome(text, ok, ", ".join(got) + (f" ({len(vals)} connection(s) seen)" if vals else " (no connection seen)"))


_CHECKS: dict[type, Any] = {
    StateExpect: _eval_state, SequenceExpect: _eval_sequence, ErrorExpect: _eval_error,
    CounterExpect: _eval_counter, ResultExpect: _eval_result, PacketExpect: _eval_packet,
    ListenerQueueExpect: _eval_listener_queue, ConnQueueExpect: _eval_conn_queue,
}


def check_all(built: Built, specs: Iterable[Any]) -> list[Outcome]:
    """Check every expectation against a finished run, in file order; then the ``expect:``
    of each scripted call (``type: script``), app by app, in step order."""
    ctx = _Context(built)
    out = [_CHECKS[type(spec)](ctx, spec) for spec in specs]
    for a in built.apps:
        steps = getattr(a.app, "step_outcomes", None)
        if steps is not None:
            out.extend(_step_outcome(a.name, step, call, built.sim.now) for step, call in steps())
    return out


def _step_outcome(app: str, step: Any, call: dict[str, Any] | None, end: float) -> Outcome:
    from tcpsim.apps.script import call_text

    want = step.expect
    shown = "ok" if want == "ok" else str(want)
    text = f"{app}: step {step.index + 1}, {call_text(step.call, step.args)} gives {shown}"
    if call is None:
        return Outcome(text, False, f"the call never ran (the script stopped or the run ended at {_t(end)})")
    if call.get("interrupted") or call.get("blocked"):
        return Outcome(text, False, f"it never returned (called at {_t(call['start'])})")
    got = call.get("errno", call.get("result"))
    return Outcome(text, bool(call.get("ok")), f"{got} at {_t(call['t'])}")
