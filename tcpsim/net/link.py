"""Links: two independent one-way pipes with a drop-tail queue and netem-like impairments.

Why it looks like this
----------------------
A link direction is the hot path of the whole simulator: every packet of every
connection crosses several of them. So a direction never starts a SimPy process
and never sleeps. It models its drop-tail queue *analytically*: it keeps the
departure (end-of-serialization) times of the packets still queued or on the
wire's transmitter, and on each arrival it

1. drops the packet if the link is down ("link-down") or the packet is larger
   than the MTU ("mtu");
2. draws its random impairments on entry (loss, Gilbert-Elliott burst loss,
   duplication) from the direction's own seeded RNG;
3. tail-drops it if the queue is full ("queue"), else computes its departure
   time ``max(now, last departure) + size * 8 / bandwidth``;
4. schedules exactly ONE wake-up, at departure + propagation delay
   (+ jitter, + a reordering hold), pushed straight onto SimPy's event queue
   (``sched.py``), whose callback hands the packet to the far node.

Random draws happen in a fixed order per packet (Gilbert-Elliott loss, its
state transition, independent loss, duplication; then per copy sent:
corruption, jitter, reordering), and only for the impairments that are
enabled. Same parameters + same seed therefore give the same drops, and a
link with no impairments costs no draws at all.

The queue limit counts packets *waiting*, not the one being serialized, as
Linux's qdisc limit and ns-3's DropTailQueue do: with ``queue_packets=Q`` a
burst arriving at an idle link has ``Q + 1`` packets accepted.

Timing alone never reorders packets: a packet is delivered no earlier than
the one before it (so jitter, or a delay lowered mid-run, cannot overtake);
only ``reorder`` does, by holding a packet back without moving that mark.

Scheduled wake-ups cannot be cancelled, so each direction has an epoch
counter, bound into its delivery callback: taking the link down (or crashing
the sending node) bumps the epoch, and a packet whose callback carries a stale
epoch is dropped when it would have arrived ("link-down", or "host-down" /
"router-down" for the node crash).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from heapq import heappush
from typing import TYPE_CHECKING, Any

from tcpsim.net.sched import NORMAL, Call
from tcpsim.trace.records import DROP
from tcpsim.wire.ip import IPPacket

if TYPE_CHECKING:
    from tcpsim.net.node import Node
    from tcpsim.net.sim import Simulation

__all__ = ["GilbertElliott", "LinkParams", "LinkDirection", "Link"]


def _check_prob(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def _check_nonneg(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
        raise ValueError(f"{name} must be a number >= 0 (seconds), got {value!r}")


@dataclass(frozen=True, slots=True)
class GilbertElliott:
    """Two-state burst-loss model (Gilbert 1960, Elliott 1963), as netem's ``loss gemodel``.

    Per packet: the packet is lost with ``loss_good`` or ``loss_bad`` depending
    on the current state, then the state moves good->bad with probability
    ``p`` or bad->good with probability ``r``. With the defaults
    (``loss_good=0``, ``loss_bad=1``) the long-run loss rate is ``p / (p + r)``
    and the mean burst length is ``1 / r`` packets.
    """

    p: float
    r: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self) -> None:
        _check_prob("gilbert.p", self.p)
        _check_prob("gilbert.r", self.r)
        _check_prob("gilbert.loss_good", self.loss_good)
        _check_prob("gilbert.loss_bad", self.loss_bad)

    @property
    def loss_rate(self) -> float:
        """The stationary loss probability (for checking a run against theory)."""
        if self.p + self.r == 0:
            return self.loss_good
        bad = self.p / (self.p + self.r)
        return bad * self.loss_bad + (1.0 - bad) * self.loss_good


@dataclass(frozen=True, slots=True)
class LinkParams:
    """Everything about one direction of a link. Frozen: change it with ``Link.set_params``.

    ``bandwidth`` is in bit/s (``None`` = infinite: no serialization delay and
    no queue). Times are seconds. ``reorder_delay=0`` means "2 * delay + 1 ms",
    long enough for the next packet to overtake the held one.
    """

    bandwidth: float | None = None
    delay: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    gilbert: GilbertElliott | None = None
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay: float = 0.0
    corrupt: float = 0.0
    queue_packets: int | None = 1000
    queue_bytes: int | None = None
    mtu: int = 1500

    def __post_init__(self) -> None:
        bw = self.bandwidth
        if bw is not None and (not isinstance(bw, (int, float)) or not bw > 0 or math.isinf(bw)):
            raise ValueError(f"bandwidth must be > 0 bit/s or None (infinite), got {bw!r}")
        _check_nonneg("delay", self.delay)
        _check_nonneg("jitter", self.jitter)
        _check_nonneg("reorder_delay", self.reorder_delay)
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            _check_prob(name, getattr(self, name))
        if self.gilbert is not None and not isinstance(self.gilbert, GilbertElliott):
            raise ValueError(f"gilbert must be a GilbertElliott or None, got {self.gilbert!r}")
        for name in ("queue_packets", "queue_bytes"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ValueError(f"{name} must be an int >= 0 or None (unlimited), got {v!r}")
        if not isinstance(self.mtu, int) or self.mtu < 68:
            raise ValueError(f"mtu must be an int >= 68 (RFC 791), got {self.mtu!r}")

    @property
    def effective_reorder_delay(self) -> float:
        return self.reorder_delay if self.reorder_delay > 0 else 2 * self.delay + 0.001


class LinkDirection:
    """One direction of a link (``src -> dst``): queue, serializer, impairments, wire.

    Counters: ``sent`` (packets offered), ``delivered`` (handed to ``dst``,
    duplicates included), ``duplicated``, ``corrupted``, ``reordered``, and
    ``dropped`` (a Counter by reason).
    """

    __slots__ = (
        "sim", "env", "link", "src", "dst", "src_addr", "dst_addr", "name", "rng", "params",
        "up", "epoch", "_stale_reason",
        "sent", "delivered", "duplicated", "corrupted", "reordered", "dropped",
        "_deps", "_sizes", "_qbytes", "_last_when", "_gilbert_bad",
        "_spb", "_delay", "_mtu", "_qp", "_qb", "_on_entry", "_on_copy",
        "_loss", "_gilbert", "_dup", "_corrupt", "_jitter", "_reorder", "_hold",
        "_rx", "_trace_packet", "_deliver_cbs", "_queue", "_eid",
    )

    def __init__(self, sim: Simulation, link: Link, src: Node, dst: Node,
                 src_addr: str, dst_addr: str, params: LinkParams) -> None:
        self.sim = sim
        self.env = sim.env
        self.link = link
        self.src = src
        self.dst = dst
        self.src_addr = src_addr
        self.dst_addr = dst_addr
        self.name = f"{src.name}->{dst.name}"
        self.rng = sim.rng(f"link:{link.name}:{src.name}->{dst.name}")
        self.up = True
        self.epoch = 0
        self._stale_reason: dict[int, str] = {}
        self.sent = 0
        self.delivered = 0
        self.duplicated = 0
        self.corrupted = 0
        self.reordered = 0
        self.dropped: Counter[str] = Counter()
        self._deps: deque[float] = deque()
        self._sizes: deque[int] = deque()
        self._qbytes = 0
        self._last_when = -math.inf
        self._gilbert_bad = False
        self._rx = dst.receive
        self._queue: list[Any] = sim.env._queue  # SimPy's event heap (see sched.py)
        self._eid = sim.env._eid
        self._trace_packet = sim.trace.packet
        self._deliver_cbs = self._make_deliver()
        self.params = params
        self._apply(params)

    def _apply(self, p: LinkParams) -> None:
        """Flatten the parameters into slots, so the per-packet path reads plain attributes."""
        self.params = p
        self._spb = None if p.bandwidth is None else 8.0 / p.bandwidth
        self._delay = p.delay
        self._mtu = p.mtu
        self._qp = p.queue_packets
        self._qb = p.queue_bytes
        self._loss = p.loss
        self._gilbert = p.gilbert
        self._dup = p.duplicate
        self._corrupt = p.corrupt
        self._jitter = p.jitter
        self._reorder = p.reorder
        self._hold = p.effective_reorder_delay
        self._on_entry = bool(p.loss or p.gilbert is not None or p.duplicate)
        self._on_copy = bool(p.corrupt or p.jitter or p.reorder)

    # -- the hot path ----------------------------------------------------------

    def send(self, pkt: IPPacket) -> None:
        """Offer ``pkt`` to this direction (called by the node that owns ``src``).

        One function on purpose: this runs once per packet per hop, and a
        Python call costs as much as several of the lines below.
        """
        if not self.up:
            self._drop(pkt, "link-down")
            return
        size = pkt.size
        if size > self._mtu:
            self._drop(pkt, "mtu")
            return
        self.sent += 1
        copies = 1
        if self._on_entry:
            rng = self.rng
            lost = False
            ge = self._gilbert
            if ge is not None:
                if self._gilbert_bad:
                    lost = rng.random() < ge.loss_bad
                    if rng.random() < ge.r:
                        self._gilbert_bad = False
                else:
                    lost = rng.random() < ge.loss_good
                    if rng.random() < ge.p:
                        self._gilbert_bad = True
            if self._loss and rng.random() < self._loss:
                lost = True
            if self._dup and rng.random() < self._dup and not lost:
                self.duplicated += 1
                copies = 2
            if lost:
                self._drop(pkt, "loss")
                return
        now = self.env._now  # the ``now`` property costs a call; this is the hot path
        while copies:
            copies -= 1
            spb = self._spb
            if spb is None:
                t = now + self._delay
            else:
                deps = self._deps
                sizes = self._sizes
                while deps and deps[0] <= now:
                    deps.popleft()
                    self._qbytes -= sizes.popleft()
                if deps:
                    # deps[0] is being serialized; the rest are waiting.
                    qp = self._qp
                    if qp is not None and len(deps) > qp:
                        self._drop(pkt, "queue")
                        continue
                    qb = self._qb
                    if qb is not None and self._qbytes - sizes[0] + size > qb:
                        self._drop(pkt, "queue")
                        continue
                    dep = deps[-1] + size * spb
                else:
                    dep = now + size * spb
                deps.append(dep)
                sizes.append(size)
                self._qbytes += size
                t = dep + self._delay
            out = pkt
            held = False
            if self._on_copy:
                rng = self.rng
                if self._corrupt and rng.random() < self._corrupt:
                    self.corrupted += 1
                    out = pkt.copy(corrupted=True)
                if self._jitter:
                    t += rng.random() * self._jitter
                if self._reorder and rng.random() < self._reorder:
                    held = True
            # Never let timing alone reorder packets (jitter, a shorter delay set
            # mid-run): arrive no earlier than the previous packet. Equal times
            # keep FIFO order (the event id breaks ties).
            if t < self._last_when:
                t = self._last_when
            if held:
                # The held packet does not move the watermark, so later packets overtake it.
                self.reordered += 1
                t += self._hold
            else:
                self._last_when = t
            # One wake-up per packet, pushed straight onto SimPy's queue (see sched.py).
            ev = Call.__new__(Call)
            ev.callbacks = self._deliver_cbs
            ev._ok = True
            ev._value = out
            heappush(self._queue, (t, NORMAL, next(self._eid), ev))

    def _make_deliver(self) -> tuple[Callable[[Call], None]]:
        """The delivery callback for packets sent in the current epoch.

        Binding the epoch into the callback (rather than carrying it with
        each packet) keeps the per-packet path free of a tuple.
        """
        epoch = self.epoch
        rx = self._rx

        def deliver(ev: Call) -> None:
            if self.epoch != epoch:
                self._drop(ev._value, self._stale_reason.get(epoch, "link-down"))
                return
            self.delivered += 1
            rx(ev._value, self)

        return (deliver,)

    def _drop(self, pkt: IPPacket, reason: str) -> None:
        self.dropped[reason] += 1
        self._trace_packet(self.env.now, self.src.name, DROP, pkt, self.name, reason)

    # -- control ---------------------------------------------------------------

    def flush(self, reason: str) -> None:
        """Lose everything queued or in flight: bump the epoch and empty the queue.

        ``reason`` is the drop reason recorded when each lost packet's delivery
        callback runs.
        """
        self._stale_reason[self.epoch] = reason
        self.epoch += 1
        self._deliver_cbs = self._make_deliver()
        self._deps.clear()
        self._sizes.clear()
        self._qbytes = 0
        self._last_when = -math.inf

    @property
    def queue_len(self) -> int:
        """Packets queued or being serialized right now."""
        now = self.env.now
        return sum(1 for t in self._deps if t > now)

    def __repr__(self) -> str:
        return f"<LinkDirection {self.name} {'up' if self.up else 'down'}>"


class Link:
    """A full-duplex link between two nodes: ``ab`` (a->b) and ``ba`` (b->a).

    ``addr_a``/``addr_b`` are the addresses of the two ends (a host's address,
    or the router's interface address on this link).
    """

    __slots__ = ("sim", "name", "a", "b", "addr_a", "addr_b", "ab", "ba", "up")

    def __init__(self, sim: Simulation, name: str, a: Node, b: Node, addr_a: str, addr_b: str,
                 ab: LinkParams, ba: LinkParams) -> None:
        self.sim = sim
        self.name = name
        self.a = a
        self.b = b
        self.addr_a = addr_a
        self.addr_b = addr_b
        self.up = True
        self.ab = LinkDirection(sim, self, a, b, addr_a, addr_b, ab)
        self.ba = LinkDirection(sim, self, b, a, addr_b, addr_a, ba)

    @property
    def directions(self) -> tuple[LinkDirection, LinkDirection]:
        return (self.ab, self.ba)

    def direction(self, spec: str | LinkDirection) -> LinkDirection:
        """The direction named ``"a->b"``, or whose source node is named ``spec``."""
        if isinstance(spec, LinkDirection):
            if spec.link is not self:
                raise ValueError(f"{spec.name} is not a direction of link {self.name}")
            return spec
        for d in (self.ab, self.ba):
            if spec == d.name or spec == d.src.name:
                return d
        raise ValueError(
            f"link {self.name} has no direction {spec!r} (use {self.ab.name!r}, {self.ba.name!r}, "
            f"{self.a.name!r}, {self.b.name!r} or 'both')"
        )

    def from_node(self, node: Node) -> LinkDirection:
        """The direction whose source is ``node``."""
        return self.ab if node is self.a else self.ba

    def other(self, node: Node) -> Node:
        return self.b if node is self.a else self.a

    def set_params(self, direction: str | LinkDirection | None = None, **changes: object) -> None:
        """Change parameters while running, for one direction or both (``None`` / ``"both"``).

        Packets already scheduled keep their timing; only later ones see the
        new values. Routes are not recomputed when ``delay`` changes: real
        routing protocols use configured costs, not measured delay (call
        ``Simulation.compute_routes`` to do it anyway).
        """
        if direction is None or direction == "both":
            dirs: tuple[LinkDirection, ...] = (self.ab, self.ba)
        else:
            dirs = (self.direction(direction),)
        try:
            new = [replace(d.params, **changes) for d in dirs]  # type: ignore[arg-type]
        except TypeError as e:
            raise ValueError(f"link {self.name}: bad parameter in {sorted(changes)}: {e}") from None
        for d, p in zip(dirs, new, strict=True):
            d._apply(p)

    def __repr__(self) -> str:
        return f"<Link {self.name} {'up' if self.up else 'down'}>"
