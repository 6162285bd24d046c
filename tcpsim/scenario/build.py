"""A validated ``Scenario`` -> a ready ``Simulation`` with its apps, and running it.

Build-time errors (the network layer refusing a value the schema let through,
e.g. a sysctl out of range) are caught per element and reported at that
element's YAML path, so even they come out as one located line.

Addresses are all decided here, before the first node exists: automatic ones
are handed out in file order from the same pools the network layer uses,
skipping every address written anywhere in the file. Leaving it to
``Simulation`` would hand out addresses in call order, so an explicit address
further down the file could collide with an automatic one given earlier.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tcpsim.scenario.errors import Document, ScenarioError, format_path
from tcpsim.scenario.model import Loc, Scenario, is_ipv4
from tcpsim.trace.records import Level

if TYPE_CHECKING:
    from tcpsim.net import Host, Simulation
    from tcpsim.scenario.expect import Outcome
    from tcpsim.scenario.faults import FaultEngine


def _pool(networks: tuple[str, ...], taken: set[str]) -> Iterator[str]:
    for net in networks:
        for addr in ipaddress.IPv4Network(net):
            text = str(addr)
            if int(addr) & 0xFF not in (0, 255) and text not in taken:
                yield text


@dataclass(frozen=True)
class AddressPlan:
    """Every address of the topology: hosts by name, and each link's two ends (None for a host end)."""

    hosts: dict[str, str]
    link_ends: list[tuple[str, str]]

    def router_addresses(self, scenario: Scenario) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {r: [] for r in scenario.router_names}
        for link, (addr_a, addr_b) in zip(scenario.links, self.link_ends, strict=True):
            if link.a in out:
                out[link.a].append(addr_a)
            if link.b in out:
                out[link.b].append(addr_b)
        return out


def plan_addresses(scenario: Scenario) -> AddressPlan:
    """Decide every address; automatic ones skip all explicit ones, in file order."""
    from tcpsim.net.sim import HOST_POOLS, ROUTER_POOLS

    taken = {h.address for h in scenario.hosts.values() if h.address is not None}
    for link in scenario.links:
        taken.update(a for a in (link.addr_a, link.addr_b) if a is not None)
    host_pool = _pool(HOST_POOLS, taken)
    router_pool = _pool(ROUTER_POOLS, taken)
    hosts = {name: spec.address or next(host_pool) for name, spec in scenario.hosts.items()}
    ends: list[tuple[str, str]] = []
    for link in scenario.links:
        pair = []
        for end, given in ((link.a, link.addr_a), (link.b, link.addr_b)):
            pair.append(hosts[end] if end in hosts else given or next(router_pool))
        ends.append((pair[0], pair[1]))
    return AddressPlan(hosts, ends)


@dataclass
class BuildContext:
    """What an ``AppSpec.build`` may use: the simulation and name -> address resolution."""

    sim: Simulation
    scenario: Scenario
    plan: AddressPlan
    router_addresses: dict[str, list[str]]

    def host(self, name: str) -> Host:
        return self.sim.host(name)

    def address(self, target: str) -> str:
        """A host name, a router name (its first interface) or an IPv4 address -> an address."""
        if target in self.plan.hosts:
            return self.plan.hosts[target]
        if target in self.router_addresses:
            addresses = self.router_addresses[target]
            if not addresses:
                raise ValueError(f"router {target!r} has no links, so no address")
            return addresses[0]
        if is_ipv4(target):
            return str(ipaddress.IPv4Address(target))
        raise ValueError(f"unknown host {target!r}")


@dataclass
class BuiltApp:
    name: str
    type: str
    host: str
    app: Any

    @property
    def lines(self) -> list[str]:
        return list(getattr(self.app, "lines", []))

    def results(self) -> dict[str, Any]:
        return dict(self.app.results())


@dataclass
class Built:
    """A scenario turned into a simulation, not yet run."""

    scenario: Scenario
    seed: int
    until: float
    sim: Simulation
    plan: AddressPlan
    apps: list[BuiltApp] = field(default_factory=list)
    faults: FaultEngine | None = None
    outcomes: list[Outcome] | None = None
    rules: dict[str, dict[str, str]] = field(default_factory=dict)  # node -> rule name -> description, ever set

    def set_rules(self, node: str, rules: list[Any]) -> None:
        """Give ``node`` these compiled filter rules (``FwRule``), replacing its old ones."""
        from tcpsim.net.firewall import Firewall

        n = self.sim.node(node)
        if n.firewall is None:
            n.firewall = Firewall()
        n.firewall.set_rules(rules)
        known = self.rules.setdefault(node, {})
        for r in rules:
            known.setdefault(r.name, r.text)

    def rule_results(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per node, per rule name: what it does and how many packets it took (summary.json ``rules``)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for node, rules in self.rules.items():
            fw = self.sim.node(node).firewall
            out[node] = {name: {"rule": text, "hits": fw.hits.get(name, 0) if fw is not None else 0}
                         for name, text in rules.items()}
        return out

    def run(self) -> Built:
        """Run to the end, then check the expectations (``outcomes``)."""
        from tcpsim.scenario.expect import check_all

        self.sim.run(until=self.until)
        self.outcomes = check_all(self, self.scenario.expect)
        return self

    @property
    def router_addresses(self) -> dict[str, list[str]]:
        return self.plan.router_addresses(self.scenario)

    def app(self, name: str) -> BuiltApp:
        for a in self.apps:
            if a.name == name:
                return a
        raise KeyError(name)

    def address(self, target: str) -> str:
        """A host or router name, or an address -> an address (as apps' ``dst`` resolve)."""
        if target in self.plan.hosts:
            return self.plan.hosts[target]
        routers = self.router_addresses
        if target in routers and routers[target]:
            return routers[target][0]
        return target

    def addresses(self, target: str) -> frozenset[str]:
        """Every address of a host (one) or router (one per link); an address stands for itself."""
        if target in self.plan.hosts:
            return frozenset((self.plan.hosts[target],))
        routers = self.router_addresses
        if target in routers:
            return frozenset(routers[target])
        return frozenset((target,))

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes or [])


class _Locator:
    """Turns a ``loc`` into a ``ScenarioError``, with a line when the file is known."""

    def __init__(self, doc: Document | None, file: str) -> None:
        self.doc, self.file = doc, file

    def error(self, loc: Loc, message: str) -> ScenarioError:
        if self.doc is not None:
            return self.doc.error(loc, message)
        return ScenarioError(self.file, format_path(loc), message)

    @contextmanager
    def at(self, loc: Loc) -> Iterator[None]:
        try:
            yield
        except ValueError as exc:
            raise self.error(loc, str(exc)) from None


def build(scenario: Scenario, *, seed: int | None = None, until: float | None = None,
          doc: Document | None = None) -> Built:
    """Create the ``Simulation``, nodes, links and apps; ``seed``/``until`` override the file's."""
    from tcpsim.net import GilbertElliott, LinkParams, Simulation
    from tcpsim.scenario.events import schedule_events
    from tcpsim.scenario.faults import FaultEngine

    where = _Locator(doc, doc.file if doc is not None else f"<scenario {scenario.name}>")
    run_seed = scenario.seed if seed is None else seed
    run_until = scenario.until if until is None else until
    plan = plan_addresses(scenario)
    sim = Simulation(seed=run_seed, trace_level=Level.parse(scenario.trace_level), routing=scenario.routing)
    from tcpsim.scenario.expect import needs_queue_samples

    if needs_queue_samples(scenario.expect):
        sim.trace.keep_queues = True  # before the first TCP layer exists: it reads this once

    for name, spec in scenario.hosts.items():
        try:
            sim.add_host(name, address=plan.hosts[name], sysctls=dict(spec.sysctl), profile=spec.profile)
        except ValueError as exc:
            # Point at the key the network layer complained about, as best we can tell.
            text = str(exc)
            key = "profile" if "profile" in text else "sysctl" if spec.sysctl else None
            raise where.error(("hosts", name, key) if key else ("hosts", name), text) from None
    for name in scenario.router_names:
        loc: Loc = ("routers", scenario.router_names.index(name)) if isinstance(scenario.routers, list) else ("routers", name)
        with where.at(loc):
            sim.add_router(name)

    def params(values: dict[str, Any]) -> Any:
        g = values.pop("gilbert")
        gilbert = GilbertElliott(g.p, g.r, g.loss_good, g.loss_bad) if g is not None else None
        return LinkParams(gilbert=gilbert, queue_packets=values.pop("queue"), **values)

    for i, link in enumerate(scenario.links):
        with where.at(("links", i)):
            ab = params(link.params(link.a_to_b))
            ba = params(link.params(link.b_to_a))
            addr_a, addr_b = plan.link_ends[i]
            sim.add_link(link.a, link.b, ab, ba, name=link.link_name,
                         addr_a=addr_a if link.a not in plan.hosts else None,
                         addr_b=addr_b if link.b not in plan.hosts else None)

    ctx = BuildContext(sim, scenario, plan, plan.router_addresses(scenario))
    built = Built(scenario, run_seed, run_until, sim, plan)
    for i, (app_spec, name) in enumerate(zip(scenario.apps, scenario.app_names(), strict=True)):
        with where.at(("apps", i)):
            app = app_spec.build(ctx, name)
        built.apps.append(BuiltApp(name, app_spec.type, app_spec.host, app))

    from tcpsim.scenario.rules import compile_rules

    for node in list(scenario.hosts) + scenario.router_names:
        rules = scenario.rules_of(node)
        if rules:
            built.set_rules(node, compile_rules(rules, built.addresses))
    schedule_events(built, list(scenario.events))
    if scenario.faults:
        built.faults = FaultEngine(sim, list(zip(scenario.fault_names(), scenario.faults, strict=True)),
                                   built.addresses)
        built.faults.install()
    return built
