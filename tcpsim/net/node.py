"""Nodes: hosts (endpoints with one IPv4 address) and routers (one address per interface).

A node owns a routing table (``routes``: destination address -> outgoing
``LinkDirection``) filled in by ``Simulation.compute_routes`` (which a node
asks for itself only when a lookup misses after the topology changed, so
packets sent before the first ``run`` still find their way). ``receive(pkt, via)`` is what a link direction calls
when a packet arrives; ``via`` is that direction (``None`` for loopback), which
is how a router knows the ingress interface address to put in ICMP errors.

A node may carry a packet filter (``firewall``, see ``firewall.py``): a router
applies it to packets it forwards and to packets for itself, a host to packets
for itself. A packet a rule drops or rejects is recorded as a ``drop`` whose
reason names the rule (``rule 2: reject port-unreachable``).

Nodes write ``send``, ``fwd``, ``recv`` and ``drop`` packet records; links
write their own drops. Drop reasons used here: ``checksum`` (corrupted on a
link), ``not-for-me``, ``noproto``, ``noroute``, ``ttl``, ``host-down``,
``router-down``, ``rule NAME: ...``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from tcpsim.net.firewall import REJECT_CODES, Firewall, FwRule
from tcpsim.tcp.connection import rst_for_closed
from tcpsim.trace.records import DROP, FWD, RECV, SEND
from tcpsim.wire.ip import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_TIME_EXCEEDED,
    IP_HEADER_LEN,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    UNREACH_HOST,
    UNREACH_NET,
    ICMPMessage,
    IPPacket,
)
from tcpsim.wire.segment import RST, Segment

if TYPE_CHECKING:
    from tcpsim.net.link import Link, LinkDirection
    from tcpsim.net.sim import Simulation

__all__ = ["Node", "Host", "Router", "PacketHandler", "ICMPCallback"]

PacketHandler = Callable[[IPPacket], None]
ICMPCallback = Callable[[IPPacket, ICMPMessage], None]

DEFAULT_TTL = 64


class Node:
    """What hosts and routers share: a name, up/down state, links, a routing table."""

    kind = "node"

    def __init__(self, sim: Simulation, name: str) -> None:
        self.sim = sim
        self.env = sim.env
        self.trace = sim.trace
        self.name = name
        self.up = True
        self.ttl = DEFAULT_TTL
        self.links: list[Link] = []
        self.routes: dict[str, LinkDirection] = {}
        self.dropped: Counter[str] = Counter()
        self._ip_id = 0
        self._own: set[str] = set()   # this node's addresses, for the per-packet "is it mine?"
        self._trace_packet = sim.trace.packet
        self.firewall: Firewall | None = None   # packet filter rules (None: none, no cost per packet)

    @property
    def addresses(self) -> list[str]:
        raise NotImplementedError

    def owns(self, address: str) -> bool:
        return address in self._own

    def receive(self, pkt: IPPacket, via: LinkDirection | None) -> None:
        raise NotImplementedError

    def _attach(self, link: Link, address: str) -> None:
        """Called by ``Simulation.add_link``: this node is one end of ``link``."""
        self.links.append(link)

    # -- sending ---------------------------------------------------------------

    def next_ip_id(self) -> int:
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        return self._ip_id

    def default_route(self) -> LinkDirection | None:
        """Where to send a packet for an address missing from ``routes``. Routers: nowhere."""
        return None

    def route(self, dst: str) -> LinkDirection | None:
        """The outgoing direction for ``dst``, computing routes first if the topology changed."""
        out = self.routes.get(dst)
        if out is None:
            sim = self.sim
            if sim.routes_dirty:
                sim.compute_routes()
                out = self.routes.get(dst)
            if out is None:
                out = self.default_route()
        return out

    def path_mtu(self, dst: str) -> int | None:
        """The smallest link MTU on the way to ``dst`` and back, with the current routes; None if unreachable.

        Linux starts a connection's MSS from the route's MTU (the device MTU,
        lowered by path MTU discovery, RFC 1191, as ICMP "fragmentation
        needed" comes back). tcpsim models neither fragmentation nor that ICMP
        message, so it gives a new connection the path's MTU at once: a
        connection over an MTU-68 link then still carries data.
        """
        forward = self._one_way_mtu(dst)
        if forward is None or forward[1] is self:
            return None if forward is None else forward[0]
        mtu, far = forward
        address = next(iter(sorted(self._own)), None)
        back = far._one_way_mtu(address) if address is not None else None
        if back is not None and back[0] is not None:
            mtu = back[0] if mtu is None else min(mtu, back[0])
        return mtu

    def _one_way_mtu(self, dst: str) -> tuple[int | None, Node] | None:
        node: Node = self
        mtu: int | None = None
        seen: set[int] = set()
        while dst not in node._own:
            if id(node) in seen:
                return None  # a routing loop: no path
            seen.add(id(node))
            out = node.route(dst)
            if out is None:
                return None
            mtu = out._mtu if mtu is None else min(mtu, out._mtu)
            node = out.dst
        return mtu, node

    def output(self, pkt: IPPacket) -> None:
        """Send a packet this node originated: record ``send`` and hand it to the route's link."""
        now = self.env._now  # hot path: skip the property call
        if not self.up:
            self._drop(pkt, "host-down" if self.kind == "host" else "router-down", "")
            return
        dst = pkt.dst
        if dst in self._own:
            # Loopback: delivered "now", but after the caller returns (no re-entrancy).
            self._trace_packet(now, self.name, SEND, pkt, "lo", "")
            self.sim.call_later(0.0, self.receive, pkt, None)
            return
        out = self.routes.get(dst)
        if out is None:
            out = self.route(dst)
            if out is None:
                self._drop(pkt, "noroute", "")
                return
        self._trace_packet(now, self.name, SEND, pkt, out.name, "")
        out.send(pkt)

    def set_egress_filter(self, fn: Callable[[IPPacket], bool] | None) -> None:
        """See every packet this node originates before it leaves; ``None`` removes the filter.

        ``fn(pkt)`` returns True when it took the packet (dropped, delayed,
        ...) and False to let it go on as usual; ``send_unfiltered`` puts a
        held packet back on its way. Used by scenario fault rules.

        Zero cost when unused, by construction: the filter is installed as an
        instance attribute that shadows ``output``, so a node without one runs
        the plain class method with not even a ``None`` check per packet.
        """
        if fn is None:
            self.__dict__.pop("output", None)
            return
        plain = self.send_unfiltered

        def filtered(pkt: IPPacket) -> None:
            if not fn(pkt):
                plain(pkt)

        setattr(self, "output", filtered)  # noqa: B010 - shadow the method on this instance only

    def send_unfiltered(self, pkt: IPPacket) -> None:
        """``output`` without the egress filter (for packets a filter let go later)."""
        type(self).output(self, pkt)

    def send_icmp(self, src: str, dst: str, icmp: ICMPMessage, ttl: int | None = None) -> IPPacket:
        """Originate an ICMP message from address ``src`` (a router picks its ingress interface)."""
        pkt = IPPacket(src, dst, self.ttl if ttl is None else ttl, IPPROTO_ICMP, icmp,
                       IP_HEADER_LEN + icmp.size, self.next_ip_id())
        self.output(pkt)
        return pkt

    def _drop(self, pkt: IPPacket, reason: str, where: str) -> None:
        self.dropped[reason] += 1
        self._trace_packet(self.env.now, self.name, DROP, pkt, where, reason)

    def _filtered(self, pkt: IPPacket, via: LinkDirection | None, fw: Firewall) -> bool:
        """Run the packet filter on ``pkt``: True when a rule dropped or rejected it."""
        rule = fw.match(pkt)
        if rule is None or rule.action == "accept":
            return False
        self.trace.count(self.name, "rule:" + rule.name)
        self._drop(pkt, rule.reason, via.name if via is not None else "lo")
        if rule.action == "reject":
            self._reject(pkt, via, rule)
        return True

    def _reject(self, pkt: IPPacket, via: LinkDirection | None, rule: FwRule) -> None:
        """Answer a rejected packet as iptables' REJECT target does (see firewall.py)."""
        payload = pkt.payload
        if rule.reject_with == "tcp-reset":
            if not isinstance(payload, Segment) or payload.flags & RST:
                return
            rst = rst_for_closed(payload)
            if rst is None:  # pragma: no cover - a RST was excluded above
                return
            # Forged from the packet's destination, as nf_send_reset() does.
            self.output(IPPacket(pkt.dst, pkt.src, self.ttl, IPPROTO_TCP, rst, IP_HEADER_LEN + rst.header_len,
                                 self.next_ip_id()))
            return
        if isinstance(payload, ICMPMessage) and payload.is_error:
            return  # RFC 1122 3.2.2: never an ICMP error about an ICMP error
        # From the address the packet was sent to when it was for this node, else from the
        # interface it came in on (the one facing its sender).
        if pkt.dst in self._own:
            src: str | None = pkt.dst
        else:
            src = via.dst_addr if via is not None else next(iter(self._own), None)
        if src is None:
            return
        self.send_icmp(src, pkt.src, ICMPMessage(ICMP_DEST_UNREACH, REJECT_CODES[rule.reject_with or ""], quoted=pkt))

    def _echo_reply(self, pkt: IPPacket, icmp: ICMPMessage) -> None:
        """Answer an echo request from the address it was sent to (RFC 792, RFC 1122 3.2.2.6)."""
        reply = ICMPMessage(ICMP_ECHO_REPLY, 0, icmp.ident, icmp.seqno, icmp.payload_len,
                            sent_at=icmp.sent_at)
        self.send_icmp(pkt.dst, pkt.src, reply)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {'up' if self.up else 'down'}>"


class Host(Node):
    """An end system with one IPv4 address.

    ``handlers`` demultiplexes arriving packets by IP protocol number; the host
    registers its own ICMP handler (proto 1) and the TCP layer adds proto 6.
    ICMP echo replies go to ``echo_listeners[ident]``; ICMP errors go to
    ``icmp_error_handlers[quoted protocol]`` and, when they quote one of our
    echo requests, to that request's echo listener too (traceroute needs the
    Time Exceeded answers to its probes).

    ``on_down`` / ``on_up`` hooks are called with no arguments when the host
    crashes or comes back, so the TCP layer can wipe its state.
    """

    kind = "host"

    def __init__(self, sim: Simulation, name: str, address: str,
                 sysctls: dict[str, object] | None = None, profile: str = "linux") -> None:
        super().__init__(sim, name)
        self.address = address   # read-only after creation
        self._own.add(address)
        self.sysctls: dict[str, object] = dict(sysctls or {})
        self.profile = profile
        ttl = self.sysctls.get("net.ipv4.ip_default_ttl", DEFAULT_TTL)
        if not isinstance(ttl, (int, str)) or not 1 <= int(ttl) <= 255:
            raise ValueError(f"host {name}: net.ipv4.ip_default_ttl must be 1..255, got {ttl!r}")
        self.ttl = int(ttl)
        self.handlers: dict[int, PacketHandler] = {IPPROTO_ICMP: self._icmp_input}
        self.echo_listeners: dict[int, ICMPCallback] = {}
        self.icmp_error_handlers: dict[int, ICMPCallback] = {}
        self.on_down: list[Callable[[], None]] = []
        self.on_up: list[Callable[[], None]] = []
        self._default: LinkDirection | None = None
        self._next_echo_ident = 0

    @property
    def addresses(self) -> list[str]:
        return [self.address]

    def _attach(self, link: Link, address: str) -> None:
        super()._attach(link, address)
        # One link: everything goes out of it, like a default gateway. Several: the table decides.
        self._default = link.from_node(self) if len(self.links) == 1 else None

    def default_route(self) -> LinkDirection | None:
        return self._default

    def new_echo_ident(self) -> int:
        """A fresh ICMP echo identifier for an app on this host (ping uses its pid)."""
        self._next_echo_ident += 1
        return self._next_echo_ident

    def ip_send(self, dst: str, proto: int, payload: Segment | ICMPMessage, ttl: int | None = None) -> None:
        """Wrap ``payload`` in an IPv4 packet from this host's address and send it."""
        if isinstance(payload, Segment):
            size = IP_HEADER_LEN + payload.header_len + len(payload.payload)
        else:
            size = IP_HEADER_LEN + payload.size
        self._ip_id = ip_id = (self._ip_id + 1) & 0xFFFF
        self.output(IPPacket(self.address, dst, self.ttl if ttl is None else ttl, proto, payload, size, ip_id))

    def receive(self, pkt: IPPacket, via: LinkDirection | None) -> None:
        if not self.up:
            self._drop(pkt, "host-down", via.name if via is not None else "lo")
            return
        if pkt.corrupted:
            self._drop(pkt, "checksum", via.name if via is not None else "lo")
            return
        if pkt.dst != self.address:
            self._drop(pkt, "not-for-me", via.name if via is not None else "lo")
            return
        fw = self.firewall
        if fw is not None and self._filtered(pkt, via, fw):
            return
        handler = self.handlers.get(pkt.proto)
        if handler is None:
            self._drop(pkt, "noproto", via.name if via is not None else "lo")
            return
        self._trace_packet(self.env._now, self.name, RECV, pkt, via.name if via is not None else "lo", "")
        handler(pkt)

    def _icmp_input(self, pkt: IPPacket) -> None:
        icmp = pkt.payload
        if not isinstance(icmp, ICMPMessage):
            return
        t = icmp.type
        if t == ICMP_ECHO_REQUEST:
            if not self.sysctls.get("net.ipv4.icmp_echo_ignore_all"):
                self._echo_reply(pkt, icmp)
        elif t == ICMP_ECHO_REPLY:
            cb = self.echo_listeners.get(icmp.ident)
            if cb is not None:
                cb(pkt, icmp)
        elif icmp.is_error and icmp.quoted is not None:
            quoted = icmp.quoted
            handler = self.icmp_error_handlers.get(quoted.proto)
            if handler is not None:
                handler(pkt, icmp)
            q = quoted.payload
            if isinstance(q, ICMPMessage) and q.type == ICMP_ECHO_REQUEST:
                cb = self.echo_listeners.get(q.ident)
                if cb is not None:
                    cb(pkt, icmp)


class Router(Node):
    """Forwards packets: TTL-1, route lookup, ICMP errors from the ingress interface address.

    Set ``icmp_enabled = False`` to make a router silent (it still forwards and
    drops, but never answers pings nor sends ICMP errors), which is what makes
    traceroute print ``* * *`` for a live hop.
    """

    kind = "router"

    def __init__(self, sim: Simulation, name: str) -> None:
        super().__init__(sim, name)
        self.interfaces: dict[str, Link] = {}   # interface address -> link
        self.icmp_enabled = True

    @property
    def addresses(self) -> list[str]:
        return list(self.interfaces)

    @property
    def address(self) -> str | None:
        """The first interface address (what a router is usually called by), None without links."""
        return next(iter(self.interfaces), None)

    def _attach(self, link: Link, address: str) -> None:
        super()._attach(link, address)
        self.interfaces[address] = link
        self._own.add(address)

    def receive(self, pkt: IPPacket, via: LinkDirection | None) -> None:
        if not self.up:
            self._drop(pkt, "router-down", via.name if via is not None else "lo")
            return
        if pkt.corrupted:
            self._drop(pkt, "checksum", via.name if via is not None else "lo")
            return
        dst = pkt.dst
        fw = self.firewall
        if dst in self._own:
            if fw is not None and self._filtered(pkt, via, fw):
                return
            self._local(pkt, via)
            return
        # Route lookup before the TTL check, as Linux does (ip_route_input, then ip_forward).
        out = self.routes.get(dst)
        if out is None:
            out = self.route(dst)
            if out is None:
                self._drop(pkt, "noroute", via.name if via is not None else "lo")
                code = UNREACH_HOST if self.sim.address_owner(dst) is not None else UNREACH_NET
                self._icmp_error(pkt, via, ICMP_DEST_UNREACH, code)
                return
        ttl = pkt.ttl - 1
        if ttl <= 0:
            self._drop(pkt, "ttl", via.name if via is not None else "lo")
            self._icmp_error(pkt, via, ICMP_TIME_EXCEEDED, 0)
            return
        # A new packet: trace records keep a reference to the one that arrived.
        fwd = IPPacket(pkt.src, dst, ttl, pkt.proto, pkt.payload, pkt.size, pkt.ident)
        if fw is not None and self._filtered(fwd, via, fw):
            return  # Linux's FORWARD hook runs after ip_forward() decremented the TTL
        self._trace_packet(self.env._now, self.name, FWD, fwd, out.name, "")
        out.send(fwd)

    def _local(self, pkt: IPPacket, via: LinkDirection | None) -> None:
        """A packet addressed to one of our interfaces: answer pings, swallow other ICMP,
        and answer TCP with a RST: a router listens on no port (RFC 9293 §3.10.7.1)."""
        where = via.name if via is not None else "lo"
        if pkt.proto == IPPROTO_TCP and isinstance(pkt.payload, Segment):
            self._trace_packet(self.env.now, self.name, RECV, pkt, where, "")
            rst = rst_for_closed(pkt.payload)
            if rst is not None:
                self.output(IPPacket(pkt.dst, pkt.src, self.ttl, IPPROTO_TCP, rst,
                                     IP_HEADER_LEN + rst.header_len, self.next_ip_id()))
            return
        if pkt.proto != IPPROTO_ICMP:
            self._drop(pkt, "noproto", where)
            return
        self._trace_packet(self.env.now, self.name, RECV, pkt, where, "")
        icmp = pkt.payload
        if isinstance(icmp, ICMPMessage) and icmp.type == ICMP_ECHO_REQUEST and self.icmp_enabled:
            self._echo_reply(pkt, icmp)

    def _icmp_error(self, pkt: IPPacket, via: LinkDirection | None, type: int, code: int) -> None:
        """Tell the source why ``pkt`` died, from the interface it came in on.

        RFC 1122 3.2.2: never an ICMP error about an ICMP error (that way
        lies a storm).
        """
        if not self.icmp_enabled:
            return
        payload = pkt.payload
        if isinstance(payload, ICMPMessage) and payload.is_error:
            return
        src = via.dst_addr if via is not None else self.address
        if src is None:
            return
        self.send_icmp(src, pkt.src, ICMPMessage(type, code, quoted=pkt))
