"""Faults by meaning (``faults:``): drop, delay, duplicate or corrupt the packets a rule names.

A link's ``loss: 1%`` is blind; a lesson needs "lose the ACK of the last
FIN, once". A rule picks packets with the criteria of ``PacketMatchSpec``
(hosts, flags, moment, app, connection, time window) plus an ordinal:
``nth: 2`` skips the first match, ``count: 3`` acts at most three times.
Without ``nth`` and ``count`` a rule acts on every match; with ``nth`` alone,
on that one packet only.

Where: at the host that originates a packet, as it leaves (each packet is
seen exactly once, whatever its path). Rules are tried in file order; the
first that acts on a packet decides. A dropped packet is recorded as sent and
then dropped with reason ``fault:<rule-name>``, so packets.txt shows it on
the wire with a ``# drop`` line, and the host's counters count it under
``dropped`` with that reason. A corrupted packet travels on and is dropped
by the receiver as ``checksum``; every action is also counted in the
sender's trace counter ``fault:<rule-name>``.

Cost: hosts get an egress filter (``Node.set_egress_filter``) only when the
scenario has at least one rule, so scenarios without faults pay nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from tcpsim.scenario.base import Name
from tcpsim.scenario.packets import FlowTracker, PacketMatcher, PacketMatchSpec
from tcpsim.scenario.units import MAX_COUNT, Duration
from tcpsim.trace.records import DROP, SEND
from tcpsim.wire.ip import IPPacket
from tcpsim.wire.segment import Segment

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation

__all__ = ["FaultEngine", "FaultSpec", "live_app_resolver"]


class FaultSpec(PacketMatchSpec):
    """One fault rule: which packets (the match keys), what to do, how many times."""

    name: Name | None = Field(None, description="Rule name, used in drop reasons (fault:NAME); default fault1, ...")
    action: Literal["drop", "delay", "duplicate", "corrupt"] = Field("drop", description="What to do to the packet.")
    delay: Duration | None = Field(None, description="For delay: how long to hold it; for duplicate: the copy's lag.")
    nth: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(None, description="Act from the nth matching packet on.")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(
        None, description="Act at most this many times (default: once with nth, else always).")

    @model_validator(mode="after")
    def _delay_given(self) -> FaultSpec:
        if self.action == "delay" and not self.delay:
            raise ValueError("action: delay needs delay: (how long to hold the packet), e.g. delay: 200ms")
        if self.delay is not None and self.action not in ("delay", "duplicate"):
            raise ValueError(f"delay: only means something with action: delay or duplicate, not {self.action}")
        return self

    def describe(self) -> str:
        what = {"drop": "drop", "delay": f"delay by {self.delay or 0:g} s", "duplicate": "duplicate",
                "corrupt": "corrupt"}[self.action]
        which = super().describe()
        if self.nth is not None:
            which = f"match #{self.nth}" + (f"..#{self.nth + self.count - 1}" if self.count and self.count > 1 else "") + f" of: {which}"
        elif self.count is not None:
            which = f"the first {self.count} of: {which}"
        return f"{what} {which}"


def live_app_resolver(sim: Simulation) -> Any:
    """Which apps a TCP packet belongs to, asked of the hosts' TCP layers right now.

    A packet belongs to the app owning the socket of either end's connection,
    or the listening socket of either end's port (so a server's app covers
    half-open requests no one has accepted yet, and SYNs to it).
    """
    from tcpsim.net.node import Host

    def apps(pkt: IPPacket, seg: Segment) -> set[str]:
        out: set[str] = set()
        for addr, port, raddr, rport in ((pkt.src, seg.sport, pkt.dst, seg.dport),
                                         (pkt.dst, seg.dport, pkt.src, seg.sport)):
            node = sim.address_owner(addr)
            if not isinstance(node, Host):
                continue
            stack = getattr(node, "tcp", None)
            if stack is None:
                continue
            conn = stack.conns.get((port, raddr, rport))
            if conn is not None:
                sock = stack.sockets.get(conn)
                app = sock.app if sock is not None else getattr(conn, "app", "")
                if app:
                    out.add(app)
            lsock = stack.listen_sockets.get(port)
            if lsock is not None and lsock.app:
                out.add(lsock.app)
        return out

    return apps


class _Rule:
    __slots__ = ("name", "spec", "matcher", "nth", "limit", "seen", "applied")

    def __init__(self, name: str, spec: FaultSpec, matcher: PacketMatcher) -> None:
        self.name = name
        self.spec = spec
        self.matcher = matcher
        self.nth = spec.nth or 1
        self.limit = spec.count if spec.count is not None else (1 if spec.nth is not None else None)
        self.seen = 0
        self.applied = 0


class FaultEngine:
    """The rules of one run, installed as an egress filter on every host."""

    def __init__(self, sim: Simulation, rules: list[tuple[str, FaultSpec]], addresses: Any) -> None:
        self.sim = sim
        self.rules = [_Rule(name, spec, PacketMatcher(spec, addresses)) for name, spec in rules]
        self.tracker = FlowTracker()
        self.apps = live_app_resolver(sim)

    def install(self) -> None:
        from tcpsim.net.node import Host

        if not self.rules:
            return
        for node in self.sim.nodes.values():
            if isinstance(node, Host):
                node.set_egress_filter(self._filter_for(node))

    def _filter_for(self, host: Host) -> Any:
        def egress(pkt: IPPacket) -> bool:
            return self.filter(host, pkt)
        return egress

    def filter(self, host: Host, pkt: IPPacket) -> bool:
        """True when a rule took the packet (see the module docstring)."""
        if not host.up:
            return False
        sim = self.sim
        now = sim.now
        moments = self.tracker.observe(pkt)
        for rule in self.rules:
            if not rule.matcher.matches(pkt, now, moments, self.apps):
                continue
            rule.seen += 1
            if rule.seen < rule.nth or (rule.limit is not None and rule.applied >= rule.limit):
                continue
            rule.applied += 1
            sim.trace.count(host.name, "fault:" + rule.name)
            return self._act(host, pkt, rule)
        return False

    def _act(self, host: Host, pkt: IPPacket, rule: _Rule) -> bool:
        sim = self.sim
        action = rule.spec.action
        if action == "drop":
            route = host.route(pkt.dst)
            where = route.name if route is not None else ""
            trace = sim.trace
            trace.packet(sim.now, host.name, SEND, pkt, where, "")
            trace.packet(sim.now, host.name, DROP, pkt, where, "fault:" + rule.name)
            return True
        if action == "delay":
            sim.call_later(rule.spec.delay or 0.0, host.send_unfiltered, pkt)
            return True
        if action == "duplicate":
            host.send_unfiltered(pkt)
            sim.call_later(rule.spec.delay or 0.0, host.send_unfiltered, pkt)
            return True
        host.send_unfiltered(pkt.copy(corrupted=True))
        return True

    def results(self) -> dict[str, dict[str, int]]:
        """Per rule: packets matched and acted on."""
        return {r.name: {"matched": r.seen, "applied": r.applied} for r in self.rules}
