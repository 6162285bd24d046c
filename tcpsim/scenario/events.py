"""Timed events (``events:``): crashes, reboots, killed apps, cut links, changed knobs.

Each event is a mapping with ``at:`` and exactly one action key, which also
says what kind of event it is::

    - {at: 10s, crash: server}
    - {at: 20s, reboot: server, restart_apps: true}
    - {at: 5s, shutdown: server, grace: 1s}
    - {at: 5s, kill: web}
    - {at: 8s, start: web}
    - {at: 3s, link_down: client-r1}
    - {at: 9s, link_up: client-r1}
    - {at: 3s, partition: [a-r1, b-r1]}
    - {at: 9s, heal: [a-r1, b-r1]}
    - {at: 4s, link: r1-server, set: {loss: 10%, delay: 50ms}, direction: both}
    - {at: 6s, sysctl: server, set: {net.ipv4.tcp_syncookies: 1}}
    - {at: 10s, set_rules: {router: r1, rules: [{match: {dport: 80}, action: drop}]}}
    - {at: 2s, inject: {from: attacker, to: "server:80", flags: "A", seq: 1000, ack: 5000, win: 512}}
    - {at: 3s, inject: {conn: "client:*->server:80", from: client, flags: "R", seq: next}}

An action key rather than ``type:`` because the event then reads as a
sentence ("at 10 s, crash server") and its target needs no second key.

Each event becomes one callback at its time (``Simulation.call_at``); the
events that the network layer does not record itself (kills, shutdowns,
sysctl changes) are written to the trace as node events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from tcpsim.scenario.base import Name, Spec, SysctlValue
from tcpsim.scenario.inject import InjectSpec
from tcpsim.scenario.linkspec import DirectionSpec
from tcpsim.scenario.rules import RuleSpec
from tcpsim.scenario.units import Duration

if TYPE_CHECKING:
    from tcpsim.scenario.build import Built

__all__ = ["ACTIONS", "EventSpec", "schedule_events"]


class _EventBase(Spec):
    at: Duration = Field(description="Simulated time of the event.")


class CrashEvent(_EventBase):
    """Power loss: the node stops at once; its TCP state is lost and nothing is sent."""

    crash: Name = Field(description="Host or router to crash.")


class RebootEvent(_EventBase):
    """The node comes back with fresh TCP state (a crash first, if it was up)."""

    reboot: Name = Field(description="Host or router to bring back.")
    restart_apps: bool | list[Name] = Field(
        False, description="Start the host's apps again: true for all of them, or a list of app names.")


class ShutdownEvent(_EventBase):
    """An orderly shutdown: every app is killed (its sockets closed: FIN, or RST when data is unread),
    then after ``grace`` the host powers off."""

    shutdown: Name = Field(description="Host to shut down.")
    grace: Duration = Field(1.0, description="Time between closing the sockets and powering off.")


class KillEvent(_EventBase):
    """``kill -9`` of an app: the host closes its sockets (FIN, or RST when data is unread)."""

    kill: Name = Field(description="TCP app to kill.")


class StartEvent(_EventBase):
    """Start an app again (killing it first if it still runs), e.g. a server restart."""

    start: Name = Field(description="TCP app to start.")


class LinkDownEvent(_EventBase):
    link_down: Name = Field(description="Link to cut: packets on it and sent into it are lost.")


class LinkUpEvent(_EventBase):
    link_up: Name = Field(description="Link to restore.")


class PartitionEvent(_EventBase):
    partition: Annotated[list[Name], Field(min_length=1)] = Field(description="Links cut together.")


class HealEvent(_EventBase):
    heal: Annotated[list[Name], Field(min_length=1)] = Field(description="Links restored together.")


class LinkSetEvent(_EventBase):
    """Change a link's impairments while running (only the keys written change)."""

    link: Name = Field(description="Link to change.")
    set: DirectionSpec = Field(description="New values: any of the link keys from bandwidth to mtu.")
    direction: Literal["both", "a_to_b", "b_to_a"] = Field("both", description="Which direction changes.")

    @model_validator(mode="after")
    def _something(self) -> LinkSetEvent:
        if not self.set.model_fields_set:
            raise ValueError("set: expected at least one link key to change (loss, delay, bandwidth, ...)")
        return self


class SysctlEvent(_EventBase):
    """Change stack settings while running; listeners and later connections see them."""

    sysctl: Name = Field(description="Host whose settings change.")
    set: dict[str, SysctlValue] = Field(description="Settings by their real names.")

    @field_validator("set", mode="before")
    @classmethod
    def _null(cls, value: Any) -> Any:
        return {} if value is None else value


class RulesTarget(Spec):
    """Whose rules (a router or a host) and the new list."""

    router: Name | None = Field(None, description="The router whose rules change.")
    host: Name | None = Field(None, description="Or: the host whose rules change.")
    rules: list[RuleSpec] = Field(description="The new rules, replacing the old ones ([] removes them all).")

    @model_validator(mode="after")
    def _one(self) -> RulesTarget:
        if (self.router is None) == (self.host is None):
            raise ValueError("expected exactly one of router: and host: (whose rules change)")
        return self

    @property
    def node(self) -> str:
        return self.router or self.host or ""


class SetRulesEvent(_EventBase):
    """Replace a router's (or host's) filter rules, as ``iptables-restore`` would."""

    set_rules: RulesTarget = Field(description="{router: NAME, rules: [...]} or {host: NAME, rules: [...]}.")


class InjectEvent(_EventBase):
    """Send one crafted TCP segment from a host, its TCP stack not involved."""

    inject: InjectSpec = Field(description="The segment: from, to or conn, flags, seq, ack, win, len, ttl.")


_KINDS: dict[str, type[_EventBase]] = {
    "crash": CrashEvent, "reboot": RebootEvent, "shutdown": ShutdownEvent, "kill": KillEvent,
    "start": StartEvent, "link_down": LinkDownEvent, "link_up": LinkUpEvent, "partition": PartitionEvent,
    "heal": HealEvent, "link": LinkSetEvent, "sysctl": SysctlEvent, "set_rules": SetRulesEvent,
    "inject": InjectEvent,
}
ACTIONS = tuple(_KINDS)


def _action_of(value: Any) -> str | None:
    if isinstance(value, dict):
        found = [k for k in _KINDS if k in value]
        return found[0] if len(found) == 1 else None
    if isinstance(value, _EventBase):
        return next(k for k, cls in _KINDS.items() if isinstance(value, cls))
    return None


EventSpec = Annotated[
    Union[  # noqa: UP007
        Annotated[CrashEvent, Tag("crash")], Annotated[RebootEvent, Tag("reboot")],
        Annotated[ShutdownEvent, Tag("shutdown")], Annotated[KillEvent, Tag("kill")],
        Annotated[StartEvent, Tag("start")], Annotated[LinkDownEvent, Tag("link_down")],
        Annotated[LinkUpEvent, Tag("link_up")], Annotated[PartitionEvent, Tag("partition")],
        Annotated[HealEvent, Tag("heal")], Annotated[LinkSetEvent, Tag("link")],
        Annotated[SysctlEvent, Tag("sysctl")], Annotated[SetRulesEvent, Tag("set_rules")],
        Annotated[InjectEvent, Tag("inject")],
    ],
    Discriminator(
        _action_of,
        custom_error_type="event",
        custom_error_message="expected a mapping with at: and exactly one action: " + ", ".join(_KINDS),
    ),
]


def action(event: Any) -> str:
    kind = _action_of(event)
    assert kind is not None
    return kind


def describe_event(event: Any) -> str:
    kind = action(event)
    target = getattr(event, kind)
    if isinstance(target, list):
        target = ", ".join(target)
    elif isinstance(target, RulesTarget):
        target = target.node
    elif isinstance(target, InjectSpec):
        target = target.describe()
    return f"{kind} {target}"


# -- running them ---------------------------------------------------------------------------


def _apply_sysctl(built: Built, host_name: str, values: dict[str, Any]) -> None:
    """Set knobs at run time, as ``sysctl -w`` does.

    Linux reads the listen-queue knobs (tcp_syncookies, tcp_max_syn_backlog,
    tcp_synack_retries) from the namespace at every SYN, so an existing
    listener sees the change at once; the TCP layer copies the config into a
    listener when it is created, so the listeners get the new config here.
    Connections already open keep theirs.
    """
    from tcpsim.net.tcp_layer import stack_of

    sim = built.sim
    host = sim.host(host_name)
    stack = stack_of(host)
    for name, value in values.items():
        stack.set_sysctl(name, value)
        if name in ("net.ipv4.ip_default_ttl", "ip_default_ttl", "DefaultTTL"):
            host.ttl = int(value)
    for lst in stack.listeners.values():
        lst.cfg = stack.cfg
    detail = ", ".join(f"{k}={v}" for k, v in values.items())
    sim.trace.node_event(sim.now, host_name, "sysctl", detail)


def _link_changes(spec: DirectionSpec) -> dict[str, Any]:
    from tcpsim.net import GilbertElliott

    out: dict[str, Any] = {}
    for key in spec.model_fields_set & set(spec.PARAM_KEYS):
        value = getattr(spec, key)
        if key == "queue":
            out["queue_packets"] = value
        elif key == "gilbert":
            out["gilbert"] = None if value is None else GilbertElliott(value.p, value.r, value.loss_good, value.loss_bad)
        else:
            out[key] = value
    return out


def _apps_on(built: Built, host: str) -> Iterator[Any]:
    from tcpsim.apps.base import TcpApp

    for a in built.apps:
        if a.host == host and isinstance(a.app, TcpApp):
            yield a


def run_event(built: Built, event: Any) -> None:
    """Carry out one event now."""
    sim = built.sim
    kind = action(event)
    now = sim.now
    if kind == "crash":
        sim.node_down(event.crash)
    elif kind == "reboot":
        name = event.reboot
        if sim.node(name).up:
            sim.node_down(name)
        sim.node_up(name)
        restart = event.restart_apps
        if restart:
            for a in _apps_on(built, name):
                if restart is True or a.name in restart:
                    a.app.restart()
    elif kind == "shutdown":
        name = event.shutdown
        sim.trace.node_event(now, name, "shutdown", f"apps killed; power off in {event.grace:g} s")
        for a in _apps_on(built, name):
            a.app.kill("killed by the host's shutdown")
        if event.grace:
            sim.call_later(event.grace, sim.node_down, name)
        else:
            sim.node_down(name)
    elif kind == "kill":
        app = built.app(event.kill)
        sim.trace.node_event(now, app.host, "kill", app.name)
        app.app.kill()
    elif kind == "start":
        app = built.app(event.start)
        sim.trace.node_event(now, app.host, "start", app.name)
        app.app.restart()
    elif kind == "link_down":
        sim.link_down(event.link_down)
    elif kind == "link_up":
        sim.link_up(event.link_up)
    elif kind == "partition":
        for link in event.partition:
            sim.link_down(link)
    elif kind == "heal":
        for link in event.heal:
            sim.link_up(link)
    elif kind == "link":
        link = sim.link(event.link)
        changes = _link_changes(event.set)
        if event.direction == "both":
            link.set_params(None, **changes)
        else:
            link.set_params(link.ab if event.direction == "a_to_b" else link.ba, **changes)
        detail = ", ".join(f"{k}={v}" for k, v in changes.items())
        sim.trace.node_event(now, event.link, "link-change", f"{event.direction}: {detail}")
    elif kind == "sysctl":
        _apply_sysctl(built, event.sysctl, dict(event.set))
    elif kind == "set_rules":
        from tcpsim.scenario.rules import compile_rules

        target = event.set_rules
        node = sim.node(target.node)
        rules = compile_rules(list(target.rules), built.addresses)
        built.set_rules(target.node, rules)
        detail = "; ".join(f"{r.name}: {r.text}" for r in rules) or "no rules"
        sim.trace.node_event(now, node.name, "set-rules", detail)
    elif kind == "inject":
        from tcpsim.scenario.inject import inject

        inject(built, event.inject)


def schedule_events(built: Built, events: list[Any]) -> None:
    """One callback per event at its time; an event at or after the end of the run never happens."""
    for event in events:
        if event.at < built.until:
            built.sim.call_at(max(event.at, built.sim.now), run_event, built, event)
