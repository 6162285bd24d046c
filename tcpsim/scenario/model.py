"""The scenario schema: what a scenario file may say, as pydantic v2 models.

The models do the per-value checks (types, units, ranges, unknown keys); the
checks that need the whole file (a link naming a node that does not exist,
two hosts with one address) live in ``Scenario.problems`` and report the YAML
path of the offending value, so the loader can point at its line.

The parts live in their own modules and meet here: ``base`` (the strict
base model, names), ``linkspec`` (link impairments), ``tcpapps`` (TCP app
types), ``events`` (``events:``), ``faults`` (``faults:``), ``expect``
(``expect:``) and ``packets`` (naming packets by meaning, for the last two).
``${param}`` substitution happens on the raw YAML data before validation
(``params.py``), so the models never see a template.

Every model forbids unknown keys and is strict (a YAML ``"4"`` is not the
integer 4, ``yes`` is not a count) because a typo that silently does nothing
is the worst kind of scenario bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import ConfigDict, Discriminator, Field, PrivateAttr, Tag, field_validator

from tcpsim.scenario.base import (
    NAME_HINT,
    AppBase,
    IPv4,
    Loc,
    Name,
    Problem,
    SysctlValue,
    _Spec,
    is_ipv4,
)
from tcpsim.scenario.events import (
    CrashEvent,
    EventSpec,
    HealEvent,
    InjectEvent,
    KillEvent,
    PartitionEvent,
    RebootEvent,
    SetRulesEvent,
    ShutdownEvent,
    StartEvent,
    SysctlEvent,
    action,
)
from tcpsim.scenario.expect import ExpectSpec, required_level
from tcpsim.scenario.faults import FaultSpec
from tcpsim.scenario.linkspec import DirectionSpec, GilbertSpec
from tcpsim.scenario.rules import RuleSpec, rules_problems
from tcpsim.scenario.script import ScriptSpec
from tcpsim.scenario.tcpapps import (
    BulkSpec,
    ChurnSpec,
    PortScanSpec,
    SinkSpec,
    SynFloodSpec,
    TcpAppBase,
    TcpClientSpec,
    TcpServerSpec,
    VanishingClientSpec,
)
from tcpsim.scenario.units import MAX_COUNT, MAX_SEED, PingSize, PositiveDuration
from tcpsim.trace.records import Level

if TYPE_CHECKING:
    from pathlib import Path

    from tcpsim.scenario.build import BuildContext
    from tcpsim.scenario.errors import Document

__all__ = [
    "NAME_HINT", "AppBase", "AppSpec", "DirectionSpec", "GilbertSpec", "HostSpec", "IPv4", "LinkSpec", "Loc",
    "Name", "PingSpec", "Problem", "RouterSpec", "Scenario", "TracerouteSpec", "is_ipv4",
]

# -- nodes ------------------------------------------------------------------------------


class HostSpec(_Spec):
    """One end host."""

    address: IPv4 | None = Field(
        None, description="IPv4 address; default: the next free one of 192.0.2.1.., then 198.51.100.1.."
    )
    profile: str = Field("linux", description="Stack profile: linux, linux-classic, windows-xp, rfc9293, classroom.")
    sysctl: dict[str, SysctlValue] = Field(
        default_factory=dict,
        description="Overrides by their real names, e.g. net.ipv4.ip_default_ttl: 64.",
    )
    rules: list[RuleSpec] = Field(default_factory=list, description="Filter rules for packets to this host, first match wins.")

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        from tcpsim.tcp.config import PROFILES

        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r} (expected one of: {', '.join(PROFILES)})")
        return value

    @field_validator("sysctl", mode="before")
    @classmethod
    def _null_sysctl(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("rules", mode="before")
    @classmethod
    def _null_rules(cls, value: Any) -> Any:
        return [] if value is None else value


class RouterSpec(_Spec):
    """One router, in the mapping form of ``routers:``."""

    rules: list[RuleSpec] = Field(
        default_factory=list, description="Filter rules for packets it forwards or receives, first match wins.")

    @field_validator("rules", mode="before")
    @classmethod
    def _null_rules(cls, value: Any) -> Any:
        return [] if value is None else value


def _routers_form(value: Any) -> str | None:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return None


Routers = Annotated[
    Union[Annotated[list[Name], Tag("list")], Annotated[dict[Name, RouterSpec], Tag("mapping")]],  # noqa: UP007
    Discriminator(
        _routers_form,
        custom_error_type="routers",
        custom_error_message="expected a list of router names or a mapping of name -> {}",
    ),
]


# -- links ------------------------------------------------------------------------------


class LinkSpec(DirectionSpec):
    """A point-to-point link between two nodes; both directions alike unless overridden."""

    name: Name | None = Field(None, description="Link name, used in traces and events; default 'A-B' (the two ends' names).")
    a: Name = Field(description="One end (a host or router name).")
    b: Name = Field(description="The other end (a host or router name).")
    addr_a: IPv4 | None = Field(None, description="Address of a's interface on this link (routers only).")
    addr_b: IPv4 | None = Field(None, description="Address of b's interface on this link (routers only).")
    a_to_b: DirectionSpec | None = Field(None, description="Overrides for packets going from a to b.")
    b_to_a: DirectionSpec | None = Field(None, description="Overrides for packets going from b to a.")

    @property
    def link_name(self) -> str:
        return self.name if self.name is not None else f"{self.a}-{self.b}"


# -- applications ------------------------------------------------------------------------


class PingSpec(AppBase):
    """ping(8): ICMP echo requests, one line per reply, statistics at the end."""

    type: Literal["ping"]
    dst: str = Field(description="Destination: a host name, a router name (its first interface) or an IPv4 address.")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(4, description="Echo requests to send (ping -c).")
    interval: PositiveDuration = Field(1.0, description="Time between requests (ping -i).")
    ttl: Annotated[int, Field(ge=1, le=255)] | None = Field(
        None, description="IP TTL of the requests (ping -t); default: the host's net.ipv4.ip_default_ttl."
    )
    size: PingSize = Field(56, description="Echo data bytes (ping -s).")
    timeout: PositiveDuration = Field(10.0, description="How long to wait for the last reply (ping -W).")

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "dst", self.dst

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.net import Ping

        return Ping(
            ctx.sim, ctx.host(self.host), ctx.address(self.dst), count=self.count, interval=self.interval,
            ttl=self.ttl, size=self.size, timeout=self.timeout, start=self.start, name=name,
        )


class TracerouteSpec(AppBase):
    """traceroute(8): probes with growing TTL, one line per hop."""

    type: Literal["traceroute"]
    dst: str = Field(description="Destination: a host name, a router name (its first interface) or an IPv4 address.")
    max_hops: Annotated[int, Field(ge=1, le=255)] = Field(30, description="Largest TTL tried (traceroute -m).")
    probes: Annotated[int, Field(ge=1, le=10)] = Field(3, description="Probes per hop (traceroute -q).")
    wait: PositiveDuration = Field(5.0, description="How long to wait for each probe's answer (traceroute -w).")

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "dst", self.dst

    def build(self, ctx: BuildContext, name: str) -> Any:
        from tcpsim.net import Traceroute

        return Traceroute(
            ctx.sim, ctx.host(self.host), ctx.address(self.dst), max_hops=self.max_hops, probes=self.probes,
            wait=self.wait, start=self.start, name=name,
        )


# New application types: subclass AppBase with a ``type: Literal[...]`` and add them here.
AppSpec = Annotated[
    Union[  # noqa: UP007
        PingSpec, TracerouteSpec, TcpServerSpec, SinkSpec, TcpClientSpec, BulkSpec, SynFloodSpec, PortScanSpec,
        ChurnSpec, VanishingClientSpec, ScriptSpec,
    ],
    Field(discriminator="type"),
]

# Sysctls a host takes besides the TCP knobs of tcpsim.tcp.config (read by the IP layer).
IP_SYSCTLS = ("net.ipv4.icmp_echo_ignore_all",)


def sysctl_problem(profile: str, name: Any, value: Any) -> str | None:
    """What is wrong with one sysctl (unknown name, bad value), checked by the TCP config itself."""
    from tcpsim.tcp.config import KnobError, knob_names, make_config

    if name in IP_SYSCTLS:
        if value not in (0, 1) or isinstance(value, float):
            return f"expected 0 or 1, got {value!r}"
        return None
    if not isinstance(name, str) or name not in knob_names():
        import difflib

        close = difflib.get_close_matches(str(name), knob_names() + list(IP_SYSCTLS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown setting {name!r} ({hint}see docs/profiles.md for the knobs and their real names)"
    try:
        make_config(profile, {name: value})
    except KnobError as exc:
        text = str(exc)
        return text.split(": ", 1)[1] if text.startswith(f"{name}: ") or ": expected" in text else text
    if name in ("net.ipv4.ip_default_ttl", "ip_default_ttl", "DefaultTTL") and not (
            isinstance(value, int) and 1 <= value <= 255):
        return f"expected a TTL 1..255, got {value!r}"
    return None


# -- the scenario -----------------------------------------------------------------------


class Scenario(_Spec):
    """A whole scenario: topology, applications and how to run them."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, title="tcpsim scenario",
        json_schema_extra={"$comment": "See docs/scenario-format.md"},
    )

    name: Name = Field(description="Scenario name; default: the file name without .yaml.")
    description: str = Field("", description="One line, shown by `tcpsim list` and at the top of a run.")
    lesson: str | None = Field(None, description="Longer text: what to look at and why.")
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = Field(1, description="Seed of every random draw; same seed, same trace.")
    until: PositiveDuration = Field(60.0, description="Simulated time at which the run stops.")
    routing: Literal["delay", "hops"] = Field("delay", description="Shortest paths by total delay or by hop count.")
    trace: Literal["counters", "states", "packets", "full"] | None = Field(
        None, description="What the trace keeps (counters < states < packets < full); default: packets, "
                          "or more if an expectation needs it."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters and their defaults; use as ${name}.")
    variants: dict[Name, dict[str, Any]] = Field(
        default_factory=dict, description="Named sets of parameter values (tcpsim run --variant NAME).")
    hosts: dict[Name, HostSpec] = Field(min_length=1, description="End hosts by name (at least one).")
    routers: Routers = Field(default_factory=list, description="Router names, or a mapping name -> {}.")
    links: list[LinkSpec] = Field(default_factory=list, description="Point-to-point links.")
    apps: list[AppSpec] = Field(default_factory=list, description="Applications, each with a type.")
    events: list[EventSpec] = Field(default_factory=list, description="Timed events: crash, reboot, kill, link_down, ...")
    faults: list[FaultSpec] = Field(default_factory=list, description="Fault rules: drop, delay, duplicate or corrupt packets by meaning.")
    expect: list[ExpectSpec] = Field(default_factory=list, description="Expectations checked at the end of the run.")

    # The document this scenario was read from (for line numbers in errors found while building);
    # None for a scenario made in Python.
    _doc: Any = PrivateAttr(default=None)
    # The variant whose values it was loaded with (a label for the run's outputs).
    _variant: str | None = PrivateAttr(default=None)

    # -- reading and writing --------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, set: dict[str, Any] | None = None,  # noqa: A002  (the CLI's --set)
             variant: str | None = None) -> Scenario:
        """Read and validate a scenario file, or a built-in scenario by name (see ``tcpsim.scenarios()``).

        ``set`` gives parameter values (``--set``), ``variant`` one of the scenario's variants
        (``--variant``). Raises ``tcpsim.ScenarioError`` with the file, line, YAML path and
        what was expected, the same message ``tcpsim validate`` prints.
        """
        from tcpsim.scenario.library import resolve
        from tcpsim.scenario.loader import load_document

        doc, scenario = load_document(resolve(str(path)), overrides=dict(set or {}), variant=variant)
        scenario._doc = doc
        scenario._variant = variant
        return scenario

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, set: dict[str, Any] | None = None,  # noqa: A002
                  variant: str | None = None, file: str = "<dict>") -> Scenario:
        """Validate a scenario given as plain data (what ``yaml.safe_load`` of a scenario file gives).

        ``${param}`` references, ``set`` and ``variant`` work as in a file. Errors are
        ``tcpsim.ScenarioError`` naming ``file`` (default ``<dict>``) and the YAML path, with
        ``line`` None (a dict has no lines).
        """
        from tcpsim.scenario.errors import Document, ScenarioError
        from tcpsim.scenario.loader import validate

        if not isinstance(data, dict):
            raise ScenarioError(file, "", f"expected a mapping (name:, hosts:, links:, ...), got {type(data).__name__}")
        doc = Document(file, data, None)
        scenario = validate(doc, overrides=dict(set or {}), variant=variant)
        scenario._doc = doc
        scenario._variant = variant
        return scenario

    def to_yaml(self) -> str:
        """The scenario as YAML text that ``Scenario.load`` / ``tcpsim run`` read back to an equal scenario.

        Values are written as validated (durations in seconds, parameters already
        substituted); keys left at their defaults are left out.
        """
        import yaml

        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        data = {"name": self.name, **{k: v for k, v in data.items() if k != "name"}}
        return yaml.dump(data, Dumper=_block_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False)

    @property
    def variant(self) -> str | None:
        """The variant whose parameter values were used when loading it (None: the defaults)."""
        return self._variant

    @property
    def document(self) -> Document | None:
        """The document the scenario was read from (None when it was made in Python)."""
        doc: Document | None = self._doc
        return doc

    @field_validator("hosts", "routers", "links", "apps", "events", "faults", "expect", "params", "variants",
                     mode="before")
    @classmethod
    def _null_is_empty_collection(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name in ("hosts", "params", "variants") else []
        return value

    @property
    def trace_level(self) -> str:
        """The level the run uses: the one written, else ``packets``.

        ``packets`` keeps everything an expectation can read (states and
        packets), and it is what a person running a scenario wants to look
        at; ``problems`` rejects a written level too low for the expectations.
        """
        if self.trace is not None:
            return self.trace
        need = max((required_level(e) for e in self.expect), default=Level.COUNTERS)
        return max(need, Level.PACKETS).name.lower()

    def fault_names(self) -> list[str]:
        """Each rule's name: its own, or fault1, fault2, ... skipping names already taken."""
        taken = {f.name for f in self.faults if f.name is not None}
        names: list[str] = []
        n = 0
        for f in self.faults:
            if f.name is not None:
                names.append(f.name)
                continue
            while True:
                n += 1
                if f"fault{n}" not in taken:
                    break
            taken.add(f"fault{n}")
            names.append(f"fault{n}")
        return names

    # -- derived views ----------------------------------------------------------------

    @property
    def router_names(self) -> list[str]:
        return list(self.routers)

    def app_names(self) -> list[str]:
        """Each app's name: its own, or TYPE1, TYPE2... skipping names already taken."""
        taken = {a.name for a in self.apps if a.name is not None}
        counters: dict[str, int] = {}
        names: list[str] = []
        for app in self.apps:
            if app.name is not None:
                names.append(app.name)
                continue
            while True:
                counters[app.type] = counters.get(app.type, 0) + 1
                candidate = f"{app.type}{counters[app.type]}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            names.append(candidate)
        return names

    # -- whole-file checks ------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """Cross-reference errors, each with the YAML path of the value at fault.

        Kept out of pydantic validators because those cannot say *which* list
        item or key is wrong, and the path is what makes the message useful.
        """
        out: list[Problem] = []
        hosts = list(self.hosts)
        routers: list[str] = []
        if isinstance(self.routers, list):
            seen: set[str] = set()
            for i, r in enumerate(self.routers):
                if r in seen:
                    out.append((("routers", i), f"duplicate router name {r!r}"))
                seen.add(r)
                routers.append(r)
        else:
            routers = list(self.routers)
        for i, r in enumerate(self.routers):
            if r in self.hosts:
                loc: Loc = ("routers", i) if isinstance(self.routers, list) else ("routers", r)
                out.append((loc, f"duplicate name {r!r}: already used by a host"))
        nodes = hosts + [r for r in dict.fromkeys(routers) if r not in self.hosts]
        node_set = set(nodes)
        expected_nodes = ", ".join(sorted(node_set)) or "none defined"

        # Addresses: every explicit one must be unique across hosts and interfaces.
        owners: dict[str, str] = {}

        def claim(address: str | None, loc: Loc, what: str) -> None:
            if address is None:
                return
            if address in owners:
                out.append((loc, f"duplicate address {address} (already used by {owners[address]})"))
            else:
                owners[address] = what

        for h, spec in self.hosts.items():
            claim(spec.address, ("hosts", h, "address"), f"hosts.{h}")

        link_names: dict[str, int] = {}
        pairs: dict[frozenset[str], int] = {}
        for i, link in enumerate(self.links):
            pair = frozenset((link.a, link.b))
            if len(pair) == 2 and pair in pairs:
                out.append((
                    ("links", i),
                    f"{link.a} and {link.b} are already joined by links[{pairs[pair]}] (one link per pair of nodes)",
                ))
            pairs.setdefault(pair, i)
            for end in ("a", "b"):
                node = getattr(link, end)
                if node not in node_set:
                    out.append((("links", i, end), f"unknown node {node!r} (expected one of: {expected_nodes})"))
            if link.a == link.b:
                out.append((("links", i, "b"), f"a link cannot connect {link.a!r} to itself (expected another node)"))
            for end, addr_key in (("a", "addr_a"), ("b", "addr_b")):
                address = getattr(link, addr_key)
                if address is not None and getattr(link, end) in self.hosts:
                    out.append((
                        ("links", i, addr_key),
                        f"{getattr(link, end)!r} is a host; set its address in hosts.{getattr(link, end)}.address",
                    ))
                claim(address, ("links", i, addr_key), f"links[{i}].{end}")
            name = link.link_name
            if name in link_names:
                where: Loc = ("links", i, "name") if link.name is not None else ("links", i)
                out.append((where, f"duplicate link name {name!r} (links[{link_names[name]}] has it; set name:)"))
            else:
                link_names[name] = i

        app_names = self.app_names()
        seen_apps: dict[str, int] = {}
        for i, (app, app_name) in enumerate(zip(self.apps, app_names, strict=True)):
            if app_name in seen_apps:
                out.append((("apps", i, "name"), f"duplicate app name {app_name!r} (apps[{seen_apps[app_name]}] has it)"))
            seen_apps.setdefault(app_name, i)
            if app.host not in self.hosts:
                hint = f"{app.host!r} is a router; applications run on hosts" if app.host in node_set else f"unknown host {app.host!r}"
                out.append((("apps", i, "host"), f"{hint} (expected one of: {', '.join(hosts) or 'none defined'})"))
            for key, target in app.targets():
                if target not in node_set and not is_ipv4(target):
                    out.append((
                        ("apps", i, *key) if isinstance(key, tuple) else ("apps", i, key),
                        f"unknown node {target!r} (expected a host or router name, one of: {expected_nodes}; "
                        "or an IPv4 address)",
                    ))
            if isinstance(app, TcpAppBase):
                out.extend(app.problems(("apps", i)))
            if isinstance(app, VanishingClientSpec) and app.link is not None and app.link not in link_names:
                out.append((("apps", i, "link"), f"unknown link {app.link!r} ({_known(link_names)})"))
        out.extend(self._host_problems())
        out.extend(self._rules_problems(node_set))
        out.extend(self._event_problems(node_set, link_names, seen_apps))
        out.extend(self._fault_problems(node_set, seen_apps))
        out.extend(self._expect_problems(node_set, seen_apps))
        return out

    # -- checks of the second part of the format ----------------------------------------

    def _host_problems(self) -> Iterator[Problem]:
        for h, spec in self.hosts.items():
            for key, value in spec.sysctl.items():
                message = sysctl_problem(spec.profile, key, value)
                if message is not None:
                    yield ("hosts", h, "sysctl", key), message

    def _rules_problems(self, nodes: set[str]) -> Iterator[Problem]:
        for h, spec in self.hosts.items():
            yield from rules_problems(("hosts", h, "rules"), spec.rules, nodes)
        if isinstance(self.routers, dict):
            for r, rspec in self.routers.items():
                yield from rules_problems(("routers", r, "rules"), rspec.rules, nodes)

    def rules_of(self, node: str) -> list[RuleSpec]:
        """The filter rules a node starts with."""
        if node in self.hosts:
            return list(self.hosts[node].rules)
        if isinstance(self.routers, dict) and node in self.routers:
            return list(self.routers[node].rules)
        return []

    def _tcp_apps(self, seen_apps: dict[str, int]) -> dict[str, int]:
        return {n: i for n, i in seen_apps.items() if isinstance(self.apps[i], TcpAppBase | SynFloodSpec | PortScanSpec)}

    def _event_problems(self, nodes: set[str], links: dict[str, int], apps: dict[str, int]) -> Iterator[Problem]:
        hosts = list(self.hosts)
        tcp_apps = self._tcp_apps(apps)
        for i, ev in enumerate(self.events):
            kind = action(ev)
            loc: Loc = ("events", i, kind)
            target = getattr(ev, kind)
            if isinstance(ev, CrashEvent | RebootEvent):
                if target not in nodes:
                    yield loc, f"unknown node {target!r} ({_known(nodes)})"
                if isinstance(ev, RebootEvent) and isinstance(ev.restart_apps, list):
                    for j, a in enumerate(ev.restart_apps):
                        if a not in tcp_apps or self.apps[tcp_apps[a]].host != target:
                            yield ("events", i, "restart_apps", j), (
                                f"{a!r} is not a TCP app on {target} "
                                f"({_known([n for n, k in tcp_apps.items() if self.apps[k].host == target])})")
            elif isinstance(ev, ShutdownEvent | SysctlEvent):
                if target not in self.hosts:
                    yield loc, f"unknown host {target!r} ({_known(hosts)})"
                elif isinstance(ev, SysctlEvent):
                    for key, value in ev.set.items():
                        message = sysctl_problem(self.hosts[target].profile, key, value)
                        if message is not None:
                            yield ("events", i, "set", key), message
            elif isinstance(ev, KillEvent | StartEvent):
                if target not in apps:
                    yield loc, f"unknown app {target!r} ({_known(apps)})"
                elif target not in tcp_apps:
                    yield loc, f"{target!r} is a {self.apps[apps[target]].type} app; only TCP apps can be killed or started"
            elif isinstance(ev, SetRulesEvent):
                node, key = target.node, "router" if target.router is not None else "host"
                if key == "router" and (node not in nodes or node in self.hosts):
                    yield (*loc, key), f"unknown router {node!r} ({_known([n for n in nodes if n not in self.hosts])})"
                elif key == "host" and node not in self.hosts:
                    yield (*loc, key), f"unknown host {node!r} ({_known(hosts)})"
                yield from rules_problems((*loc, "rules"), list(target.rules), nodes)
            elif isinstance(ev, InjectEvent):
                for key, name in target.node_refs():
                    if key == "from" and name not in self.hosts:
                        yield (*loc, key), f"unknown host {name!r} ({_known(hosts)})"
                    elif key != "from" and name not in nodes:
                        yield (*loc, key), f"unknown node {name!r} ({_known(nodes)}; or an IPv4 address)"
            elif isinstance(ev, PartitionEvent | HealEvent):
                for j, name in enumerate(target):
                    if name not in links:
                        yield (*loc, j), f"unknown link {name!r} ({_known(links)})"
            elif target not in links:
                yield loc, f"unknown link {target!r} ({_known(links)})"
            if ev.at >= self.until:
                yield ("events", i, "at"), (f"at {ev.at:g} s is not before the end of the run (until: {self.until:g} s); "
                                           "the event would never happen")

    def _match_problems(self, loc: Loc, match: Any, nodes: set[str], apps: dict[str, int]) -> Iterator[Problem]:
        for key, name in match.node_refs():
            if name not in nodes:
                yield (*loc, key), f"unknown node {name!r} ({_known(nodes)}; or an IPv4 address)"
        if match.app is not None and match.app not in apps:
            yield (*loc, "app"), f"unknown app {match.app!r} ({_known(apps)})"

    def _fault_problems(self, nodes: set[str], apps: dict[str, int]) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for i, (f, name) in enumerate(zip(self.faults, self.fault_names(), strict=True)):
            if name in seen:
                yield ("faults", i, "name"), f"duplicate rule name {name!r} (faults[{seen[name]}] has it)"
            seen.setdefault(name, i)
            yield from self._match_problems(("faults", i), f, nodes, apps)

    def _expect_problems(self, nodes: set[str], apps: dict[str, int]) -> Iterator[Problem]:
        from tcpsim.scenario.expect import PacketExpect

        level = Level.parse(self.trace_level)
        for i, e in enumerate(self.expect):
            loc: Loc = ("expect", i)
            host = getattr(e, "host", None)
            if host is not None and host not in nodes:
                yield (*loc, "host"), f"unknown node {host!r} ({_known(nodes)})"
            app = getattr(e, "app", None)
            if app is not None and app not in apps:
                yield (*loc, "app"), f"unknown app {app!r} ({_known(apps)})"
            if isinstance(e, PacketExpect):
                yield from self._match_problems((*loc, "packet"), e.packet, nodes, apps)
            need = required_level(e)
            if need > level:
                yield ("trace",), (f"trace level {self.trace_level!r} does not keep what expect[{i}] reads; "
                                   f"use {need.name.lower()} or higher, or leave trace: out to have it chosen")


def _known(names: Any) -> str:
    listed = ", ".join(sorted(str(n) for n in names))
    return f"expected one of: {listed}" if listed else "none defined"


def _block_dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line text (a lesson) as a ``|`` block, the way people write it."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper
