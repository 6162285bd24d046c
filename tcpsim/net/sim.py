"""The Simulation: one SimPy environment, one trace, the topology, and the failure controls.

SimPy lives only in ``tcpsim.net``; everything else sees float seconds and
callbacks. ``call_at`` / ``call_later`` are the cheap way to do something
later: one callback pushed on SimPy's event queue (``sched.py``), no process. Random streams come
from ``rng(name)``, seeded from (seed, component name) with SHA-256, so a
component's draws do not depend on what other components exist or in which
order they were created, and runs are reproducible across processes (Python's
``hash()`` of a str is salted per process and would not be).
"""

from __future__ import annotations

import gc
import hashlib
import ipaddress
import random
from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx
import simpy

from tcpsim.net.link import Link, LinkParams
from tcpsim.net.node import Host, Node, Router
from tcpsim.net.routing import compute_tables
from tcpsim.net.sched import check_environment, push
from tcpsim.trace.records import Level, Trace

__all__ = ["Simulation", "HOST_POOLS", "ROUTER_POOLS"]

# Auto-assigned addresses (RFC 5737 documentation ranges first, then private space).
HOST_POOLS = ("192.0.2.0/24", "198.51.100.0/24", "10.0.0.0/8")
ROUTER_POOLS = ("203.0.113.0/24", "172.16.0.0/12")


def _pool(networks: tuple[str, ...]) -> Iterator[str]:
    """Addresses in order, skipping the network and broadcast address of every /24."""
    for net in networks:
        for addr in ipaddress.IPv4Network(net):
            last = int(addr) & 0xFF
            if last not in (0, 255):
                yield str(addr)


class Simulation:
    """Build a topology, schedule failures and traffic, run it, read ``trace``.

    ``trace_level`` may also be given by name ("packets"). ``routing`` is the
    path metric ("delay" or "hops", see ``routing.py``). ``dynamic_routing``
    (an addition to the agreed API): when True (default) routes are recomputed
    as soon as a link or node goes down or up, like a converged routing
    protocol; when False the tables computed by the first ``run`` (or an
    explicit ``compute_routes``) stay, so traffic keeps flowing into a dead
    router and vanishes, which is what makes traceroute print ``* * *``.
    """

    def __init__(self, seed: int = 1, trace_level: Level = Level.PACKETS, routing: str = "delay",
                 dynamic_routing: bool = True, count_interval: float = 1.0) -> None:
        if routing not in ("delay", "hops"):
            raise ValueError(f"routing must be 'delay' or 'hops', got {routing!r}")
        if isinstance(trace_level, str):
            trace_level = Level.parse(trace_level)
        self.env = simpy.Environment()
        check_environment(self.env)
        self.trace = Trace(trace_level)
        if not count_interval > 0:
            raise ValueError(f"count_interval must be positive, got {count_interval!r}")
        self.trace.count_interval = float(count_interval)
        self.seed = seed
        self.routing = routing
        self.dynamic_routing = dynamic_routing
        self.nodes: dict[str, Node] = {}
        self.links: dict[str, Link] = {}
        self.graph: nx.Graph = nx.Graph()
        self.routes_dirty = True
        self._addr_owner: dict[str, Node] = {}
        self._host_pool = _pool(HOST_POOLS)
        self._router_pool = _pool(ROUTER_POOLS)

    # -- randomness and time ---------------------------------------------------

    def rng(self, name: str) -> random.Random:
        """A fresh generator for component ``name``; the same (seed, name) gives the same stream.

        Each call starts the stream over, so a component asks once and keeps it.
        """
        digest = hashlib.sha256(f"tcpsim:{self.seed}:{name}".encode()).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    @property
    def now(self) -> float:
        return self.env.now

    def call_at(self, t: float, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` at absolute simulated time ``t`` (one queued callback, no process)."""
        if t < self.env._now:
            raise ValueError(f"call_at({t}): that is in the past (now is {self.env._now})")
        push(self.env, t, (lambda _ev: fn(*args),))

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` ``delay`` seconds from now."""
        if delay < 0:
            raise ValueError(f"call_later: negative delay {delay}")
        push(self.env, self.env._now + delay, (lambda _ev: fn(*args),))

    #: During ``run`` the garbage collector's generation-0 threshold is raised to
    #: at least this. At the packets trace level every hop keeps a record and a
    #: packet alive, and with CPython's default (700) young-generation scans of
    #: those survivors cost ~25% of the run time. Set to 0 to leave gc alone.
    gc_threshold0 = 10_000

    def run(self, until: float | None = None) -> None:
        """Run until simulated time ``until`` (absolute), or until nothing is left to do."""
        if until is not None and until < self.env.now:
            raise ValueError(f"run(until={until}): that is in the past (now is {self.env.now})")
        if self.routes_dirty:
            self.compute_routes()
        if until is not None and until == self.env.now:
            return
        saved = gc.get_threshold()
        if self.gc_threshold0 > saved[0]:
            gc.set_threshold(self.gc_threshold0, *saved[1:])
        try:
            self.env.run(until=until)
        finally:
            gc.set_threshold(*saved)
        self.trace.sample_counts(self.env.now)

    # -- topology --------------------------------------------------------------

    def _check_new_name(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"node names must be non-empty strings, got {name!r}")
        if name in self.nodes:
            raise ValueError(f"duplicate node name {name!r}")

    def _normalize(self, address: str, what: str) -> str:
        """Canonical text of a new address; ValueError if malformed or taken."""
        try:
            address = str(ipaddress.IPv4Address(address))
        except ValueError:
            raise ValueError(f"{what}: {address!r} is not an IPv4 address") from None
        owner = self._addr_owner.get(address)
        if owner is not None:
            raise ValueError(f"{what}: duplicate address {address} (already used by {owner.name})")
        return address

    def _claim(self, address: str, node: Node, what: str) -> str:
        address = self._normalize(address, what)
        self._addr_owner[address] = node
        return address

    def _auto_address(self, pool: Iterator[str], what: str) -> str:
        for addr in pool:
            if addr not in self._addr_owner:
                return addr
        raise ValueError(f"{what}: out of automatic addresses; give one explicitly")

    def address_owner(self, address: str) -> Node | None:
        """The node that owns ``address`` (a host address or a router interface), if any."""
        return self._addr_owner.get(address)

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise ValueError(f"unknown node {name!r} (known: {', '.join(sorted(self.nodes)) or 'none'})") from None

    def host(self, name: str) -> Host:
        n = self.node(name)
        if not isinstance(n, Host):
            raise ValueError(f"{name!r} is a {n.kind}, not a host")
        return n

    def link(self, name: str) -> Link:
        try:
            return self.links[name]
        except KeyError:
            raise ValueError(f"unknown link {name!r} (known: {', '.join(sorted(self.links)) or 'none'})") from None

    def add_host(self, name: str, address: str | None = None, sysctls: dict[str, object] | None = None,
                 profile: str = "linux") -> Host:
        """A host with one IPv4 address (auto: 192.0.2.1..254, then 198.51.100.1..254)."""
        self._check_new_name(name)
        what = f"host {name!r}"
        addr = self._auto_address(self._host_pool, what) if address is None else self._normalize(address, what)
        host = Host(self, name, addr, sysctls, profile)
        self._claim(addr, host, what)
        self.nodes[name] = host
        self.graph.add_node(name, node=host)
        self.routes_dirty = True
        return host

    def add_router(self, name: str) -> Router:
        """A router; it gets one address per link (see ``add_link``)."""
        self._check_new_name(name)
        router = Router(self, name)
        self.nodes[name] = router
        self.graph.add_node(name, node=router)
        self.routes_dirty = True
        return router

    def _check_end(self, node: Node, given: str | None, link_name: str) -> str | None:
        """Validate (without claiming) an address given for one end of a new link."""
        if given is None:
            return None
        what = f"link {link_name!r} end {node.name!r}"
        if isinstance(node, Host):
            if given != node.address:
                raise ValueError(f"{what}: a host has one address ({node.address}); got {given!r}")
            return given
        return self._normalize(given, what)

    def _end_address(self, node: Node, given: str | None, link_name: str) -> str:
        what = f"link {link_name!r} end {node.name!r}"
        if isinstance(node, Host):
            if given is not None and given != node.address:
                raise ValueError(f"{what}: a host has one address ({node.address}); got {given!r}")
            return node.address
        addr = self._auto_address(self._router_pool, what) if given is None else given
        return self._claim(addr, node, what)

    def add_link(self, a: str, b: str, ab: LinkParams, ba: LinkParams | None = None, name: str | None = None,
                 addr_a: str | None = None, addr_b: str | None = None) -> Link:
        """A full-duplex link; ``ba`` defaults to ``ab``. Router ends get interface addresses
        (given, or auto from 203.0.113.1..254 in link creation order, ``a`` before ``b``)."""
        na, nb = self.node(a), self.node(b)
        if a == b:
            raise ValueError(f"link {a}-{b}: a link needs two different nodes")
        name = f"{a}-{b}" if name is None else name
        if name in self.links:
            raise ValueError(f"duplicate link name {name!r}")
        if self.graph.has_edge(a, b):
            other = self.graph.edges[a, b]["link"].name
            raise ValueError(f"link {name!r}: {a} and {b} are already joined by link {other!r} (one link per pair)")
        for label, p in (("ab", ab), ("ba", ba)):
            if p is not None and not isinstance(p, LinkParams):
                raise ValueError(f"link {name!r}: {label} must be LinkParams, got {type(p).__name__}")
        # Check both ends before claiming either, so a failure leaves no half-made link.
        addr_a, addr_b = (self._check_end(n, g, name) for n, g in ((na, addr_a), (nb, addr_b)))
        if addr_a is not None and addr_a == addr_b:
            raise ValueError(f"link {name!r}: both ends given the same address {addr_a}")
        a_addr = self._end_address(na, addr_a, name)
        b_addr = self._end_address(nb, addr_b, name)
        link = Link(self, name, na, nb, a_addr, b_addr, ab, ab if ba is None else ba)
        na._attach(link, a_addr)
        nb._attach(link, b_addr)
        self.links[name] = link
        self.graph.add_edge(a, b, link=link)
        self.routes_dirty = True
        return link

    # -- routing ---------------------------------------------------------------

    def compute_routes(self) -> None:
        """Fill every node's routing table from the live topology (see ``routing.py``)."""
        tables = compute_tables(self.nodes, self.links, self.routing)
        for name, node in self.nodes.items():
            node.routes = tables[name]
        self.routes_dirty = False

    def _topology_changed(self) -> None:
        if self.dynamic_routing:
            self.compute_routes()
        # Static routing: tables stay as they are, even though they point at dead ends.

    # -- failures --------------------------------------------------------------

    def link_down(self, name: str) -> None:
        """Cut a link: everything it carries is lost, and later packets sent into it too."""
        link = self.link(name)
        if not link.up:
            return
        link.up = False
        for d in link.directions:
            d.up = False
            d.flush("link-down")
        self.trace.node_event(self.env.now, name, "link-down", f"{link.a.name}-{link.b.name}")
        self._topology_changed()

    def link_up(self, name: str) -> None:
        link = self.link(name)
        if link.up:
            return
        link.up = True
        for d in link.directions:
            d.up = True
        self.trace.node_event(self.env.now, name, "link-up", f"{link.a.name}-{link.b.name}")
        self._topology_changed()

    def node_down(self, name: str) -> None:
        """Crash a node: it sends and receives nothing from now on.

        Whatever it had queued or in flight on its outgoing links is lost
        (dropped "host-down" / "router-down" when it would have arrived):
        a crashed sender must not keep talking. Packets sent *to* it still
        arrive and are dropped there, with the same reasons. A host's ``on_down`` hooks run
        (the TCP layer forgets every connection).
        """
        node = self.node(name)
        if not node.up:
            return
        node.up = False
        reason = "host-down" if isinstance(node, Host) else "router-down"
        for link in node.links:
            link.from_node(node).flush(reason)
        self.trace.node_event(self.env.now, name, "crash", node.kind)
        if isinstance(node, Host):
            for fn in list(node.on_down):
                fn()
        self._topology_changed()

    def node_up(self, name: str) -> None:
        """Bring a crashed node back (fresh: the TCP layer starts empty via ``on_up``)."""
        node = self.node(name)
        if node.up:
            return
        node.up = True
        self.trace.node_event(self.env.now, name, "reboot", node.kind)
        if isinstance(node, Host):
            for fn in list(node.on_up):
                fn()
        self._topology_changed()

    def __repr__(self) -> str:
        return f"<Simulation t={self.env.now} nodes={len(self.nodes)} links={len(self.links)}>"
