"""Applications that run on hosts: a base class, ``Ping`` and ``Traceroute``.

An app is one SimPy process (apps are few and slow, so a process is fine
here, unlike per packet). Its human-readable output mimics the real tool's, line
for line, so a scenario's output can be read by someone who knows the tool:
``Ping`` follows Linux iputils ``ping``, ``Traceroute`` follows ``traceroute -I -n``.
Each line is kept in ``lines`` and written to the trace as an ``app`` record
(``what="line"``); the final ``results()`` dict is written as ``what="result"``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from tcpsim.net.node import Host
from tcpsim.wire.ip import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_TIME_EXCEEDED,
    IPPROTO_ICMP,
    ICMPMessage,
    IPPacket,
)

if TYPE_CHECKING:
    from tcpsim.net.sim import Simulation

__all__ = ["App", "Ping", "Traceroute", "format_ping_time"]

# iputils' wording for ICMP errors, by (type, code).
_PING_ERRORS = {
    (ICMP_TIME_EXCEEDED, 0): "Time to live exceeded",
    (ICMP_TIME_EXCEEDED, 1): "Frag reassembly time exceeded",
    (ICMP_DEST_UNREACH, 0): "Destination Net Unreachable",
    (ICMP_DEST_UNREACH, 1): "Destination Host Unreachable",
    (ICMP_DEST_UNREACH, 2): "Destination Protocol Unreachable",
    (ICMP_DEST_UNREACH, 3): "Destination Port Unreachable",
    (ICMP_DEST_UNREACH, 4): "Frag needed",
    (ICMP_DEST_UNREACH, 13): "Packet filtered",
}

# traceroute's annotations for Destination Unreachable codes.
_TRACEROUTE_UNREACH = {0: "!N", 1: "!H", 2: "!P", 3: "", 4: "!F", 13: "!X"}


def format_ping_time(rtt: float) -> str:
    """An RTT as iputils ping prints it: about 3 significant digits, from whole microseconds."""
    us = round(rtt * 1e6)
    if us >= 100000 - 50:
        return f"{(us + 500) // 1000}"
    if us >= 10000 - 5:
        return f"{(us + 50) // 1000}.{((us + 50) % 1000) // 100:01d}"
    if us >= 1000:
        return f"{(us + 5) // 1000}.{((us + 5) % 1000) // 10:02d}"
    return f"{us // 1000}.{us % 1000:03d}"


class App:
    """One application instance on one host, run as a single SimPy process starting at ``start``.

    Subclasses implement ``main()`` (a SimPy generator) and ``results()``.
    """

    def __init__(self, sim: Simulation, host: Host | str, name: str, start: float = 0.0) -> None:
        if isinstance(host, str):
            host = sim.host(host)
        if not isinstance(host, Host):
            raise ValueError(f"{name}: apps run on hosts, not on {host!r}")
        if start < 0:
            raise ValueError(f"{name}: start must be >= 0, got {start}")
        self.sim = sim
        self.env = sim.env
        self.host = host
        self.name = name
        self.start = start
        self.lines: list[str] = []
        self.finished = False
        self.process = sim.env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        if self.start > self.env.now:
            yield self.env.timeout(self.start - self.env.now)
        yield from self.main()
        self.finished = True
        self.sim.trace.app(self.env.now, self.host.name, self.name, "result", self.results())

    def main(self) -> Generator[simpy.Event, Any, None]:
        raise NotImplementedError

    def results(self) -> dict[str, Any]:
        raise NotImplementedError

    def say(self, text: str) -> None:
        """Print a line of output: keep it and record it in the trace."""
        self.lines.append(text)
        self.sim.trace.app(self.env.now, self.host.name, self.name, "line", {"text": text})

    @property
    def output(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")


class Ping(App):
    """ICMP echo, like Linux iputils ``ping -c count -i interval [-t ttl] [-s size] [-W timeout]``.

    Requests go out every ``interval``; after the last one, ping waits for the
    missing answers for up to ``timeout`` seconds (iputils' linger time),
    and stops as soon as every request got a reply or an error.
    ``results()``: transmitted, received, errors, duplicates, loss_pct,
    rtt_min/avg/max/mdev in seconds (None when nothing came back), time
    (seconds from the first request to the end), and replies: a list of
    ``{seq, ttl, rtt}``.
    """

    def __init__(self, sim: Simulation, host: Host | str, dst: str, count: int = 4, interval: float = 1.0,
                 ttl: int | None = None, size: int = 56, timeout: float = 10.0, start: float = 0.0,
                 name: str = "ping") -> None:
        if count < 1:
            raise ValueError(f"ping: count must be >= 1, got {count}")
        if interval <= 0 or timeout < 0:
            raise ValueError(f"ping: interval must be > 0 and timeout >= 0, got {interval}, {timeout}")
        if size < 0 or size > 65507:
            raise ValueError(f"ping: size must be 0..65507, got {size}")
        if ttl is not None and not 1 <= ttl <= 255:
            raise ValueError(f"ping: ttl must be 1..255, got {ttl}")
        self.dst = dst
        self.count = count
        self.interval = interval
        self.ttl = ttl
        self.size = size
        self.timeout = timeout
        self.transmitted = 0
        self.received = 0
        self.errors = 0
        self.duplicates = 0
        self.replies: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self._sent_at: dict[int, float] = {}
        self._answered: set[int] = set()
        self._all_answered: simpy.Event | None = None
        super().__init__(sim, host, name, start)
        self.ident = self.host.new_echo_ident()
        self.host.echo_listeners[self.ident] = self._on_icmp

    def main(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        self.say(f"PING {self.dst} ({self.dst}) {self.size}({self.size + 28}) bytes of data.")
        first = env.now
        for seq in range(1, self.count + 1):
            self._sent_at[seq] = env.now
            self.transmitted += 1
            req = ICMPMessage(ICMP_ECHO_REQUEST, 0, self.ident, seq, self.size, sent_at=env.now)
            self.host.ip_send(self.dst, IPPROTO_ICMP, req, ttl=self.ttl)
            if seq < self.count:
                yield env.timeout(self.interval)
        if not self._done():
            self._all_answered = env.event()
            yield self._all_answered | env.timeout(self.timeout)
        self.elapsed = env.now - first
        self.host.echo_listeners.pop(self.ident, None)
        self._summary()

    def _done(self) -> bool:
        return self.transmitted >= self.count and self.received + self.errors >= self.count

    def _on_icmp(self, pkt: IPPacket, icmp: ICMPMessage) -> None:
        now = self.env.now
        if icmp.type == ICMP_ECHO_REPLY:
            seq = icmp.seqno
            sent = self._sent_at.get(seq)
            if sent is None:
                return
            rtt = now - sent
            line = f"{8 + icmp.payload_len} bytes from {pkt.src}: icmp_seq={seq} ttl={pkt.ttl} time={format_ping_time(rtt)} ms"
            if seq in self._answered:
                self.duplicates += 1
                self.say(line + " (DUP!)")
                return
            self._answered.add(seq)
            self.received += 1
            self.replies.append({"seq": seq, "ttl": pkt.ttl, "rtt": rtt})
            self.say(line)
        else:
            quoted = icmp.quoted
            q = quoted.payload if quoted is not None else None
            if not isinstance(q, ICMPMessage) or q.seqno not in self._sent_at:
                return
            self.errors += 1
            text = _PING_ERRORS.get((icmp.type, icmp.code), f"Bad ICMP type {icmp.type} code {icmp.code}")
            self.say(f"From {pkt.src} icmp_seq={q.seqno} {text}")
        ev = self._all_answered
        if ev is not None and not ev.triggered and self._done():
            ev.succeed()

    def _rtt_stats(self) -> tuple[float, float, float, float] | None:
        rtts = [r["rtt"] for r in self.replies]
        if not rtts:
            return None
        n = len(rtts)
        avg = sum(rtts) / n
        mdev = math.sqrt(max(sum(r * r for r in rtts) / n - avg * avg, 0.0))
        return min(rtts), avg, max(rtts), mdev

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.transmitted - self.received) / self.transmitted if self.transmitted else 0.0

    def _summary(self) -> None:
        self.say(f"--- {self.dst} ping statistics ---")
        text = f"{self.transmitted} packets transmitted, {self.received} received"
        if self.duplicates:
            text += f", +{self.duplicates} duplicates"
        if self.errors:
            text += f", +{self.errors} errors"
        text += f", {self.loss_pct:g}% packet loss, time {round(self.elapsed * 1000)}ms"
        self.say(text)
        stats = self._rtt_stats()
        if stats is not None:
            self.say("rtt min/avg/max/mdev = " + "/".join(f"{v * 1000:.3f}" for v in stats) + " ms")

    def results(self) -> dict[str, Any]:
        stats = self._rtt_stats()
        mn, avg, mx, mdev = stats if stats is not None else (None, None, None, None)
        return {
            "dst": self.dst, "transmitted": self.transmitted, "received": self.received,
            "errors": self.errors, "duplicates": self.duplicates, "loss_pct": self.loss_pct,
            "rtt_min": mn, "rtt_avg": avg, "rtt_max": mx, "rtt_mdev": mdev,
            "time": self.elapsed, "replies": list(self.replies),
        }


class Traceroute(App):
    """``traceroute -I -n``: ICMP echo probes with TTL 1, 2, ..., ``probes`` per hop, one at a time.

    Each probe waits for its answer (Time Exceeded from a router, Echo Reply
    from the destination, or Destination Unreachable) or ``wait`` seconds,
    then the next probe goes. The trace stops after the hop where the
    destination answered or an unreachable came back (annotated ``!N``,
    ``!H``, ...). ``results()``: dst, reached, and hops: a list of ``{ttl,
    addresses, rtts}`` with one entry per probe (None for ``*``).
    """

    PACKET_SIZE = 60   # traceroute -I default: 20 IP + 8 ICMP + 32 data

    def __init__(self, sim: Simulation, host: Host | str, dst: str, max_hops: int = 30, probes: int = 3,
                 wait: float = 5.0, start: float = 0.0, name: str = "traceroute") -> None:
        if not 1 <= max_hops <= 255:
            raise ValueError(f"traceroute: max_hops must be 1..255, got {max_hops}")
        if probes < 1 or wait <= 0:
            raise ValueError(f"traceroute: probes must be >= 1 and wait > 0, got {probes}, {wait}")
        self.dst = dst
        self.max_hops = max_hops
        self.probes = probes
        self.wait = wait
        self.hops: list[dict[str, Any]] = []
        self.reached = False
        self._seq = 0
        self._pending_seq = -1
        self._answer: tuple[float, IPPacket, ICMPMessage] | None = None
        self._answered: simpy.Event | None = None
        super().__init__(sim, host, name, start)
        self.ident = self.host.new_echo_ident()
        self.host.echo_listeners[self.ident] = self._on_icmp

    def main(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        data = self.PACKET_SIZE - 28
        self.say(f"traceroute to {self.dst} ({self.dst}), {self.max_hops} hops max, {self.PACKET_SIZE} byte packets")
        for ttl in range(1, self.max_hops + 1):
            addresses: list[str | None] = []
            rtts: list[float | None] = []
            line = f"{ttl:2d} "
            last_addr: str | None = None
            final = False
            for _ in range(self.probes):
                self._seq += 1
                self._pending_seq = self._seq
                self._answer = None
                self._answered = env.event()
                sent = env.now
                probe = ICMPMessage(ICMP_ECHO_REQUEST, 0, self.ident, self._seq, data, sent_at=sent)
                self.host.ip_send(self.dst, IPPROTO_ICMP, probe, ttl=ttl)
                yield self._answered | env.timeout(self.wait)
                self._pending_seq = -1
                answer = self._answer
                if answer is None:
                    addresses.append(None)
                    rtts.append(None)
                    line += " *"
                    continue
                t, pkt, icmp = answer
                rtt = t - sent
                addresses.append(pkt.src)
                rtts.append(rtt)
                if pkt.src != last_addr:
                    line += f" {pkt.src}"
                    last_addr = pkt.src
                line += f"  {rtt * 1000:.3f} ms"
                if icmp.type == ICMP_ECHO_REPLY:
                    final = True
                    self.reached = True
                elif icmp.type == ICMP_DEST_UNREACH:
                    final = True
                    note = _TRACEROUTE_UNREACH.get(icmp.code, f"!<{icmp.code}>")
                    if note:
                        line += f" {note}"
                    elif pkt.src == self.dst:   # port unreachable from the target: arrived
                        self.reached = True
            self.hops.append({"ttl": ttl, "addresses": addresses, "rtts": rtts})
            self.say(line)
            if final:
                break
        self.host.echo_listeners.pop(self.ident, None)

    def _on_icmp(self, pkt: IPPacket, icmp: ICMPMessage) -> None:
        if icmp.type == ICMP_ECHO_REPLY:
            seq = icmp.seqno
        else:
            q = icmp.quoted.payload if icmp.quoted is not None else None
            if not isinstance(q, ICMPMessage):
                return
            seq = q.seqno
        if seq != self._pending_seq or self._answer is not None:
            return   # a late answer to an earlier probe: traceroute ignores it too
        self._answer = (self.env.now, pkt, icmp)
        if self._answered is not None and not self._answered.triggered:
            self._answered.succeed()

    def results(self) -> dict[str, Any]:
        return {"dst": self.dst, "reached": self.reached, "hops": [dict(h) for h in self.hops]}
