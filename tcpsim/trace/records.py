"""The trace: records stamped with simulated time.

Records are kept in memory as tuples (cheap to append on the hot path) and
turned into JSON objects only when written. Each record kind has a fixed
tuple layout, documented next to the method that appends it, and a matching
JSON form (see ``to_json``). Packet records keep a reference to the packet
object itself; packets are never mutated after they are sent, so the record
stays true.

Levels decide what is kept (DESIGN.md §4):

* ``counters``: nothing but counters (``Trace.counters``), the peak number
  of sockets in each state per host (``Trace.peaks``) and state-count samples
  every ``count_interval`` simulated seconds (``Trace.count_samples``);
* ``states``: plus state changes, timer expiries and app results;
* ``packets``: plus every packet event (the default);
* ``full``: plus TCB samples (cwnd, srtt, rto, ...).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from typing import IO, Any, ClassVar

from tcpsim.wire.ip import IPPROTO_TCP, ICMPMessage, IPPacket
from tcpsim.wire.segment import Segment, flags_text


class Level(IntEnum):
    COUNTERS = 0
    STATES = 1
    PACKETS = 2
    FULL = 3

    @classmethod
    def parse(cls, text: str) -> Level:
        return cls[text.upper()]


# Record kinds (the second element of every record tuple).
PKT = "pkt"        # (t, PKT, node, event, pkt, where, reason)
STATE = "state"    # (t, STATE, node, conn, old, new, cause, rfc)
TIMER = "timer"    # (t, TIMER, node, conn, kind)
APP = "app"        # (t, APP, node, app, what, detail)
SAMPLE = "sample"  # (t, SAMPLE, node, conn, values-dict)
NODE = "node"      # (t, NODE, node, event, detail)   crash / reboot / link up / down
COUNTS = "counts"  # (t, COUNTS, node, counts)  sockets per state at t, ``counts[i]`` for COUNT_STATES[i]

# The states counted by the state-count samples, in netstat's order (CLOSED is not a socket).
COUNT_STATES = ("LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
                "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT")
_COUNT_INDEX = {s: i for i, s in enumerate(COUNT_STATES)}

# Packet events.
SEND = "send"      # left a host or router (originated there)
FWD = "fwd"        # forwarded by a router
RECV = "recv"      # delivered to a host's IP layer
DROP = "drop"      # dropped; ``reason`` names why (queue, loss, corrupt, ttl, noroute, link-down, ...)


class Trace:
    """The record stream of one run, plus counters kept at every level.

    ``counters`` is keyed by ``(node, name)`` and is always maintained, so
    summaries and sweeps work at the cheapest level.
    """

    __slots__ = ("level", "records", "counters", "keep_packets", "keep_states", "keep_samples", "keep_queues",
                 "state_hooks",
                 "count_interval", "count_samples", "peaks", "_live", "_next_count", "max_count_samples")

    #: Callbacks every new Trace starts with in ``state_hooks``. Lets a caller that does
    #: not build the Simulation itself (the CLI's ``run --explain``) watch a run live;
    #: see ``tcpsim.trace.narrate.watching``.
    default_state_hooks: ClassVar[list[Callable[[tuple[Any, ...]], None]]] = []

    def __init__(self, level: Level = Level.PACKETS) -> None:
        self.level = level
        # Called with each STATE record as it is made, at every level (live narration).
        # Zero cost when empty: one truth test per state change, none per packet.
        self.state_hooks: list[Callable[[tuple[Any, ...]], None]] = list(Trace.default_state_hooks)
        self.records: list[tuple[Any, ...]] = []
        self.counters: Counter[tuple[str, str]] = Counter()
        self.keep_states = level >= Level.STATES
        self.keep_packets = level >= Level.PACKETS
        self.keep_samples = level >= Level.FULL
        # Queue samples (SAMPLE records with recv_q / send_q for a connection, syn_queue /
        # accept_queue for a listener, written when they change): at ``full``, or when asked
        # for (a scenario's queue expectations), since they cost a comparison per TCP event.
        self.keep_queues = self.keep_samples
        # State counts, kept at every level: per node, sockets in each COUNT_STATES state now,
        # and the most there ever were; sampled every ``count_interval`` seconds into
        # ``count_samples`` (COUNTS records). Sampling rides on state changes (no timer of its
        # own): a change at ``t`` first emits every sample due before ``t``.
        self.count_interval = 1.0
        self.count_samples: list[tuple[Any, ...]] = []
        self.peaks: dict[str, list[int]] = {}
        self._live: dict[str, list[int]] = {}
        self._next_count = 0  # index k of the next sample, at k * count_interval
        # Long runs stay bounded: past this many samples the interval doubles and every
        # other sample goes (so a simulated day at 1 s ends at 32 or 64 s per sample).
        self.max_count_samples = 4096

    # -- writers (called by the adapters only) ---------------------------------

    def packet(self, t: float, node: str, event: str, pkt: IPPacket, where: str = "", reason: str = "") -> None:
        """A packet event at ``node``. ``where`` names the link or interface."""
        if event == DROP:
            self.counters[(node, "drop:" + reason)] += 1
        else:
            self.counters[(node, event)] += 1
        if self.keep_packets:
            self.records.append((t, PKT, node, event, pkt, where, reason))

    def state(self, t: float, node: str, conn: str, old: str, new: str, cause: str, rfc: str = "") -> None:
        """A TCP state change of connection ``conn`` (``local>remote``) on ``node``."""
        if t > self._next_count * self.count_interval:
            self.sample_counts(t, inclusive=False)
        live = self._live.get(node)
        if live is None:
            live = self._live[node] = [0] * len(COUNT_STATES)
            self.peaks[node] = [0] * len(COUNT_STATES)
        # A listener's child starts from LISTEN (and may fall back to it): only a
        # listener itself (``...>0.0.0.0:*``) counts as LISTEN.
        listener = conn.endswith("*")
        i = _COUNT_INDEX.get(old)
        if i is not None and (listener or old != "LISTEN") and live[i] > 0:
            live[i] -= 1
        i = _COUNT_INDEX.get(new)
        if i is not None and (listener or new != "LISTEN"):
            n = live[i] = live[i] + 1
            peaks = self.peaks[node]
            if n > peaks[i]:
                peaks[i] = n
        if self.keep_states:
            self.records.append((t, STATE, node, conn, old, new, cause, rfc))
        if self.state_hooks:
            rec = (t, STATE, node, conn, old, new, cause, rfc)
            for hook in self.state_hooks:
                hook(rec)

    def timer(self, t: float, node: str, conn: str, kind: str) -> None:
        """A timer of ``kind`` expired (and acted) on connection ``conn``."""
        self.counters[(node, "timer:" + kind)] += 1
        if self.keep_states:
            self.records.append((t, TIMER, node, conn, kind))

    def app(self, t: float, node: str, app: str, what: str, detail: dict[str, Any] | None = None) -> None:
        """Something an application did or saw (a call and its result, a line of output)."""
        if self.keep_states:
            self.records.append((t, APP, node, app, what, detail or {}))

    def sample(self, t: float, node: str, conn: str, values: dict[str, Any]) -> None:
        if self.keep_samples:
            self.records.append((t, SAMPLE, node, conn, values))

    def queues(self, t: float, node: str, conn: str, values: dict[str, Any]) -> None:
        """Queue lengths of a connection or listener that changed (see ``keep_queues``)."""
        self.records.append((t, SAMPLE, node, conn, values))

    def node_event(self, t: float, node: str, event: str, detail: str = "") -> None:
        """A node-level event: crash, reboot, link down or up."""
        self.records.append((t, NODE, node, event, detail))

    def count(self, node: str, name: str, n: int = 1) -> None:
        self.counters[(node, name)] += n

    def sample_counts(self, until: float, inclusive: bool = True) -> None:
        """Emit the state-count samples due before ``until`` (and at it, if ``inclusive``: the
        end of a run). A sample at ``t`` counts every change made at or before ``t``."""
        iv = self.count_interval
        k = self._next_count
        out = self.count_samples
        snaps = {node: tuple(counts) for node, counts in self._live.items()}  # one tuple per node, shared
        while k * iv < until or (inclusive and k * iv == until):
            t = k * iv
            for node, snap in snaps.items():
                out.append((t, COUNTS, node, snap))
            k += 1
        self._next_count = k
        while len(self.count_samples) > self.max_count_samples:
            self._coarsen()

    def _coarsen(self) -> None:
        iv = self.count_interval
        self.count_samples = [r for r in self.count_samples if round(r[0] / iv) % 2 == 0]
        self.count_interval = iv * 2
        self._next_count = (self._next_count + 1) // 2

    def state_now(self, node: str) -> dict[str, int]:
        """Sockets of ``node`` in each state right now (states with none left out)."""
        live = self._live.get(node, [])
        return {s: n for s, n in zip(COUNT_STATES, live, strict=False) if n}

    def peak(self, node: str) -> dict[str, int]:
        """The most sockets ``node`` ever had in each state (states never entered left out)."""
        peaks = self.peaks.get(node, [])
        return {s: n for s, n in zip(COUNT_STATES, peaks, strict=False) if n}

    # -- readers ---------------------------------------------------------------

    def of_kind(self, kind: str) -> Iterator[tuple[Any, ...]]:
        return (r for r in self.records if r[1] == kind)

    def packets(self, event: str | None = None, node: str | None = None) -> Iterator[tuple[Any, ...]]:
        for r in self.records:
            if r[1] == PKT and (event is None or r[3] == event) and (node is None or r[2] == node):
                yield r

    def write_jsonl(self, fp: IO[str]) -> None:
        for r in self.records:
            fp.write(json.dumps(to_json(r), separators=(",", ":")))
            fp.write("\n")
        # The state-count samples come last, in time order among themselves.
        for r in self.count_samples:
            fp.write(json.dumps(to_json(r), separators=(",", ":")))
            fp.write("\n")


def packet_json(pkt: IPPacket) -> dict[str, Any]:
    d: dict[str, Any] = {"src": pkt.src, "dst": pkt.dst, "ttl": pkt.ttl, "id": pkt.ident, "size": pkt.size}
    p = pkt.payload
    if isinstance(p, Segment):
        d["proto"] = "tcp"
        d["sport"] = p.sport
        d["dport"] = p.dport
        d["flags"] = flags_text(p.flags)
        d["seq"] = p.seq
        d["ack"] = p.ack
        d["win"] = p.window
        d["len"] = len(p.payload)
        opts: dict[str, Any] = {}
        if p.mss is not None:
            opts["mss"] = p.mss
        if p.wscale is not None:
            opts["wscale"] = p.wscale
        if p.sack_ok:
            opts["sackOK"] = True
        if p.ts_val is not None:
            opts["ts"] = [p.ts_val, p.ts_ecr or 0]
        if p.sack:
            opts["sack"] = [list(b) for b in p.sack]
        if opts:
            d["opts"] = opts
    elif isinstance(p, ICMPMessage):
        d["proto"] = "icmp"
        d["type"] = p.type
        d["code"] = p.code
        if p.quoted is not None:
            d["quoted"] = packet_json(p.quoted)
        else:
            d["icmp_id"] = p.ident
            d["icmp_seq"] = p.seqno
    else:  # pragma: no cover - only TCP and ICMP travel
        d["proto"] = pkt.proto
    if pkt.corrupted:
        d["corrupted"] = True
    return d


def to_json(r: tuple[Any, ...]) -> dict[str, Any]:
    kind = r[1]
    if kind == PKT:
        d: dict[str, Any] = {"t": r[0], "kind": PKT, "node": r[2], "ev": r[3], "pkt": packet_json(r[4])}
        if r[5]:
            d["where"] = r[5]
        if r[6]:
            d["reason"] = r[6]
        return d
    if kind == STATE:
        return {"t": r[0], "kind": STATE, "node": r[2], "conn": r[3], "from": r[4], "to": r[5], "cause": r[6], "rfc": r[7]}
    if kind == TIMER:
        return {"t": r[0], "kind": TIMER, "node": r[2], "conn": r[3], "timer": r[4]}
    if kind == APP:
        return {"t": r[0], "kind": APP, "node": r[2], "app": r[3], "what": r[4], "detail": r[5]}
    if kind == SAMPLE:
        return {"t": r[0], "kind": SAMPLE, "node": r[2], "conn": r[3], **r[4]}
    if kind == NODE:
        return {"t": r[0], "kind": NODE, "node": r[2], "event": r[3], "detail": r[4]}
    if kind == COUNTS:
        return {"t": r[0], "kind": COUNTS, "node": r[2],
                "counts": {s: n for s, n in zip(COUNT_STATES, r[3], strict=True) if n}}
    raise ValueError(f"unknown record kind {kind!r}")


def read_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        line = line.strip()
        if line:
            yield json.loads(line)


def is_tcp(pkt: IPPacket) -> bool:
    return pkt.proto == IPPROTO_TCP
