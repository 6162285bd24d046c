"""What a capture at one place would have seen, and Wireshark's TCP analysis of it.

Why this exists: a student who opens ``client.pcap`` in Wireshark sees
"[TCP Retransmission]", "[TCP Dup ACK 3#2]" and "[TCP ZeroWindow]". The same
labels appear on our figures, and they must mean the same thing, counted from
the trace alone. So this module does two things:

* ``host_capture`` / ``link_capture`` list the packets a capture taken on a
  host (its IP layer: what it sent, what reached it) or on a link (what was
  put on it, either way) would hold, in time order. ``pcap.py`` writes
  exactly these, so the counts below and tshark's read the same packets.
* ``tcp_analysis`` applies Wireshark's rules (epan/dissectors/packet-tcp.c,
  ``tcp_analyze_sequence_number``) to such a list, per direction:

  - a segment carrying data, SYN or FIN whose sequence number is below the
    highest one seen so far in its direction did not advance the sequence
    space: Wireshark labels it a retransmission, a fast retransmission, a
    spurious retransmission or (when it comes within one handshake RTT of the
    newest segment) out-of-order. In a capture at the sender all four are
    segments the sender sent again; ``retransmissions`` counts them all;
  - a keep-alive (at most one byte, one below the next sequence number) is
    not a retransmission;
  - a duplicate ACK carries no data and no SYN/FIN/RST, a non-zero window
    equal to the previous one in its direction, the next sequence number,
    and the same ack as the previous segment in its direction;
  - a zero window is a segment without SYN/FIN/RST advertising window 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tcpsim.trace.records import DROP, FWD, PKT, RECV, SEND
from tcpsim.wire.ip import IPPacket
from tcpsim.wire.segment import ACK, FIN, RST, SYN, Segment

__all__ = [
    "Captured", "host_capture", "link_capture", "TcpAnalysis", "tcp_analysis", "seq_lt",
    "hosts_in", "DirKey", "Flight", "flights", "packet_key",
]

_MOD = 1 << 32


def seq_lt(a: int, b: int) -> bool:
    """a < b in sequence space (RFC 9293 §3.4)."""
    return a != b and ((b - a) % _MOD) < (1 << 31)


@dataclass(frozen=True, slots=True)
class Captured:
    """One packet as a capture saw it. ``out``: it left the capture point (else it arrived)."""

    t: float
    pkt: IPPacket
    out: bool
    index: int  # position of the record in the trace


# Receive-path drops happen after the packet reached the node: a capture there sees it.
_ARRIVED_DROPS = frozenset({"checksum", "not-for-me", "noproto"})


def host_capture(records: Iterable[tuple[Any, ...]], host: str) -> list[Captured]:
    """The packets a capture on ``host`` holds: what it sent, what reached it (dropped there or not)."""
    out: list[Captured] = []
    arrived_suffix = "->" + host
    for i, r in enumerate(records):
        if r[1] != PKT or r[2] != host:
            continue
        ev = r[3]
        if ev == SEND:
            if r[5]:  # an empty "where" means it never left (no route, host down)
                out.append(Captured(r[0], r[4], True, i))
        elif ev == RECV or ev == DROP and r[6] in _ARRIVED_DROPS and (r[5] == "lo" or r[5].endswith(arrived_suffix)):
            out.append(Captured(r[0], r[4], False, i))
    return out


def link_capture(records: Iterable[tuple[Any, ...]], directions: Iterable[str]) -> list[Captured]:
    """The packets put on a link, either way, as a tap at each sending end sees them.

    ``directions`` are the link's direction names (``"a->b"``, ``"b->a"``).
    Packets the link then lost are in the capture, as they would be on a tap
    before the lossy medium; ``out`` is True for the ``a->b`` direction.
    """
    dirs = list(directions)
    first = dirs[0] if dirs else ""
    wanted = set(dirs)
    return [Captured(r[0], r[4], r[5] == first, i) for i, r in enumerate(records)
            if r[1] == PKT and r[3] in (SEND, FWD) and r[5] in wanted]


def hosts_in(records: Iterable[tuple[Any, ...]], *, routers: bool = True) -> list[str]:
    """Nodes that originated or received packets, in order of first appearance.

    ``routers=False`` leaves out nodes that forwarded anything (the trace
    does not say what a node is, but only routers forward).
    """
    seen: dict[str, None] = {}
    forwarders: set[str] = set()
    for r in records:
        if r[1] == PKT:
            if r[3] in (SEND, RECV):
                seen.setdefault(r[2], None)
            elif r[3] == FWD:
                forwarders.add(r[2])
    return [n for n in seen if routers or n not in forwarders]


DirKey = tuple[str, int, str, int]  # (src, sport, dst, dport)


@dataclass(slots=True)
class _Dir:
    nextseq: int | None = None
    lastack: int | None = None
    window: int | None = None
    dupacks: int = 0
    wscale: int | None = None
    syn_seq: int | None = None


@dataclass(slots=True)
class TcpAnalysis:
    """Counts and, per captured packet index, the labels Wireshark would give it."""

    retransmissions: int = 0
    dup_acks: int = 0
    zero_windows: int = 0
    keep_alives: int = 0
    labels: dict[int, list[str]] = field(default_factory=dict)
    per_direction: dict[DirKey, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"retransmissions": self.retransmissions, "dup_acks": self.dup_acks,
                "zero_windows": self.zero_windows, "keep_alives": self.keep_alives}


def tcp_analysis(capture: Iterable[Captured]) -> TcpAnalysis:
    """Wireshark's sequence analysis of a capture (see the module docstring)."""
    res = TcpAnalysis()
    dirs: dict[DirKey, _Dir] = {}
    for c in capture:
        seg = c.pkt.payload
        if not isinstance(seg, Segment) or c.pkt.corrupted:
            continue
        key: DirKey = (c.pkt.src, seg.sport, c.pkt.dst, seg.dport)
        rkey: DirKey = (c.pkt.dst, seg.dport, c.pkt.src, seg.sport)
        fwd = dirs.setdefault(key, _Dir())
        rev = dirs.setdefault(rkey, _Dir())
        flags = seg.flags
        seglen = len(seg.payload)
        seq, ack = seg.seq, seg.ack
        if flags & SYN:
            fwd.wscale = seg.wscale
            if fwd.syn_seq != seq:  # a SYN with a new ISN starts the direction afresh; the same one is a retransmission
                fwd.syn_seq = seq
                fwd.nextseq = None
        if flags & SYN:
            window = seg.window
        else:
            scale = fwd.wscale if fwd.wscale is not None and rev.wscale is not None else 0
            window = seg.window << scale
        labels: list[str] = []
        counts = res.per_direction.setdefault(key, {"retransmissions": 0, "dup_acks": 0, "zero_windows": 0})
        if window == 0 and not flags & (RST | FIN | SYN):
            labels.append("zero-window")
            res.zero_windows += 1
            counts["zero_windows"] += 1
        keep_alive = (seglen <= 1 and not flags & (FIN | SYN | RST) and fwd.nextseq is not None
                      and (fwd.nextseq - 1) % _MOD == seq)
        if keep_alive:
            labels.append("keep-alive")
            res.keep_alives += 1
        dup = (seglen == 0 and window != 0 and window == fwd.window and fwd.nextseq is not None
               and seq == fwd.nextseq and fwd.lastack is not None and ack == fwd.lastack
               and not flags & (SYN | FIN | RST) and not keep_alive)
        if dup:
            fwd.dupacks += 1
            labels.append(f"dup-ack#{fwd.dupacks}")
            res.dup_acks += 1
            counts["dup_acks"] += 1
        else:
            fwd.dupacks = 0
        if (seglen > 0 or flags & (SYN | FIN)) and not keep_alive and fwd.nextseq is not None \
                and seq_lt(seq, fwd.nextseq):
            labels.append("retransmission")
            res.retransmissions += 1
            counts["retransmissions"] += 1
        end = (seq + seglen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) % _MOD
        if not flags & RST and (fwd.nextseq is None or seq_lt(fwd.nextseq, end)):
            fwd.nextseq = end
        if flags & ACK:
            fwd.lastack = ack
        fwd.window = window
        if labels:
            res.labels[c.index] = labels
    return res


# -- flights: one packet from its origin to where it arrived or died ------------------------


@dataclass(slots=True)
class Flight:
    """A packet's journey: sent by ``origin`` at ``t_send``; where it arrived, where it died.

    ``arrivals`` are ``(t, node, ttl)`` of its ``recv`` records (more than one
    when a link duplicated it); ``hops`` are ``(t, router, ttl)`` of its
    ``fwd`` records; ``drop`` is ``(t, node, where, reason)``.
    """

    index: int
    t_send: float
    origin: str
    pkt: IPPacket
    arrivals: list[tuple[float, str, int]] = field(default_factory=list)
    hops: list[tuple[float, str, int]] = field(default_factory=list)
    drop: tuple[float, str, str, str] | None = None


def packet_key(pkt: IPPacket) -> tuple[Any, ...]:
    """What stays the same when a router copies a packet: addresses, IP id and the transport header."""
    p = pkt.payload
    if isinstance(p, Segment):
        return (pkt.src, pkt.dst, pkt.ident, p.sport, p.dport, p.seq, p.ack, p.flags)
    return (pkt.src, pkt.dst, pkt.ident, pkt.proto, getattr(p, "type", 0), getattr(p, "ident", 0),
            getattr(p, "seqno", 0))


def flights(records: Iterable[tuple[Any, ...]]) -> list[Flight]:
    """Every packet sent, matched with its forwards, arrivals and drop.

    Matching is by identity first (the in-memory trace hands the very same
    object to ``send`` and ``recv``), then by ``packet_key`` (a router's
    copy, or a trace read back from JSON): the latest flight with that key
    sent at or before the event.
    """
    out: list[Flight] = []
    by_id: dict[int, Flight] = {}
    by_key: dict[tuple[Any, ...], Flight] = {}
    for i, r in enumerate(records):
        if r[1] != PKT:
            continue
        t, _, node, ev, pkt, where, reason = r
        if ev == SEND:
            f = Flight(i, t, node, pkt)
            out.append(f)
            by_id[id(pkt)] = f
            by_key[packet_key(pkt)] = f
            continue
        found = by_id.get(id(pkt)) or by_key.get(packet_key(pkt))
        if found is None:
            if ev == DROP and not where:
                # Dropped before it was ever sent (no route, node down): a flight that never flew.
                out.append(Flight(i, t, node, pkt, drop=(t, node, where, reason)))
            continue
        f = found
        if ev == RECV:
            f.arrivals.append((t, node, pkt.ttl))
        elif ev == FWD:
            f.hops.append((t, node, pkt.ttl))
            by_id[id(pkt)] = f
        elif ev == DROP and f.drop is None:
            f.drop = (t, node, where, reason)
    return out
