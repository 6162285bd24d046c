"""Packet filters on routers and hosts: an ordered rule list, first match wins.

A ``Firewall`` is what an iptables chain is to Linux: rules tried in order,
each one a match (protocol, source and destination networks, ports, TCP
flags) and a verdict (``accept``, ``drop``, ``reject``). A packet no rule
matches is accepted (the chain's policy is ACCEPT). Where a node applies it:

* a router, to packets it forwards (after the TTL check and decrement, as
  Linux runs the FORWARD hook from ``ip_forward()``) and to packets addressed
  to itself (the INPUT hook);
* a host, to packets addressed to it (INPUT), before its protocol handlers.

``reject`` answers as iptables' REJECT target does (``nf_send_unreach`` and
``nf_send_reset`` in Linux's nf_reject_ipv4.c): an ICMP destination
unreachable with the code of ``with`` (see ``REJECT_CODES``), quoting the
packet, or for ``tcp-reset`` a RST forged from the packet's destination
with the numbers of RFC 9293 §3.10.7.1 (``<SEQ=SEG.ACK><CTL=RST>`` if the
packet had ACK, else ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``). Never a
RST for a RST, nor an ICMP error about an ICMP error (RFC 1122 §3.2.2).

Every rule counts its hits (``hits``, by rule name) whatever its verdict;
the node records a dropped or rejected packet as a ``drop`` with the reason
``rule NAME: drop`` or ``rule NAME: reject WITH``.

This module is pure: it matches and decides; ``Node`` sends.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass

from tcpsim.wire.ip import IPPROTO_ICMP, IPPROTO_TCP, IPPacket
from tcpsim.wire.segment import Segment

__all__ = ["ACTIONS", "REJECT_CODES", "REJECT_WITH", "Firewall", "FwRule"]

ACTIONS = ("accept", "drop", "reject")

# iptables -j REJECT --reject-with TYPE -> ICMP destination unreachable code (RFC 792,
# RFC 1812 §5.2.7.1 for 9, 10 and 13), as Linux's ipt_REJECT sends them.
REJECT_CODES: dict[str, int] = {
    "net-unreachable": 0,
    "host-unreachable": 1,
    "proto-unreachable": 2,
    "port-unreachable": 3,
    "net-prohibited": 9,
    "host-prohibited": 10,
    "admin-prohibited": 13,
}
REJECT_WITH = (*REJECT_CODES, "tcp-reset")


@dataclass(frozen=True, slots=True)
class FwRule:
    """One compiled rule. Networks are ``(network, mask)`` integers; ``None`` matches anything."""

    name: str
    action: str
    reject_with: str | None = None
    proto: int | None = None
    src: tuple[tuple[int, int], ...] | None = None
    dst: tuple[tuple[int, int], ...] | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    flags: tuple[int, int] | None = None  # (mask, value): (seg.flags & mask) == value
    text: str = ""

    @property
    def reason(self) -> str:
        """The drop reason recorded for a packet this rule stopped."""
        if self.action == "reject":
            return f"rule {self.name}: reject {self.reject_with}"
        return f"rule {self.name}: {self.action}"


def networks(texts: list[str]) -> tuple[tuple[int, int], ...]:
    """``["10.0.0.0/8", "192.0.2.7"]`` -> ((network, mask), ...); raises ValueError."""
    out = []
    for text in texts:
        net = ipaddress.IPv4Network(text, strict=False)
        out.append((int(net.network_address), int(net.netmask)))
    return tuple(out)


_ADDR_CACHE: dict[str, int] = {}


def _addr(text: str) -> int:
    n = _ADDR_CACHE.get(text)
    if n is None:
        n = _ADDR_CACHE[text] = int(ipaddress.IPv4Address(text))
    return n


def _in(addr: str, nets: tuple[tuple[int, int], ...]) -> bool:
    a = _addr(addr)
    return any(a & mask == net for net, mask in nets)


class Firewall:
    """An ordered list of rules and their hit counts."""

    __slots__ = ("rules", "hits")

    def __init__(self, rules: list[FwRule] | None = None) -> None:
        self.rules: list[FwRule] = list(rules or [])
        self.hits: Counter[str] = Counter()

    def set_rules(self, rules: list[FwRule]) -> None:
        """Replace the rules (hit counts go on, by rule name)."""
        self.rules = list(rules)

    def match(self, pkt: IPPacket) -> FwRule | None:
        """The first rule matching ``pkt`` (its hit counted), or None."""
        for rule in self.rules:
            if rule.proto is not None and pkt.proto != rule.proto:
                continue
            if rule.src is not None and not _in(pkt.src, rule.src):
                continue
            if rule.dst is not None and not _in(pkt.dst, rule.dst):
                continue
            if rule.sport is not None or rule.dport is not None or rule.flags is not None:
                seg = pkt.payload
                if not isinstance(seg, Segment):
                    continue
                if rule.sport is not None and not rule.sport[0] <= seg.sport <= rule.sport[1]:
                    continue
                if rule.dport is not None and not rule.dport[0] <= seg.dport <= rule.dport[1]:
                    continue
                if rule.flags is not None and seg.flags & rule.flags[0] != rule.flags[1]:
                    continue
            self.hits[rule.name] += 1
            return rule
        return None


PROTOCOLS = {"tcp": IPPROTO_TCP, "icmp": IPPROTO_ICMP}
