"""Naming packets by meaning: "the client's FIN", "the ACK of the last FIN", "a keepalive probe".

Fault rules (``faults:``) and packet expectations (``expect: - packet:``)
both pick packets with the same criteria, ``PacketMatchSpec``. Most criteria
look at one packet (addresses, flags, time); the *moments* need the
connection's history, which ``FlowTracker`` keeps by watching every TCP
segment the hosts send, in order:

* ``handshake-syn``: a SYN without ACK (and its retransmissions);
* ``handshake-synack``: a SYN-ACK;
* ``handshake-ack``: the ACK that completes the three-way handshake: from
  the side that sent the SYN, acknowledging exactly the SYN-ACK, no data,
  before the other side sent any data (the repeats that answer
  retransmitted SYN-ACKs match too);
* ``first-data``: the first segment carrying data from a side (and its
  retransmissions, which start at the same sequence number);
* ``fin``: a segment with FIN;
* ``final-ack``: once both sides have sent a FIN, an ACK without FIN that
  acknowledges the other side's FIN (in a simultaneous close both ACKs are
  final);
* ``keepalive-probe``: an ACK without data whose sequence number is one
  below what the sender has already sent (RFC 1122 4.2.3.6; a zero-window
  probe looks the same on the wire and matches too);
* ``rst``: a segment with RST.

The tracker is only ever fed packets when a rule or expectation uses it, so
scenarios without faults pay nothing per packet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from tcpsim.scenario.base import Name, Spec, is_ipv4
from tcpsim.scenario.units import Duration, describe
from tcpsim.tcp import seq as sq
from tcpsim.wire.ip import IPPROTO_ICMP, IPPROTO_TCP, IPPacket
from tcpsim.wire.segment import ACK, FIN, RST, SYN, Segment, flags_text

__all__ = [
    "MOMENTS", "ConnPattern", "FlowTracker", "PacketMatchSpec", "PacketMatcher", "parse_conn", "parse_flags",
]

Moment = Literal[
    "handshake-syn", "handshake-synack", "handshake-ack", "first-data", "fin", "final-ack",
    "keepalive-probe", "rst",
]
MOMENTS: tuple[str, ...] = (
    "handshake-syn", "handshake-synack", "handshake-ack", "first-data", "fin", "final-ack",
    "keepalive-probe", "rst",
)

_FLAG_LETTERS = "FSRP.UEWA"  # tcpdump's letters, and A for ACK as hping3 and scapy spell it
_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, ".": 0x10, "U": 0x20, "E": 0x40, "W": 0x80, "A": 0x10}
FLAGS_HINT = ("TCP flags in tcpdump's letters: '.' or 'A' (ACK set, anything else allowed), 'S', 'F', 'R', 'P', ...; "
              "'=' first for exactly these, e.g. '=.' (a bare ACK), '=S' (a SYN without ACK)")


def parse_flags(text: str) -> tuple[int, bool]:
    """``"S."`` -> (SYN|ACK, at-least); ``"=S"`` -> (SYN, exact). ``"+F"`` is an older spelling of ``"F"``.

    Without ``=``, the letters must be set and any other flag may be too, so
    ``"."`` takes every segment with ACK (tcpdump's ``tcp[tcpflags] & tcp-ack != 0``).
    """
    exact = text.startswith("=")
    body = text[1:] if text[:1] in ("+", "=") else text
    if not body or any(c not in _FLAG_LETTERS for c in body) or len({_FLAG_BITS[c] for c in body}) != len(body):
        raise ValueError(f"expected {FLAGS_HINT}, got {text!r}")
    bits = 0
    for c in body:
        bits |= _FLAG_BITS[c]
    return bits, exact


def _check_flags(value: str) -> str:
    try:
        parse_flags(value)
    except ValueError as exc:
        raise PydanticCustomError("flags", str(exc)) from None
    return value


Flags = Annotated[str, AfterValidator(_check_flags)]

_END = r"(\*|[^:<>\s]+:(?:\*|\d+))"
_CONN = re.compile(rf"^\s*{_END}\s*(->|>|<-)\s*{_END}\s*$")
CONN_HINT = ("a connection such as 'client:*>server:80' or 'client:*->server:80' (host name or address, ':', "
             "port; '*' for any; '*:80<-*' names the remote end second)")


def parse_conn(text: str) -> tuple[str, int | None, str, int | None]:
    """``"client:*>server:80"`` -> ("client", None, "server", 80).

    ``->`` is the same as ``>``; ``A<-B`` is ``B>A`` turned round, so the end
    written first is still the first returned (the local end, for a host's
    connections). A bare ``*`` is any address and any port.
    """
    m = _CONN.match(text)
    if m is None:
        raise ValueError(f"expected {CONN_HINT}, got {text!r}")
    left, _arrow, right = m.groups()
    out: list[str | int | None] = []
    for end in (left, right):
        if end == "*":
            out += ["*", None]
            continue
        addr, _, p = end.rpartition(":")
        if p == "*":
            out += [addr, None]
            continue
        n = int(p)
        if not 0 < n <= 65535:
            raise ValueError(f"expected ports 1..65535 in {text!r}")
        out += [addr, n]
    a, pa, b, pb = out
    return str(a), pa if isinstance(pa, int) else None, str(b), pb if isinstance(pb, int) else None


def _check_conn(value: str) -> str:
    try:
        parse_conn(value)
    except ValueError as exc:
        raise PydanticCustomError("conn", str(exc)) from None
    return value


ConnPattern = Annotated[str, AfterValidator(_check_conn)]


def _check_endpoint(value: str) -> str:
    if value != "*" and not is_ipv4(value) and not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", value):
        raise PydanticCustomError("endpoint", "expected a host or router name or an IPv4 address, got {got}",
                                  {"got": describe(value)})
    return value


Endpoint = Annotated[str, AfterValidator(_check_endpoint)]


class PacketMatchSpec(Spec):
    """Which packets: every criterion given must hold (an empty match takes every packet)."""

    src: Endpoint | None = Field(None, alias="from", description="Sent from this host (its address is the source).")
    dst: Endpoint | None = Field(None, alias="to", description="Sent to this host or address.")
    proto: Literal["tcp", "icmp", "any"] = Field(
        "any", description="Protocol; flags, moment, app and conn imply tcp.")
    flags: Flags | None = Field(None, description=FLAGS_HINT + ".")
    data: bool | None = Field(None, description="true: only segments carrying data; false: only those without.")
    moment: Moment | None = Field(None, description="A named moment of a connection (see the list).")
    app: Name | None = Field(None, description="Packets of this app's connections (and of its listening port).")
    conn: ConnPattern | None = Field(None, description=CONN_HINT + "; either direction.")
    after: Duration | None = Field(None, description="Only packets sent at or after this time.")
    before: Duration | None = Field(None, description="Only packets sent before this time.")

    @model_validator(mode="after")
    def _consistent(self) -> PacketMatchSpec:
        tcp_only = [k for k in ("flags", "data", "moment", "app", "conn") if getattr(self, k) is not None]
        if self.proto == "icmp" and tcp_only:
            raise ValueError(f"proto: icmp cannot be combined with {', '.join(tcp_only)} (those are TCP criteria)")
        if self.after is not None and self.before is not None and self.before <= self.after:
            raise ValueError(f"before ({self.before:g} s) must be later than after ({self.after:g} s)")
        return self

    def node_refs(self) -> Iterable[tuple[str, str]]:
        """(key, name) for every node named by the match (checked against the topology)."""
        for key, value in (("from", self.src), ("to", self.dst)):
            if value is not None and value != "*" and not is_ipv4(value):
                yield key, value
        if self.conn is not None:
            a, _, b, _ = parse_conn(self.conn)
            for end in (a, b):
                if end != "*" and not is_ipv4(end):
                    yield "conn", end

    def describe(self) -> str:
        parts: list[str] = []
        if self.moment:
            parts.append(self.moment)
        if self.flags:
            parts.append(f"flags [{self.flags}]")
        if self.data is not None:
            parts.append("with data" if self.data else "without data")
        if self.proto != "any" and not parts:
            parts.append(self.proto)
        if self.src:
            parts.append(f"from {self.src}")
        if self.dst:
            parts.append(f"to {self.dst}")
        if self.app:
            parts.append(f"of {self.app}")
        if self.conn:
            parts.append(f"on {self.conn}")
        if self.after is not None:
            parts.append(f"at or after {self.after:g} s")
        if self.before is not None:
            parts.append(f"before {self.before:g} s")
        return " ".join(parts) or "any packet"


# -- the moments ---------------------------------------------------------------------------


@dataclass
class _Side:
    iss: int | None = None
    nxt: int | None = None             # highest sequence number sent so far, plus one
    first_data: int | None = None      # sequence number of the first byte of data
    fin: int | None = None             # sequence number of the FIN
    sent_data: bool = False


@dataclass
class _Flow:
    active: tuple[str, int] | None = None   # who sent the SYN
    sides: dict[tuple[str, int], _Side] = field(default_factory=dict)

    def side(self, key: tuple[str, int]) -> _Side:
        s = self.sides.get(key)
        if s is None:
            s = self.sides[key] = _Side()
        return s


class FlowTracker:
    """Follows every TCP connection from the segments sent, and names each segment's moments."""

    def __init__(self) -> None:
        self.flows: dict[frozenset[tuple[str, int]], _Flow] = {}

    def observe(self, pkt: IPPacket) -> frozenset[str]:
        """The moments this segment is, updating the connection's history (call once per packet, in order)."""
        seg = pkt.payload
        if not isinstance(seg, Segment):
            return frozenset()
        me = (pkt.src, seg.sport)
        peer = (pkt.dst, seg.dport)
        key = frozenset((me, peer))
        flags = seg.flags
        flow = self.flows.get(key)
        if flow is None or (flags & SYN and not flags & ACK and flow.active == me
                            and flow.side(me).iss not in (None, seg.seq)):
            # A first segment, or a new SYN with a new ISN: a new use of this 4-tuple.
            flow = self.flows[key] = _Flow()
        mine = flow.side(me)
        theirs = flow.side(peer)
        moments: set[str] = set()
        n = len(seg.payload)
        if flags & RST:
            moments.add("rst")
        elif flags & SYN:
            if flags & ACK:
                moments.add("handshake-synack")
            else:
                moments.add("handshake-syn")
                flow.active = me
            mine.iss = seg.seq
        else:
            if flags & FIN:
                moments.add("fin")
            if n and (mine.first_data is None or seg.seq == mine.first_data):
                moments.add("first-data")
            if (flags & ACK and not flags & FIN and not n and flow.active == me and theirs.iss is not None
                    and mine.iss is not None and seg.ack == sq.add(theirs.iss, 1)
                    and seg.seq == sq.add(mine.iss, 1) and not theirs.sent_data and theirs.fin is None):
                moments.add("handshake-ack")
            if (flags & ACK and not flags & FIN and mine.fin is not None and theirs.fin is not None
                    and seg.ack == sq.add(theirs.fin, 1)):
                moments.add("final-ack")
            if (flags & ACK and not n and not flags & FIN and mine.nxt is not None
                    and seg.seq == sq.add(mine.nxt, -1) and "final-ack" not in moments
                    and "handshake-ack" not in moments):
                moments.add("keepalive-probe")
        # Update what this side has sent.
        if n and mine.first_data is None:
            mine.first_data = seg.seq
        if n:
            mine.sent_data = True
        if flags & FIN:
            mine.fin = sq.add(seg.seq, n)
        end = sq.add(seg.seq, seg.seg_len)
        if not flags & RST and (mine.nxt is None or sq.gt(end, mine.nxt)):
            mine.nxt = end
        return frozenset(moments)


# -- matching ---------------------------------------------------------------------------------


AppResolver = Callable[[IPPacket, Segment], set[str]]


class PacketMatcher:
    """A compiled ``PacketMatchSpec``: names resolved to addresses, flags to bits."""

    __slots__ = ("spec", "src", "dst", "proto", "flag_bits", "flags_exact", "data", "moment", "app", "conn",
                 "after", "before", "needs_moments")

    def __init__(self, spec: PacketMatchSpec, addresses: Callable[[str], frozenset[str]]) -> None:
        """``addresses(name)``: every address of a host or router (a router has one per link)."""
        self.spec = spec
        self.src = None if spec.src in (None, "*") else addresses(spec.src or "")
        self.dst = None if spec.dst in (None, "*") else addresses(spec.dst or "")
        tcp = any(getattr(spec, k) is not None for k in ("flags", "data", "moment", "app", "conn"))
        self.data = spec.data
        self.proto = IPPROTO_TCP if (spec.proto == "tcp" or tcp) else IPPROTO_ICMP if spec.proto == "icmp" else None
        self.flag_bits: int | None = None
        self.flags_exact = True
        if spec.flags is not None:
            self.flag_bits, self.flags_exact = parse_flags(spec.flags)
        self.moment = spec.moment
        self.app = spec.app
        self.conn: tuple[frozenset[str] | None, int | None, frozenset[str] | None, int | None] | None = None
        if spec.conn is not None:
            a, pa, b, pb = parse_conn(spec.conn)
            self.conn = (None if a == "*" else addresses(a), pa, None if b == "*" else addresses(b), pb)
        self.after = spec.after
        self.before = spec.before
        self.needs_moments = spec.moment is not None

    def matches(self, pkt: IPPacket, t: float, moments: frozenset[str], apps: AppResolver | None) -> bool:
        if self.after is not None and t < self.after - 1e-12:
            return False
        if self.before is not None and t >= self.before - 1e-12:
            return False
        if self.src is not None and pkt.src not in self.src:
            return False
        if self.dst is not None and pkt.dst not in self.dst:
            return False
        if self.proto is not None and pkt.proto != self.proto:
            return False
        seg = pkt.payload
        if not isinstance(seg, Segment):
            return self.proto != IPPROTO_TCP
        if self.flag_bits is not None:
            have = seg.flags & 0xFF
            if self.flags_exact:
                if have & 0x1F != self.flag_bits & 0x1F or (have & self.flag_bits) != self.flag_bits:
                    return False
            elif have & self.flag_bits != self.flag_bits:
                return False
        if self.data is not None and bool(seg.payload) != self.data:
            return False
        if self.moment is not None and self.moment not in moments:
            return False
        if self.conn is not None:
            a, pa, b, pb = self.conn
            fwd = (a is None or pkt.src in a) and (pa is None or seg.sport == pa) and \
                  (b is None or pkt.dst in b) and (pb is None or seg.dport == pb)
            rev = (a is None or pkt.dst in a) and (pa is None or seg.dport == pa) and \
                  (b is None or pkt.src in b) and (pb is None or seg.sport == pb)
            if not (fwd or rev):
                return False
        return not (self.app is not None and (apps is None or self.app not in apps(pkt, seg)))


def flags_of(pkt: IPPacket) -> str:
    seg = pkt.payload
    return flags_text(seg.flags) if isinstance(seg, Segment) else ""


def describe_packet(t: float, pkt: IPPacket) -> str:
    """A short one-line description, for expectation reports."""
    seg = pkt.payload
    if isinstance(seg, Segment):
        return f"{t:.3f} {pkt.src}.{seg.sport} > {pkt.dst}.{seg.dport} [{flags_text(seg.flags)}]"
    return f"{t:.3f} {pkt.src} > {pkt.dst} proto {pkt.proto}"

