"""State timeline: one lane per connection endpoint, coloured by state, with events marked on it.

What a student should read off it: who opened, who closed first (the side
that ends in TIME_WAIT), how long each side sat in each state, and where a
drop, a retransmission, a reset or a timer changed the story. Lanes are
grouped by host, listeners first; a lane starts at the endpoint's first state
and stops when it is gone (CLOSED is not drawn: it is the absence of a
connection). With more lanes than fit (a flood, a busy server), the figure
becomes state counts per host instead, which is what stays readable.

Figure content is tagged for tests and for anyone scripting over the SVG:
every state bar has ``gid="span|<lane>|<STATE>"`` and every marker
collection ``gid="mark|<kind>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tcpsim.trace.analysis import flights, host_capture, tcp_analysis
from tcpsim.trace.netstat import STATE_ORDER, Endpoint, endpoints
from tcpsim.trace.records import PKT, STATE, TIMER
from tcpsim.viz.style import MARKERS, TimeAxis, new_figure, state_color, text_color_on
from tcpsim.wire.segment import RST, Segment

__all__ = ["timeline_figure", "lane_order", "MAX_LANES"]

MAX_LANES = 40


def lane_order(eps: Sequence[Endpoint]) -> list[Endpoint]:
    """Hosts in order of first appearance; within a host, listeners first, then by start time."""
    first: dict[str, int] = {}
    for i, ep in enumerate(eps):
        first.setdefault(ep.node, i)
    return sorted(eps, key=lambda e: (first[e.node], not e.listener, e.start))


class _Lanes:
    """Find the lane of (node, local, remote) alive at time t."""

    def __init__(self, lanes: Sequence[Endpoint]) -> None:
        self._by: dict[tuple[str, str, str], list[tuple[int, Endpoint]]] = {}
        for i, ep in enumerate(lanes):
            self._by.setdefault((ep.node, ep.local, ep.remote), []).append((i, ep))

    def find(self, node: str, local: str, remote: str, t: float) -> int | None:
        cands = self._by.get((node, local, remote))
        if not cands:
            return None
        best: int | None = None
        for i, ep in cands:
            if ep.start <= t + 1e-12:
                best = i
                if ep.ended is None or t <= ep.ended + 1e-12:
                    return i
        return best


def _markers(records: Sequence[tuple[Any, ...]], lanes: Sequence[Endpoint]) -> dict[str, list[tuple[float, int]]]:
    """Per marker kind, the (time, lane) points."""
    find = _Lanes(lanes).find
    marks: dict[str, list[tuple[float, int]]] = {}
    nodes = {ep.node for ep in lanes}

    def add(kind: str, t: float, lane: int | None) -> None:
        if lane is not None:
            marks.setdefault(kind, []).append((t, lane))

    for r in records:
        if r[1] == TIMER and r[4] in MARKERS:
            t, _, node, conn, kind = r
            local, _, remote = conn.partition(">")
            add(kind, t, find(node, local, remote, t))
        elif r[1] == PKT and r[2] in nodes:
            seg = r[4].payload
            if isinstance(seg, Segment) and seg.flags & RST:
                pkt = r[4]
                if r[3] == "send":
                    add("rst-sent", r[0], find(r[2], f"{pkt.src}:{seg.sport}", f"{pkt.dst}:{seg.dport}", r[0]))
                elif r[3] == "recv":
                    add("rst-received", r[0], find(r[2], f"{pkt.dst}:{seg.dport}", f"{pkt.src}:{seg.sport}", r[0]))
    for f in flights(records):
        seg = f.pkt.payload
        if f.drop is not None and isinstance(seg, Segment) and f.origin in nodes:
            add("drop", f.drop[0], find(f.origin, f"{f.pkt.src}:{seg.sport}", f"{f.pkt.dst}:{seg.dport}", f.t_send))
    for node in sorted(nodes):
        cap = host_capture(records, node)
        labels = tcp_analysis(cap).labels
        for c in cap:
            seg = c.pkt.payload
            if c.out and isinstance(seg, Segment) and "retransmission" in labels.get(c.index, ()):
                add("retransmission", c.t, find(node, f"{c.pkt.src}:{seg.sport}", f"{c.pkt.dst}:{seg.dport}", c.t))
    return marks


def timeline_figure(records: Sequence[tuple[Any, ...]], *, eps: list[Endpoint] | None = None,
                    max_lanes: int = MAX_LANES, t_end: float | None = None, title: str = "") -> Figure:
    """The state timeline of a run (see the module docstring)."""
    eps = endpoints(records) if eps is None else eps
    if len(eps) > max_lanes:
        from tcpsim.viz.counts import counts_figure

        return counts_figure(records, eps=eps, title=(title + ": " if title else "")
                             + f"{len(eps)} connection endpoints, too many for one lane each: state counts")
    lanes = lane_order(eps)
    times = [r[0] for r in records if r[1] in (STATE, TIMER, PKT)]
    # The axis ends just after the last thing that happened, not at the run's end: a
    # listener idling for another minute says nothing. Spans still open are drawn to the edge.
    lo = min(times) if times else 0.0
    last = max(times) if times else (t_end if t_end is not None else 1.0)
    axis = TimeAxis(times, lo=lo, hi=last)
    end = axis.hi + (axis.visible * 0.03)
    height = 2.3 + 0.42 * max(1, len(lanes))
    fig = new_figure(11, height)
    bottom, top = 1.25 / height, 1 - 0.8 / height  # room for the legend below, break notes above
    ax = fig.add_axes((0.30, bottom, 0.68, top - bottom))
    ax.set_xlim(-0.01 * axis.x_max, axis(end))
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    states_seen: dict[str, None] = {}
    px_per_x = ax.get_position().width * fig.get_figwidth() * fig.dpi / (axis.x_max * 1.02 or 1)
    for i, ep in enumerate(lanes):
        for s in ep.spans:
            x0 = axis(s.start)
            x1 = axis(s.end if s.end is not None else end)
            color = state_color(s.state)
            states_seen.setdefault(s.state, None)
            ax.broken_barh([(x0, max(x1 - x0, axis.x_max * 0.002))], (i - 0.36, 0.72), facecolors=color,
                           edgecolor="white", linewidth=0.5, gid=f"span|{i}|{s.state}")
            x1v = min(x1, axis.visible_end(x0))
            width_px = (x1v - x0) * px_per_x
            if width_px > 6.2 * len(s.state) + 6:
                # The name sits in the bar's upper half; markers go in the lower half.
                ax.text((x0 + x1v) / 2, i - 0.17, s.state, ha="center", va="center", fontsize=7,
                        color=text_color_on(color), clip_on=True)
    for b in axis.breaks:
        ax.axvspan(b.x0, b.x1, color="white", zorder=3)
        for x in (b.x0, b.x1):
            ax.axvline(x, color="#555555", linestyle=(0, (2, 2)), linewidth=0.8, zorder=4)
        ax.text((b.x0 + b.x1) / 2, -0.5, "//\n" + axis.idle_text(b), ha="center", va="bottom", fontsize=7,
                color="#555555", zorder=5)
    marks = _markers(records, lanes)
    handles: list[Any] = [Patch(facecolor=state_color(s), edgecolor="none", label=s)
                          for s in STATE_ORDER if s in states_seen]
    for kind, style in MARKERS.items():
        pts = marks.get(kind)
        if not pts:
            continue
        kw = {k: v for k, v in style.items() if k != "label"}
        coll = ax.scatter([axis(t) for t, _ in pts], [lane + 0.14 for _, lane in pts], zorder=6,
                          label=f"{style['label']} ({len(pts)})", gid=f"mark|{kind}", **kw)  # type: ignore[arg-type]
        handles.append(coll)
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([ep.label() for ep in lanes], fontsize=8)
    # A thin rule between hosts.
    for i in range(1, len(lanes)):
        if lanes[i].node != lanes[i - 1].node:
            ax.axhline(i - 0.5, color="#888888", linewidth=0.6)
    axis.apply(ax.xaxis)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(axis.label, fontsize=9)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.suptitle(title or "TCP state of every connection endpoint over time", fontsize=11, x=0.02, ha="left")
    if not lanes:
        ax.text(axis.x_max / 2, 0, "no TCP connections in this trace (trace level 'states' or higher needed)",
                ha="center", va="center", fontsize=10, color="#555555")
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=7.5, frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
    return fig
