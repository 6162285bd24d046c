"""``syn-flood`` and ``port-scan``: apps that write raw TCP segments, as hping3 and nmap do.

Neither uses a socket. The flood forges its source addresses, which no
socket can do: it builds the IP packet itself and hands it to the host's IP
output. The scan sends bare SYNs from a fixed source port and reads the
answers through a tap on the host's TCP input, the simulator's analogue of
a raw socket: the tap sees every segment first, then the host's own TCP
layer still gets it. That is also why, as with ``nmap -sS``, an open port's
SYN-ACK is answered with a RST: the host's TCP has no connection for it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from tcpsim.apps.base import AppBody, TcpApp, fmt_time
from tcpsim.wire.ip import (
    ICMP_DEST_UNREACH,
    IP_HEADER_LEN,
    IPPROTO_TCP,
    ICMPMessage,
    IPPacket,
)
from tcpsim.wire.segment import ACK, RST, SYN, Segment

if TYPE_CHECKING:
    from tcpsim.net.node import Host
    from tcpsim.net.sim import Simulation

__all__ = ["PortScan", "SynFlood", "parse_ports"]


class SynFlood(TcpApp):
    """``rate`` SYNs per second to ``dst``:``port`` for ``duration`` (or ``count`` SYNs).

    Sources are forged: drawn at random from the prefix ``spoof`` (a single
    address when the prefix is a /32), each with a random port and ISN from
    the app's own seeded stream. SYNs carry only an MSS option, like
    ``hping3 -S``. Nobody owns the forged addresses, so the SYN-ACKs go
    nowhere (a router answers ICMP unreachable, which Linux ignores for a
    request in SYN_RECV) and every half-open request waits out its SYN-ACK
    retransmissions. ``results()``: ``syns_sent``, ``first``, ``last``.
    """

    type_name = "syn-flood"

    def __init__(self, sim: Simulation, host: Host, name: str, *, dst: str, port: int = 80,
                 rate: float = 100.0, duration: float | None = None, count: int | None = None,
                 spoof: str = "100.64.0.0/10", start: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError(f"syn-flood: rate must be > 0, got {rate}")
        self.dst = dst
        self.port = port
        self.rate = rate
        self.duration = duration
        self.count = count
        self.spoof = ipaddress.IPv4Network(spoof, strict=False)
        self.syns_sent = 0
        self.first: float | None = None
        self.last: float | None = None
        self.rng = sim.rng(f"app:{name}")
        super().__init__(sim, host, name, start, None)

    def _total(self) -> int:
        if self.count is not None:
            return self.count
        assert self.duration is not None
        return max(int(round(self.duration * self.rate)), 1)

    def main(self) -> AppBody:
        env = self.env
        total = self._total()
        gap = 1.0 / self.rate
        t0 = env.now
        self.say(f"{fmt_time(t0)} flooding {self.dst}:{self.port} with {total} SYNs at {self.rate:g}/s "
                 f"from {self.spoof}")
        net = self.spoof
        rng = self.rng
        host = self.host
        for i in range(total):
            # Absolute times, so rounding never makes the rate drift.
            at = t0 + i * gap
            if at > env.now:
                yield env.timeout(at - env.now)
            src = str(net[rng.randrange(net.num_addresses)]) if net.num_addresses > 1 else str(net.network_address)
            seg = Segment(rng.randrange(1024, 65536), self.port, rng.getrandbits(32), 0, SYN, 64240, mss=1460)
            size = IP_HEADER_LEN + seg.header_len
            host.output(IPPacket(src, self.dst, host.ttl, IPPROTO_TCP, seg, size, host.next_ip_id()))
            self.syns_sent += 1
            if self.first is None:
                self.first = env.now
            self.last = env.now
        self.say(f"{fmt_time(env.now)} sent {self.syns_sent} SYNs")

    def results(self) -> dict[str, Any]:
        return {"dst": self.dst, "port": self.port, "syns_sent": self.syns_sent, "first": self.first,
                "last": self.last, **self.base_results()}


def parse_ports(spec: str | int | list[int]) -> list[int]:
    """``"20-25,80"``, ``80`` or ``[22, 80]`` -> a sorted list of distinct ports 1..65535."""
    if isinstance(spec, bool):
        raise ValueError(f"expected ports such as 22, '20-25,80' or [22, 80], got {spec!r}")
    if isinstance(spec, int):
        items: list[int] = [spec]
    elif isinstance(spec, list):
        items = []
        for p in spec:
            if isinstance(p, bool) or not isinstance(p, int):
                raise ValueError(f"expected port numbers in the list, got {_cut(repr(p))}")
            items.append(p)
    elif isinstance(spec, str):
        items = []
        # Each part is bounded before it is expanded, and the result is a set of at most 65535 ports,
        # so no spelling can make this allocate more than that.
        seen: set[int] = set()
        for part in spec.replace(" ", "").split(","):
            m = re.fullmatch(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", part)
            if m is None:
                raise ValueError(f"expected ports such as '20-25,80' (each 1..65535), got {_cut(repr(spec))}")
            a = int(m.group(1))
            b = int(m.group(2)) if m.group(2) is not None else a
            if a > b:
                raise ValueError(f"port range {part!r} goes backwards")
            for p in (a, b):
                if not 1 <= p <= 65535:
                    raise ValueError(f"ports are 1..65535, got {p}")
            seen.update(range(a, b + 1))
        items = list(seen)
    else:
        raise ValueError(f"expected ports such as 22, '20-25,80' or [22, 80], got {spec!r}")
    for p in items:
        if not 1 <= p <= 65535:
            raise ValueError(f"ports are 1..65535, got {_cut(str(p))}")
    return sorted(set(items))


def _cut(text: str, limit: int = 40) -> str:
    """A user's value inside a message, cut so that a huge one stays one short line."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class PortScan(TcpApp):
    """``nmap -sS``: a SYN to each port, ``interval`` apart, from one source port.

    A SYN-ACK means open (the host's TCP then resets it, having no socket for
    it), a RST means closed, and silence for ``wait`` after the last probe,
    or an ICMP unreachable, means filtered. Like nmap, a port that stays
    silent is probed once more (``retries``) before it is called filtered.
    ``results()``: ``open``, ``closed``, ``filtered`` (sorted port lists).
    """

    type_name = "port-scan"

    def __init__(self, sim: Simulation, host: Host, name: str, *, dst: str, ports: list[int],
                 interval: float = 0.001, wait: float = 1.0, retries: int = 1, sport: int = 40123,
                 start: float = 0.0) -> None:
        self.dst = dst
        self.ports = ports
        self.interval = interval
        self.wait = wait
        self.retries = retries
        self.sport = sport
        self.state: dict[int, str] = {}
        self.rng = sim.rng(f"app:{name}")
        super().__init__(sim, host, name, start, None)
        self._tap_installed = False

    def _install_tap(self) -> None:
        """Wrap the host's TCP input and TCP ICMP-error input (a raw socket's view)."""
        if self._tap_installed:
            return
        self._tap_installed = True
        host = self.host
        tcp_in = host.handlers[IPPROTO_TCP]
        icmp_in = host.icmp_error_handlers.get(IPPROTO_TCP)

        def tap(pkt: IPPacket) -> None:
            seg = pkt.payload
            if (self.running and isinstance(seg, Segment) and pkt.src == self.dst and seg.dport == self.sport
                    and seg.sport in self.state and self.state[seg.sport] == "waiting"):
                if seg.flags & SYN and seg.flags & ACK:
                    self.state[seg.sport] = "open"
                elif seg.flags & RST:
                    self.state[seg.sport] = "closed"
            tcp_in(pkt)

        def icmp_tap(pkt: IPPacket, icmp: ICMPMessage) -> None:
            q = icmp.quoted
            if (self.running and icmp.type == ICMP_DEST_UNREACH and q is not None and isinstance(q.payload, Segment)
                    and q.payload.sport == self.sport and self.state.get(q.payload.dport) == "waiting"):
                self.state[q.payload.dport] = "filtered"
            if icmp_in is not None:
                icmp_in(pkt, icmp)

        host.handlers[IPPROTO_TCP] = tap
        host.icmp_error_handlers[IPPROTO_TCP] = icmp_tap

    def _probe(self, port: int) -> None:
        seg = Segment(self.sport, port, self.rng.getrandbits(32), 0, SYN, 1024, mss=1460)
        self.host.ip_send(self.dst, IPPROTO_TCP, seg)

    def main(self) -> AppBody:
        env = self.env
        self._install_tap()
        self.state = {p: "waiting" for p in self.ports}
        self.say(f"{fmt_time(env.now)} SYN scan of {self.dst}, {len(self.ports)} ports")
        todo = list(self.ports)
        for _attempt in range(self.retries + 1):
            for i, port in enumerate(todo):
                if i and self.interval:
                    yield env.timeout(self.interval)
                self._probe(port)
            yield env.timeout(self.wait)
            todo = [p for p in todo if self.state[p] == "waiting"]
            if not todo:
                break
        for p in todo:
            self.state[p] = "filtered"
        self.say("PORT      STATE")
        for p in self.ports:
            if self.state[p] != "closed" or len(self.ports) <= 30:
                self.say(f"{f'{p}/tcp':9} {self.state[p]}")
        shown = len(self.ports) if len(self.ports) <= 30 else sum(1 for p in self.ports if self.state[p] != "closed")
        if shown < len(self.ports):
            self.say(f"Not shown: {len(self.ports) - shown} closed ports")

    def results(self) -> dict[str, Any]:
        def having(s: str) -> list[int]:
            return [p for p in self.ports if self.state.get(p) == s]
        return {"dst": self.dst, "open": having("open"), "closed": having("closed"),
                "filtered": having("filtered"), **self.base_results()}
