"""Crafted segments (the ``inject`` event): one TCP segment sent from a host, its stack not involved.

Two forms::

    - {at: 2s, inject: {from: attacker, to: "server:80", flags: "A", seq: 1000, ack: 5000, win: 512}}
    - {at: 3s, inject: {conn: "client:*->server:80", from: client, flags: "R", seq: next}}

Without ``conn`` every number is absolute (``seq``, ``ack`` default 0) and the
segment goes from ``from``'s address, port ``sport`` (default 40000), to
``to`` (``HOST:PORT`` or ``ADDRESS:PORT``).

With ``conn`` (a connection pattern, as in packet matches) the segment travels
as one end of a connection that exists at that moment: ``from`` names the end
(one of the pattern's hosts), and addresses and ports are that connection's.
``seq`` and ``ack`` then also take words, read from the sending end's TCB at
that moment (RFC 9293 §3.3.1 names):

* ``seq: next`` is SND.NXT, ``seq: una`` is SND.UNA; ``ack: next`` is RCV.NXT;
* ``next+N``, ``next-N``, ``una+N``, ``una-N`` add to those;
* a number is relative to the ISN of its side, as tcpdump shows them
  (``seq: 1`` is ISS+1, ``ack: 1`` is IRS+1).

Defaults with ``conn``: ``seq: next``, and ``ack: next`` when the flags
include ACK. If the sending end has no TCB any more (its host crashed) the
numbers come from the other end's TCB instead (its RCV.NXT is our SND.NXT,
its SND.NXT our RCV.NXT). A TIME_WAIT entry keeps no ISN, so against one a
number is absolute. If no connection matches, nothing is sent and the trace
says so.

``win`` defaults to 0 for a RST and 65535 otherwise; ``len`` bytes of data
(``x``), default 0; ``ttl`` defaults to the host's. The packet leaves the host
as the host's own would (fault rules see it; the trace records it as sent),
and the receiving stack answers as it would any segment.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from tcpsim.scenario.base import Name, Spec, is_ipv4
from tcpsim.scenario.packets import ConnPattern, parse_conn, parse_flags
from tcpsim.scenario.units import describe
from tcpsim.tcp import seq as sq
from tcpsim.wire.ip import IP_HEADER_LEN, IPPROTO_TCP, IPPacket
from tcpsim.wire.segment import ACK, RST, Segment, flags_text

if TYPE_CHECKING:
    from tcpsim.scenario.build import Built

__all__ = ["InjectSpec", "inject", "parse_target"]

_WORD = re.compile(r"^\s*(next|una)\s*(?:([+-])\s*(\d+))?\s*$")
NUM_HINT = "a number, or with conn: next, una, next+N, next-N, una+N or una-N"
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*|\d+\.\d+\.\d+\.\d+):(\d+)\s*$")
TARGET_HINT = "HOST:PORT or ADDRESS:PORT, e.g. 'server:80'"


def _check_num(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("seqnum", "expected {hint}, got {got}", {"hint": NUM_HINT, "got": describe(value)})
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise PydanticCustomError("seqnum", "expected a sequence number 0..4294967295, got {got}",
                                      {"got": describe(value)})
        return value
    if isinstance(value, str) and _WORD.match(value):
        return value
    raise PydanticCustomError("seqnum", "expected {hint}, got {got}", {"hint": NUM_HINT, "got": describe(value)})


SeqNum = Annotated[int | str, AfterValidator(_check_num),
                   WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
                                             {"type": "string"}]})]


def parse_target(text: str) -> tuple[str, int]:
    m = _TARGET.match(text)
    if m is None or not 0 < int(m.group(2)) <= 65535:
        raise ValueError(f"expected {TARGET_HINT}, got {text!r}")
    return m.group(1), int(m.group(2))


def _check_target(value: str) -> str:
    try:
        parse_target(value)
    except ValueError as exc:
        raise PydanticCustomError("target", str(exc)) from None
    return value


def _check_flags(value: str) -> str:
    try:
        bits, exact = parse_flags(value)
    except ValueError:
        raise PydanticCustomError("flags", "expected TCP flags such as 'S', 'A' (or '.'), 'R', 'RA', 'FA', 'PA', "
                                  "got {got}", {"got": describe(value)}) from None
    if value.startswith(("=", "+")):
        raise PydanticCustomError("flags", "expected the flags to set, without '=' or '+', got {got}",
                                  {"got": describe(value)})
    return value


Target = Annotated[str, AfterValidator(_check_target)]
SegFlags = Annotated[str, AfterValidator(_check_flags)]


class InjectSpec(Spec):
    """One crafted segment."""

    src: Name = Field(alias="from", description="The host that sends it (its TCP stack is not involved).")
    to: Target | None = Field(None, description=TARGET_HINT + "; or give conn.")
    conn: ConnPattern | None = Field(None, description="Or: an existing connection it belongs to (from is one end).")
    sport: Annotated[int, Field(ge=1, le=65535)] | None = Field(None, description="Source port (with to); default 40000.")
    flags: SegFlags = Field(description="TCP flags, e.g. 'S', 'A', 'R', 'RA', 'FA' ('.' is ACK too).")
    seq: SeqNum | None = Field(None, description="Sequence number: " + NUM_HINT + ".")
    ack: SeqNum | None = Field(None, description="Acknowledgment number: " + NUM_HINT + ".")
    win: Annotated[int, Field(ge=0, le=65535)] | None = Field(None, description="Window field; default 0 for RST, else 65535.")
    len: Annotated[int, Field(ge=0, le=65495)] = Field(0, description="Bytes of data carried.")
    ttl: Annotated[int, Field(ge=1, le=255)] | None = Field(None, description="IP TTL; default the host's.")

    @model_validator(mode="after")
    def _form(self) -> InjectSpec:
        if (self.to is None) == (self.conn is None):
            raise ValueError("expected exactly one of to: (an address and port) and conn: (an existing connection)")
        if self.conn is None:
            for key in ("seq", "ack"):
                if isinstance(getattr(self, key), str):
                    raise ValueError(f"{key}: {getattr(self, key)!r} needs conn: (the connection it is relative to)")
        elif self.sport is not None:
            raise ValueError("sport: goes with to:; with conn: the ports are the connection's")
        return self

    def node_refs(self) -> list[tuple[str, str]]:
        out = [("from", self.src)]
        if self.to is not None:
            host, _ = parse_target(self.to)
            if not is_ipv4(host):
                out.append(("to", host))
        if self.conn is not None:
            a, _, b, _ = parse_conn(self.conn)
            out += [("conn", end) for end in (a, b) if end != "*" and not is_ipv4(end)]
        return out

    def describe(self) -> str:
        where = f"to {self.to}" if self.to is not None else f"on {self.conn}"
        return f"[{self.flags}] from {self.src} {where}"


def _num(value: int | str | None, base: dict[str, int], isn: int | None, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value if isn is None else sq.add(isn, value)
    m = _WORD.match(value)
    assert m is not None
    word, sign, n = m.groups()
    k = int(n or 0)
    return sq.add(base[word], -k if sign == "-" else k)


def _find(built: Built, spec: InjectSpec) -> tuple[Any, Any, int, str, int] | None:
    """(our TCB or None, the peer's TCB or None, our port, peer address, peer port) of the connection.

    Our host's connections are tried first, in a fixed order; then those of
    other hosts that have our address as their remote end.
    """
    from tcpsim.net.node import Host

    assert spec.conn is not None
    a, pa, b, pb = parse_conn(spec.conn)

    def end_ok(addr: str, port: int, pat: str, pat_port: int | None) -> bool:
        return (pat == "*" or addr in built.addresses(pat)) and (pat_port is None or port == pat_port)

    def fits(laddr: str, lport: int, raddr: str, rport: int) -> bool:
        return (end_ok(laddr, lport, a, pa) and end_ok(raddr, rport, b, pb)) or \
            (end_ok(laddr, lport, b, pb) and end_ok(raddr, rport, a, pa))

    sim = built.sim
    host = sim.host(spec.src)
    me = host.address
    stack = getattr(host, "tcp", None)
    if stack is not None:
        for (lport, raddr, rport), conn in sorted(stack.conns.items(), key=lambda kv: str(kv[0])):
            if fits(me, lport, raddr, rport):
                return conn, _peer(built, raddr, rport, me, lport), lport, raddr, rport
    for node in sim.nodes.values():
        other = getattr(node, "tcp", None)
        if other is None or node is host or not isinstance(node, Host):
            continue
        for (lport, raddr, rport), conn in sorted(other.conns.items(), key=lambda kv: str(kv[0])):
            if raddr == me and fits(me, rport, node.address, lport):
                return None, conn, rport, node.address, lport
    return None


def _peer(built: Built, addr: str, port: int, raddr: str, rport: int) -> Any:
    node = built.sim.address_owner(addr)
    stack = getattr(node, "tcp", None)
    return stack.conns.get((port, raddr, rport)) if stack is not None else None


def _numbers(tcb: Any) -> tuple[int, int, int, int | None, int | None]:
    """(SND.UNA, SND.NXT, RCV.NXT, ISS, IRS) of a TCB, a half-open request or a TIME_WAIT entry."""
    from tcpsim.tcp.request import Request

    if isinstance(tcb, Request):
        return tcb.iss, sq.add(tcb.iss, 1), sq.add(tcb.syn.seq, 1), tcb.iss, tcb.syn.seq
    if hasattr(tcb, "snd_una"):
        return tcb.snd_una, tcb.snd_nxt, tcb.rcv_nxt, tcb.iss, tcb.irs
    return tcb.snd_nxt, tcb.snd_nxt, tcb.rcv_nxt, None, None  # TIME_WAIT keeps only these


def inject(built: Built, spec: InjectSpec) -> None:
    """Build the segment now and send it from ``spec.src``."""
    sim = built.sim
    host = sim.host(spec.src)
    bits, _ = parse_flags(spec.flags)
    if spec.conn is None:
        assert spec.to is not None
        name, dport = parse_target(spec.to)
        dst = built.address(name)
        sport = spec.sport or 40000
        seq = _num(spec.seq, {}, None, 0)
        ack = _num(spec.ack, {}, None, 0)
    else:
        found = _find(built, spec)
        if found is None:
            sim.trace.node_event(sim.now, host.name, "inject", f"no connection matches {spec.conn}: nothing sent")
            return
        mine, peer, sport, dst, dport = found
        if mine is not None:
            una, nxt, rcv, iss, irs = _numbers(mine)
        else:
            # The other end's view, turned round: its RCV.NXT is what we would send next.
            p_una, p_nxt, p_rcv, p_iss, p_irs = _numbers(peer)
            una = nxt = p_rcv
            rcv, iss, irs = p_nxt, p_irs, p_iss
        seq = _num(spec.seq, {"next": nxt, "una": una}, iss, nxt)
        ack = _num(spec.ack, {"next": rcv, "una": rcv}, irs, rcv if bits & ACK else 0)
    win = spec.win if spec.win is not None else (0 if bits & RST else 65535)
    seg = Segment(sport, dport, seq, ack, bits, win, b"x" * spec.len)
    ttl = spec.ttl if spec.ttl is not None else host.ttl
    sim.trace.node_event(sim.now, host.name, "inject",
                         f"{host.address}.{sport} > {dst}.{dport}: Flags [{flags_text(bits)}], seq {seq}, ack {ack}, "
                         f"win {win}, length {spec.len}")
    host.output(IPPacket(host.address, dst, ttl, IPPROTO_TCP, seg, IP_HEADER_LEN + seg.header_len + spec.len,
                         host.next_ip_id()))
