"""Ladder (sequence) diagram: the textbook picture of packets crossing between hosts.

One vertical line per node, time running down. Every packet is one arrow
from the moment it left its origin to the moment it reached its destination,
so its slope *is* its delay: a queue that builds up shows as arrows getting
steeper. A packet that was lost is an arrow that stops with a cross, labelled
with the rule that dropped it (``loss``, ``queue``, ``ttl``...). Beside each
line, the TCP state of that node's connections is written where it changes.

Choices, and why:

* Columns are the nodes that sent or received packets (routers included when
  they originate packets, as in traceroute), ordered left to right by hop
  distance from the first sender, measured from TTLs: the picture follows the
  path.
* Labels give flags, seq, ack and length with relative sequence numbers
  (each direction's ISN is 0, as Wireshark and most textbooks show), e.g.
  ``SYN seq=0``, ``SYN,ACK seq=0 ack=1``; ``relative=False`` shows raw numbers.
* A long run is cut to a window: ``window=(t0, t1)`` or, by default, the first
  ``max_packets`` packets; the title says what was left out.
* Labels are placed along their arrow where they do not collide with another
  label; a label with no free spot is left out and counted in a footnote
  (zoom with a window to see it), since overlapping text helps nobody.

Tagged for tests: arrows ``gid="arrow|<n>"``, lost packets' crosses
``gid="drop|<n>"``, state notes ``gid="state|<node>|<STATE>"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from tcpsim.trace.analysis import Flight, flights, host_capture, tcp_analysis
from tcpsim.trace.records import STATE
from tcpsim.trace.tcpdump import format_icmp
from tcpsim.viz.style import PACKET_COLORS, TimeAxis, new_figure, state_color, text_color_on
from tcpsim.wire.ip import ICMPMessage
from tcpsim.wire.segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, Segment

__all__ = ["ladder_figure", "segment_label", "relative_bases", "column_order", "MAX_PACKETS"]

MAX_PACKETS = 60
_MOD = 1 << 32
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"), (URG, "URG"),
               (ECE, "ECE"), (CWR, "CWR"))


def relative_bases(fl: Sequence[Flight]) -> dict[tuple[str, int, str, int], int]:
    """Each TCP direction's ISN (the seq of its SYN), keyed by (src, sport, dst, dport)."""
    bases: dict[tuple[str, int, str, int], int] = {}
    for f in fl:
        seg = f.pkt.payload
        if isinstance(seg, Segment) and seg.flags & SYN:
            bases.setdefault((f.pkt.src, seg.sport, f.pkt.dst, seg.dport), seg.seq)
    return bases


def segment_label(f: Flight, bases: dict[tuple[str, int, str, int], int] | None = None) -> str:
    """``SYN,ACK seq=0 ack=1``, ``PSH,ACK seq=1 ack=1 len=100``, ``echo request id=1 seq=1``."""
    p = f.pkt.payload
    if isinstance(p, ICMPMessage):
        text = format_icmp(p)
        text = text.removeprefix("ICMP ").rsplit(", length", 1)[0]
        return text.replace(", id ", " id=").replace(", seq ", " seq=")
    assert isinstance(p, Segment)
    names = ",".join(n for bit, n in _FLAG_NAMES if p.flags & bit) or "none"
    seq, ack = p.seq, p.ack
    sack_base = 0
    if bases is not None:
        mine = bases.get((f.pkt.src, p.sport, f.pkt.dst, p.dport))
        peer = bases.get((f.pkt.dst, p.dport, f.pkt.src, p.sport))
        if mine is not None:
            seq = (seq - mine) % _MOD
        if peer is not None:
            ack = (ack - peer) % _MOD
            sack_base = peer
    text = f"{names} seq={seq}"
    if p.flags & ACK:
        text += f" ack={ack}"
    if p.payload:
        text += f" len={len(p.payload)}"
    if p.sack:
        text += " SACK " + ",".join(f"{(a - sack_base) % _MOD}-{(b - sack_base) % _MOD}" for a, b in p.sack)
    return text


def _kind(f: Flight, retrans: bool) -> str:
    p = f.pkt.payload
    if isinstance(p, ICMPMessage):
        return "icmp"
    assert isinstance(p, Segment)
    if retrans:
        return "retransmission"
    if p.flags & RST:
        return "rst"
    if p.flags & (SYN | FIN):
        return "syn-fin"
    return "data" if p.payload else "ack"


def column_order(fl: Sequence[Flight], forwarders: set[str]) -> list[str]:
    """Nodes that sent or received, ordered by hop distance from the first sender (from TTLs)."""
    nodes: dict[str, None] = {}
    for f in fl:
        nodes.setdefault(f.origin, None)
        for _, n, _ in f.arrivals:
            nodes.setdefault(n, None)
    if not nodes:
        return []
    ref = next(iter(nodes))
    dist: dict[str, float] = {ref: 0.0}
    for f in fl:
        if f.origin == ref:
            t0 = f.pkt.ttl
            for _, n, ttl in f.hops:
                dist[n] = min(dist.get(n, math.inf), t0 - ttl)
            for _, n, ttl in f.arrivals:
                d = t0 - ttl + (1.0 if n in forwarders else 0.5)
                dist[n] = min(dist.get(n, math.inf), d)
    for f in fl:
        if f.origin != ref and f.origin not in dist:
            for _, n, ttl in f.arrivals:
                if n == ref:
                    dist[f.origin] = (f.pkt.ttl - ttl) + (1.0 if f.origin in forwarders else 0.5)
    first = {n: i for i, n in enumerate(nodes)}
    return sorted(nodes, key=lambda n: (dist.get(n, math.inf), first[n]))


class _Placer:
    """Greedy label placement in display pixels: take the first candidate box that is free."""

    def __init__(self) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []

    def free(self, box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        return all(x1 <= a or x0 >= c or y1 <= b or y0 >= d for a, b, c, d in self.boxes)

    def take(self, box: tuple[float, float, float, float]) -> None:
        self.boxes.append(box)


def _text_box(cx: float, cy: float, text: str, fontsize: float, angle_deg: float, dpi: float
              ) -> tuple[float, float, float, float]:
    w = len(text) * fontsize * 0.56 * dpi / 72
    h = fontsize * 1.25 * dpi / 72
    a = math.radians(angle_deg)
    bw = abs(w * math.cos(a)) + abs(h * math.sin(a))
    bh = abs(w * math.sin(a)) + abs(h * math.cos(a))
    return (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)


def ladder_figure(records: Sequence[tuple[Any, ...]], *, nodes: Sequence[str] | None = None,
                  window: tuple[float, float] | None = None, max_packets: int = MAX_PACKETS,
                  relative: bool = True, title: str = "") -> Figure:
    """The ladder diagram of a run (see the module docstring)."""
    all_fl = flights(records)
    forwarders = {r[2] for r in records if r[1] == "pkt" and r[3] == "fwd"}
    bases = relative_bases(all_fl) if relative else None
    # Retransmissions, as the sender's own capture shows them.
    retrans: set[int] = set()
    for origin in {f.origin for f in all_fl}:
        labels = tcp_analysis(host_capture(records, origin)).labels
        retrans.update(i for i, ls in labels.items() if "retransmission" in ls)

    if window is not None:
        fl = [f for f in all_fl if window[0] <= f.t_send <= window[1]]
        note = f"packets sent {window[0]:g}\u2013{window[1]:g} s ({len(fl)} of {len(all_fl)})"
    else:
        fl = all_fl[:max_packets]
        note = "" if len(fl) == len(all_fl) else \
            f"first {len(fl)} of {len(all_fl)} packets (choose a time window to see others)"
    cols = list(nodes) if nodes is not None else column_order(fl, forwarders)
    fl = [f for f in fl if f.origin in cols]
    xcol = {n: float(i) for i, n in enumerate(cols)}

    states = [r for r in records if r[1] == STATE and r[2] in xcol]
    t_lo = fl[0].t_send if fl else (window[0] if window else 0.0)
    t_hi_candidates = [f.t_send for f in fl] + [a[0] for f in fl for a in f.arrivals] + \
        [f.drop[0] for f in fl if f.drop is not None]
    t_hi = max(t_hi_candidates) if t_hi_candidates else t_lo + 1.0
    if window is not None:
        t_lo, t_hi = window[0], min(window[1], t_hi) if fl else window[1]
    states = [r for r in states if t_lo <= r[0] <= t_hi]
    events = t_hi_candidates + [r[0] for r in states]
    busy = [(f.t_send, max([a[0] for a in f.arrivals] + ([f.drop[0]] if f.drop else []) + [f.t_send]))
            for f in fl]
    axis = TimeAxis(events, lo=t_lo, hi=t_hi, gap_fraction=0.15, busy=busy)

    ncols = max(len(cols), 2)
    width = min(22.0, 3.2 + 2.6 * ncols) if ncols > 2 else 9.5
    height = min(40.0, max(5.0, 1.8 + 0.32 * len(fl)))
    fig = new_figure(width, height)
    left, right = 1.55 / width, 1 - 1.55 / width
    bottom, top = 0.35 / height, 1 - 1.45 / height
    ax = fig.add_axes((left, bottom, right - left, top - bottom))
    ax.set_xlim(-0.25, (ncols - 1) + 0.25)
    span = axis.x_max or 1.0
    ax.set_ylim(span * 1.03, -span * 0.03)
    ax.set_xticks([])
    for spine in ("top", "right", "bottom"):
        ax.spines[spine].set_visible(False)
    axis.apply(ax.yaxis, target=max(4, int(height * 1.2)))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylabel(axis.label, fontsize=9)

    # Node lines and headers.
    addr: dict[str, str] = {}
    for f in all_fl:
        addr.setdefault(f.origin, f.pkt.src)
    for n, x in xcol.items():
        ax.axvline(x, color="#444444", linewidth=1.2, zorder=1)
        ax.text(x, -span * 0.035, f"{n}\n{addr.get(n, '')}", ha="center", va="bottom", fontsize=9,
                fontweight="bold", clip_on=False)
    for b in axis.breaks:
        ax.axhspan(b.x0, b.x1, color="#f4f4f4", zorder=0)
        ax.text((ncols - 1) / 2, (b.x0 + b.x1) / 2, f"\u2248 {axis.idle_text(b)} \u2248", ha="center",
                va="center", fontsize=7, color="#666666", zorder=2)

    fig.canvas.draw()  # fix the transforms so label angles and boxes are right in pixels
    to_px = ax.transData.transform
    placer = _Placer()
    dpi = fig.dpi
    fontsize = 7.0
    hidden = 0
    typical: dict[tuple[str, str], float] = {}
    for f in fl:
        for t, n, _ in f.arrivals:
            typical.setdefault((f.origin, n), t - f.t_send)

    def _dst_node(f: Flight) -> str | None:
        if f.arrivals:
            return f.arrivals[0][1]
        for n in cols:
            if n != f.origin and addr.get(n) == f.pkt.dst:
                return n
        return None

    # State notes first: they sit beside the lines and labels must avoid them.
    side_of = {n: (-1 if i == 0 else 1) for i, n in enumerate(cols)}
    conns_per_node: dict[str, set[str]] = {}
    for r in states:
        conns_per_node.setdefault(r[2], set()).add(r[3])
    for r in states:
        t, _, node, conn, _old, new, _cause, _rfc = r
        x = xcol[node]
        side = side_of[node]
        port = conn.partition(">")[0].rpartition(":")[2]
        text = new if len(conns_per_node[node]) == 1 else f":{port} {new}"
        px, py = to_px((x, axis(t)))
        px += side * 8
        w = len(text) * 7.5 * 0.6 * dpi / 72 + 6
        h = 7.5 * 1.5 * dpi / 72
        box = (px - w if side < 0 else px, py - h / 2, px if side < 0 else px + w, py + h / 2)
        for _ in range(12):
            if placer.free(box):
                break
            box = (box[0], box[1] - h, box[2], box[3] - h)
        placer.take(box)
        dx, dy = ax.transData.inverted().transform(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
        col = state_color(new)
        ax.text(dx, dy, text, ha="center", va="center", fontsize=7.5, color=text_color_on(col),
                bbox={"boxstyle": "round,pad=0.25", "facecolor": col, "edgecolor": "none"},
                gid=f"state|{node}|{new}", zorder=6)

    label_tasks: list[tuple[int, int, tuple[float, float], tuple[float, float], str, str]] = []
    for n_arrow, f in enumerate(fl):
        x0 = xcol[f.origin]
        y0 = axis(f.t_send)
        is_re = f.index in retrans
        kind = _kind(f, is_re)
        color = PACKET_COLORS[kind]
        label = segment_label(f, bases)
        if isinstance(f.pkt.payload, ICMPMessage) and f.arrivals and f.arrivals[0][2] != f.pkt.ttl:
            label += f" ttl {f.pkt.ttl}\u2192{f.arrivals[0][2]}"  # what the lesson of a ping is about
        if is_re:
            label = "[retransmission] " + label
        style: Any = (0, (4, 2)) if is_re else "solid"
        ends: list[tuple[float, float, bool]] = []  # (x, y, arrived)
        for t, n, _ in f.arrivals:
            if n in xcol and n != f.origin:
                ends.append((xcol[n], axis(t), True))
        if f.drop is not None and not f.arrivals:
            td, dnode, where, reason = f.drop
            dst = _dst_node(f)
            if dnode in xcol and dnode != f.origin:
                xd = xcol[dnode]
            else:
                xt = xcol.get(dst, x0 + (1 if x0 < (ncols - 1) / 2 else -1)) if dst is not None else \
                    x0 + (1 if x0 < (ncols - 1) / 2 else -1)
                full = typical.get((f.origin, dst or ""), 0.0)
                frac = (td - f.t_send) / full if full > 0 else 0.5
                frac = min(0.85, max(0.2, frac))
                xd = x0 + (xt - x0) * frac
            yd = axis(td)
            ends.append((xd, yd, False))
            ax.plot([xd], [yd], marker="x", markersize=9, markeredgewidth=2.4, color="#D55E00", zorder=7,
                    gid=f"drop|{n_arrow}")
            why = f"dropped: {reason}" + (f" ({where})" if where and where != "lo" else "")
            px, py = to_px((xd, yd))
            half = len(why) * 7 * 0.56 * dpi / 72 / 2 + 10
            for side, lift in ((1, 0), (-1, 0), (1, 12), (-1, 12), (1, -12), (-1, -12)):
                box = _text_box(px + side * half, py + lift, why, 7, 0, dpi)
                if placer.free(box):
                    placer.take(box)
                    ax.annotate(why, (xd, yd), xytext=(side * 8, lift * 72 / dpi), textcoords="offset points",
                                ha="left" if side > 0 else "right", va="center", fontsize=7, color="#D55E00",
                                zorder=7)
                    break
        for x1, y1, arrived in ends:
            if arrived:
                arrow = FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=9, color=color,
                                        linewidth=1.1, linestyle=style, shrinkA=0, shrinkB=0, zorder=4,
                                        gid=f"arrow|{n_arrow}")
                ax.add_patch(arrow)
            else:
                ax.add_line(Line2D([x0, x1], [y0, y1], color=color, linewidth=1.1, linestyle=style, zorder=4,
                                   gid=f"lost|{n_arrow}"))
        if not ends:
            continue
        # Labels are placed after every arrow is drawn, most telling first (see below).
        x1, y1, _ = ends[0]
        prio = {"syn-fin": 0, "rst": 0, "retransmission": 1, "icmp": 1, "data": 2, "ack": 3}[kind]
        label_tasks.append((prio, n_arrow, (x0, y0), (x1, y1), label, color if kind != "ack" else "#444444"))

    # SYN/FIN/RST first, then retransmissions, data, and pure ACKs last: when a burst leaves
    # no room for every label, the ones that tell the story keep theirs.
    for _prio, n_arrow, a0, a1, label, tcolor in sorted(label_tasks, key=lambda task: (task[0], task[1])):
        p0, p1 = to_px(a0), to_px(a1)
        ang = math.degrees(math.atan2(p1[1] - p0[1], p1[0] - p0[0]))
        if ang > 90:
            ang -= 180
        elif ang < -90:
            ang += 180
        placed = False
        nx, ny = -math.sin(math.radians(ang)), math.cos(math.radians(ang))
        for frac in (0.5, 0.38, 0.62, 0.26, 0.74, 0.85, 0.15, 0.92):
            for above in (1, -1):
                # Just above the line (or just below when above is taken).
                cx = p0[0] + (p1[0] - p0[0]) * frac + above * nx * 6
                cy = p0[1] + (p1[1] - p0[1]) * frac + above * ny * 6
                box = _text_box(cx, cy, label, fontsize, ang, dpi)
                if placer.free(box):
                    placer.take(box)
                    dx, dy = ax.transData.inverted().transform((cx, cy))
                    ax.text(dx, dy, label, rotation=ang, rotation_mode="anchor", ha="center", va="center",
                            fontsize=fontsize, color=tcolor, zorder=5, gid=f"label|{n_arrow}",
                            bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none",
                                  "alpha": 0.8})
                    placed = True
                    break
            if placed:
                break
        if not placed:
            hidden += 1

    heading = title or "Ladder diagram: every packet from its sender to its receiver"
    fig.suptitle(heading, fontsize=11, x=0.02, ha="left", y=1 - 0.12 / height)
    notes = [note] if note else []
    if hidden:
        notes.append(f"{hidden} labels hidden where they would overlap: choose a narrower time window")
    if relative and any(isinstance(f.pkt.payload, Segment) for f in fl):
        notes.append("relative sequence numbers (each side's ISN = 0)")
    if notes:
        fig.text(0.02, 1 - 0.42 / height, "; ".join(notes), fontsize=7.5, color="#555555", ha="left", va="top")
    legend_rows: tuple[tuple[str, str, Any], ...] = (
        ("syn-fin", "SYN / FIN", "solid"), ("data", "data", "solid"), ("ack", "pure ACK", "solid"),
        ("rst", "RST", "solid"), ("icmp", "ICMP", "solid"), ("retransmission", "retransmission", (0, (4, 2))))
    handles = [Line2D([], [], color=PACKET_COLORS[k], label=lbl, linestyle=ls) for k, lbl, ls in legend_rows
               if any(_kind(f, f.index in retrans) == k for f in fl)]
    if any(f.drop is not None and not f.arrivals for f in fl):
        handles.append(Line2D([], [], color="#D55E00", marker="x", linestyle="none", markersize=8,
                              markeredgewidth=2, label="lost (dropped)"))
    if handles:
        fig.legend(handles=handles, loc="upper left", ncol=len(handles), fontsize=7.5, frameon=False,
                   bbox_to_anchor=(0.01, 1 - 0.5 / height))
    return fig
