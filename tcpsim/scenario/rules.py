"""Filter rules (``rules:`` of a router or host, and the ``set_rules`` event).

An ordered list, first match wins, as in an iptables chain::

    routers:
      r1:
        rules:
          - {match: {proto: tcp, dport: 81}, action: reject, with: port-unreachable}
          - {match: {proto: tcp, dport: 82}, action: reject, with: tcp-reset}
          - {match: {src: 203.0.113.0/24}, action: drop}

``match`` keys: ``proto`` (tcp, icmp, any), ``src`` and ``dst`` (an address,
a network in CIDR form, or a host or router name, meaning all its addresses),
``sport`` and ``dport`` (a port, or a range ``"1000-2000"``), ``flags`` (TCP
flags as in packet matches). Ports and flags imply ``proto: tcp``. A missing
``match`` takes every packet. What the network does with them is in
``tcpsim.net.firewall``; this module is the schema and its compilation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from tcpsim.net.firewall import ACTIONS, PROTOCOLS, REJECT_WITH, FwRule
from tcpsim.scenario.base import Loc, Name, Problem, Spec, is_ipv4
from tcpsim.scenario.packets import Flags, parse_flags
from tcpsim.scenario.units import describe

__all__ = ["RuleSpec", "compile_rules", "rule_names", "rules_problems"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
ADDR_HINT = "an IPv4 address, a network such as 203.0.113.0/24, or a host or router name"


def _check_addr(value: Any) -> str:
    if isinstance(value, str):
        if _NAME_RE.match(value):
            return value
        try:
            ipaddress.IPv4Network(value, strict=False)
            return value
        except ValueError:
            pass
    raise PydanticCustomError("rule_addr", "expected {hint}, got {got}", {"hint": ADDR_HINT, "got": describe(value)})


RuleAddr = Annotated[str, AfterValidator(_check_addr)]

PORT_HINT = "a port 1..65535 or a range such as '1000-2000'"


def parse_ports(value: int | str) -> tuple[int, int]:
    """``80`` -> (80, 80); ``"1000-2000"`` -> (1000, 2000)."""
    if isinstance(value, bool):
        raise ValueError(f"expected {PORT_HINT}, got {describe(value)}")
    if isinstance(value, int):
        lo = hi = value
    else:
        m = re.match(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$", value)
        if m is None:
            raise ValueError(f"expected {PORT_HINT}, got {describe(value)}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
    if not (1 <= lo <= hi <= 65535):
        raise ValueError(f"expected {PORT_HINT}, got {describe(value)}")
    return lo, hi


def _check_ports(value: Any) -> Any:
    try:
        parse_ports(value)
    except ValueError as exc:
        raise PydanticCustomError("ports", str(exc)) from None
    return value


Ports = Annotated[int | str, AfterValidator(_check_ports),
                  WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0, "maximum": 65535}, {"type": "string"}]})]


class RuleMatchSpec(Spec):
    """Which packets a rule takes: every key given must hold."""

    proto: Literal["tcp", "icmp", "any"] = Field("any", description="IP protocol; ports and flags imply tcp.")
    src: RuleAddr | None = Field(None, description="Source: " + ADDR_HINT + ".")
    dst: RuleAddr | None = Field(None, description="Destination: " + ADDR_HINT + ".")
    sport: Ports | None = Field(None, description="TCP source port: " + PORT_HINT + ".")
    dport: Ports | None = Field(None, description="TCP destination port: " + PORT_HINT + ".")
    flags: Flags | None = Field(None, description="TCP flags, as in packet matches ('S' = SYN set, '=S' = exactly SYN).")

    @model_validator(mode="after")
    def _tcp_keys(self) -> RuleMatchSpec:
        tcp_only = [k for k in ("sport", "dport", "flags") if getattr(self, k) is not None]
        if self.proto == "icmp" and tcp_only:
            raise ValueError(f"proto: icmp cannot be combined with {', '.join(tcp_only)} (those are TCP criteria)")
        return self

    def describe(self) -> str:
        parts: list[str] = []
        tcp = self.proto == "tcp" or any(getattr(self, k) is not None for k in ("sport", "dport", "flags"))
        if tcp:
            parts.append("tcp")
        elif self.proto == "icmp":
            parts.append("icmp")
        for key in ("src", "dst", "sport", "dport"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key} {value}")
        if self.flags is not None:
            parts.append(f"flags [{self.flags}]")
        return " ".join(parts) or "any packet"


class RuleSpec(Spec):
    """One rule: a match and what to do with the packets it takes."""

    name: Name | None = Field(None, description="Rule name in drop reasons and counts; default: its position, 1, 2, ...")
    match: RuleMatchSpec = Field(default_factory=lambda: RuleMatchSpec.model_validate({}), description="Which packets (empty: all).")
    action: Literal["accept", "drop", "reject"] = Field(description="accept, drop (silently) or reject (answer).")
    with_: Literal[
        "net-unreachable", "host-unreachable", "proto-unreachable", "port-unreachable", "net-prohibited",
        "host-prohibited", "admin-prohibited", "tcp-reset",
    ] | None = Field(None, alias="with", description="For reject: the answer (default port-unreachable, as iptables).")

    @model_validator(mode="after")
    def _with(self) -> RuleSpec:
        if self.with_ is not None and self.action != "reject":
            raise ValueError(f"with: only goes with action: reject, not {self.action}")
        if self.with_ == "tcp-reset":
            m = self.match
            tcp = m.proto == "tcp" or any(getattr(m, k) is not None for k in ("sport", "dport", "flags"))
            if not tcp:
                raise ValueError("with: tcp-reset needs a match on TCP (proto: tcp, a port or flags), "
                                 "as iptables refuses it for other protocols")
        return self

    @property
    def answer(self) -> str | None:
        if self.action != "reject":
            return None
        return self.with_ or "port-unreachable"

    def describe(self) -> str:
        verdict = f"reject with {self.answer}" if self.action == "reject" else self.action
        return f"{self.match.describe()} -> {verdict}"


assert set(ACTIONS) == {"accept", "drop", "reject"} and len(REJECT_WITH) == 8


def rule_names(rules: list[RuleSpec]) -> list[str]:
    """Each rule's name: its own, or its position (1, 2, ...)."""
    return [r.name if r.name is not None else str(i) for i, r in enumerate(rules, 1)]


def rules_problems(loc: Loc, rules: list[RuleSpec], nodes: set[str]) -> Iterator[Problem]:
    """Names that are not nodes, and duplicate rule names."""
    seen: dict[str, int] = {}
    for i, (rule, name) in enumerate(zip(rules, rule_names(rules), strict=True)):
        if name in seen:
            yield (*loc, i, "name"), f"duplicate rule name {name!r} (rule {seen[name] + 1} has it)"
        seen.setdefault(name, i)
        for key in ("src", "dst"):
            value = getattr(rule.match, key)
            if value is not None and _NAME_RE.match(value) and value not in nodes:
                known = ", ".join(sorted(nodes)) or "none defined"
                yield (*loc, i, "match", key), (f"unknown node {value!r} (expected {ADDR_HINT}; nodes: {known})")


def compile_rules(rules: list[RuleSpec], addresses: Callable[[str], frozenset[str]]) -> list[FwRule]:
    """The network layer's rules; ``addresses(name)`` gives every address of a node."""
    from tcpsim.net.firewall import networks

    out: list[FwRule] = []
    for rule, name in zip(rules, rule_names(rules), strict=True):
        m = rule.match
        tcp = m.proto == "tcp" or any(getattr(m, k) is not None for k in ("sport", "dport", "flags"))
        proto = PROTOCOLS["tcp"] if tcp else PROTOCOLS.get(m.proto)

        def nets(value: str | None) -> tuple[tuple[int, int], ...] | None:
            if value is None:
                return None
            if _NAME_RE.match(value) and not is_ipv4(value):
                return networks(sorted(addresses(value)))
            return networks([value])

        flags = None
        if m.flags is not None:
            bits, exact = parse_flags(m.flags)
            flags = (0x3F if exact else bits, bits)
        out.append(FwRule(
            name, rule.action, rule.answer, proto, nets(m.src), nets(m.dst),
            parse_ports(m.sport) if m.sport is not None else None,
            parse_ports(m.dport) if m.dport is not None else None,
            flags, rule.describe(),
        ))
    return out
