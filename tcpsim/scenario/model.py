"""The scenario schema: what a scenario file may say, as pydantic v2 models.

The models do the per-value checks (types, units, ranges, unknown keys); the
checks that need the whole file (a link naming a node that does not exist,
two hosts with one address) live in ``Scenario.problems`` and report the YAML
path of the offending value, so the loader can point at its line.

Extension points, kept deliberately open for the next pieces of work:

* apps are a union discriminated on ``type:``: a TCP client or server is one
  more ``AppSpec`` subclass with a ``build`` method, added to ``AppSpec``;
* timed events, fault rules, an ``expect:`` block and ``params:`` are new
  top-level fields; ``${param}`` substitution will happen on the raw YAML data
  before validation (see ``loader.py``), so the models never see a template.

Every model forbids unknown keys and is strict (a YAML ``"4"`` is not the
integer 4, ``yes`` is not a count) because a typo that silently does nothing
is the worst kind of scenario bug.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tcpsim.scenario.units import Bandwidth, Duration, PositiveDuration, Probability, Size, describe

if TYPE_CHECKING:
    from tcpsim.scenario.build import BuildContext

# A path into the YAML document: mapping keys and list indexes.
Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
NAME_HINT = "a name of letters, digits, '_', '-' and '.', starting with a letter or '_'"


def _check_name(value: str) -> str:
    # Names may not start with a digit so that a name can never be mistaken
    # for an IPv4 address where either is accepted (``dst:``).
    if not _NAME.match(value):
        raise PydanticCustomError("name", "expected {hint}, got {got}", {"hint": NAME_HINT, "got": describe(value)})
    return value


def _check_ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise PydanticCustomError(
            "ipv4", "expected an IPv4 address such as 192.0.2.1, got {got}", {"got": describe(value)}
        ) from None


Name = Annotated[str, AfterValidator(_check_name)]
IPv4 = Annotated[str, AfterValidator(_check_ipv4)]


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


class _Spec(BaseModel):
    """Base of every scenario model: strict, closed, and ``null`` means ``{}``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # ``server:`` with nothing after it is YAML's null; people write it to
        # mean "a host with all defaults".
        return {} if value is None else value


# -- nodes ------------------------------------------------------------------------------


def _sysctl_value(value: Any) -> int | float | str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError("sysctl", "expected a number or a string, got {got}", {"got": describe(value)})
    return value


SysctlValue = Annotated[
    Any,
    PlainValidator(_sysctl_value),
    WithJsonSchema({"type": ["integer", "number", "string"]}),
]


class HostSpec(_Spec):
    """One end host."""

    address: IPv4 | None = Field(
        None, description="IPv4 address; default: the next free one of 192.0.2.1.., then 198.51.100.1.."
    )
    profile: str = Field("linux", description="Stack profile: linux, windows-xp, rfc9293, classroom, ...")
    sysctl: dict[str, SysctlValue] = Field(
        default_factory=dict,
        description="Overrides by their real names, e.g. net.ipv4.ip_default_ttl: 64.",
    )

    @field_validator("sysctl", mode="before")
    @classmethod
    def _null_sysctl(cls, value: Any) -> Any:
        return {} if value is None else value


class RouterSpec(_Spec):
    """One router. No keys yet; a mapping form exists so that later keys fit."""


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


class GilbertSpec(_Spec):
    """Gilbert-Elliott two-state loss: bursts instead of independent drops."""

    p: Probability = Field(description="Per packet, probability of going from the good to the bad state.")
    r: Probability = Field(description="Per packet, probability of going from the bad back to the good state.")
    loss_good: Probability = Field(0.0, description="Loss probability in the good state.")
    loss_bad: Probability = Field(1.0, description="Loss probability in the bad state.")


class DirectionSpec(_Spec):
    """What one direction of a link does to packets (netem-like impairments).

    Used twice: on the link itself (both directions) and in ``a_to_b`` /
    ``b_to_a``, where only the keys actually written override the link's.
    """

    bandwidth: Bandwidth | None = Field(None, description="Serialization rate; null means unlimited.")
    delay: Duration = Field(0.0, description="One-way propagation delay.")
    jitter: Duration = Field(0.0, description="Random extra delay, uniform in [0, jitter]; never reorders.")
    loss: Probability = Field(0.0, description="Independent loss probability per packet.")
    gilbert: GilbertSpec | None = Field(None, description="Bursty loss model; used instead of loss when given.")
    duplicate: Probability = Field(0.0, description="Probability that a packet is delivered twice.")
    reorder: Probability = Field(0.0, description="Probability that a packet is held back by reorder_delay.")
    reorder_delay: Duration = Field(0.0, description="Extra delay of a reordered packet; 0 means 2 x delay + 1ms.")
    corrupt: Probability = Field(0.0, description="Probability that a packet is damaged (the receiver drops it).")
    queue: Annotated[int, Field(ge=0)] | None = Field(
        1000, description="Drop-tail queue limit in packets waiting; null means unlimited (needs a bandwidth)."
    )
    queue_bytes: Size | None = Field(None, description="Drop-tail queue limit in bytes; null means none.")
    mtu: Annotated[Size, Field(ge=68)] = Field(1500, description="Largest IP packet the link carries, in bytes.")

    PARAM_KEYS: ClassVar[tuple[str, ...]] = (
        "bandwidth", "delay", "jitter", "loss", "gilbert", "duplicate", "reorder",
        "reorder_delay", "corrupt", "queue", "queue_bytes", "mtu",
    )

    def params(self, override: DirectionSpec | None = None) -> dict[str, Any]:
        """The direction's values, with the keys written in ``override`` replacing them."""
        values = {k: getattr(self, k) for k in self.PARAM_KEYS}
        if override is not None:
            for key in override.model_fields_set & set(self.PARAM_KEYS):
                values[key] = getattr(override, key)
        return values


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


class AppBase(_Spec):
    """What every application has: where it runs, when it starts, what it is called."""

    name: Name | None = Field(None, description="Name in the output and summary.json; default TYPE1, TYPE2, ...")
    host: Name = Field(description="The host the application runs on.")
    start: Duration = Field(0.0, description="Simulated time at which it starts.")

    def targets(self) -> Iterator[tuple[str, str]]:
        """(field, value) pairs naming another node: checked against the topology."""
        return iter(())

    def build(self, ctx: BuildContext, name: str) -> Any:  # pragma: no cover - every app overrides
        """Create the running application in ``ctx.sim``; ``name`` is its scenario name."""
        raise NotImplementedError


class PingSpec(AppBase):
    """ping(8): ICMP echo requests, one line per reply, statistics at the end."""

    type: Literal["ping"]
    dst: str = Field(description="Destination: a host name, a router name (its first interface) or an IPv4 address.")
    count: Annotated[int, Field(ge=1)] = Field(4, description="Echo requests to send (ping -c).")
    interval: PositiveDuration = Field(1.0, description="Time between requests (ping -i).")
    ttl: Annotated[int, Field(ge=1, le=255)] | None = Field(
        None, description="IP TTL of the requests (ping -t); default: the host's net.ipv4.ip_default_ttl."
    )
    size: Annotated[Size, Field(le=65507)] = Field(56, description="Echo data bytes (ping -s).")
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
AppSpec = Annotated[Union[PingSpec, TracerouteSpec], Field(discriminator="type")]  # noqa: UP007


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
    seed: Annotated[int, Field(ge=0)] = Field(1, description="Seed of every random draw; same seed, same trace.")
    until: PositiveDuration = Field(60.0, description="Simulated time at which the run stops.")
    routing: Literal["delay", "hops"] = Field("delay", description="Shortest paths by total delay or by hop count.")
    trace: Literal["counters", "states", "packets", "full"] = Field(
        "packets", description="What the trace keeps (counters < states < packets < full)."
    )
    hosts: dict[Name, HostSpec] = Field(min_length=1, description="End hosts by name (at least one).")
    routers: Routers = Field(default_factory=list, description="Router names, or a mapping name -> {}.")
    links: list[LinkSpec] = Field(default_factory=list, description="Point-to-point links.")
    apps: list[AppSpec] = Field(default_factory=list, description="Applications, each with a type.")

    @field_validator("hosts", "routers", "links", "apps", mode="before")
    @classmethod
    def _null_is_empty_collection(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name == "hosts" else []
        return value

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
                        ("apps", i, key),
                        f"unknown node {target!r} (expected a host or router name, one of: {expected_nodes}; "
                        "or an IPv4 address)",
                    ))
        return out
