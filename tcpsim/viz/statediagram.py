"""The TCP state machine (RFC 9293 Figure 5), drawn from ``TRANSITIONS``, with this run's edges highlighted.

Why draw it from the table instead of shipping a picture: the table is what
the core enforces, so the diagram cannot show an edge the code cannot take,
and an edge added to the table appears here without anyone redrawing it.
The layout follows the RFC's figure (opening at the top, the active close on
the left, the passive close on the right); CLOSED is drawn twice, at the top
where connections start and at the bottom where they end, as the RFC does.

Edges the run took are thick, coloured, and carry their count; the others
stay thin and grey. A side list spells out each taken edge with its meaning,
because edge labels on the drawing itself would bury it. An edge the run took
that the table does not declare (a crash losing every TCB, say) is drawn
dashed, so it cannot pass unnoticed.

Tagged for tests: ``gid="edge|OLD|NEW"`` on every arrow (``|taken`` appended
when the run took it), ``gid="node|STATE"`` on every box.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from tcpsim.tcp.state import TRANSITIONS
from tcpsim.trace.records import STATE
from tcpsim.viz.style import new_figure, state_color, text_color_on

__all__ = ["state_diagram_figure", "edge_counts", "POSITIONS"]

# (x, y) of each box; "CLOSED" is the top one, "CLOSED*" the bottom one.
POSITIONS: dict[str, tuple[float, float]] = {
    "CLOSED": (1.0, 7.0),
    "LISTEN": (0.45, 6.0),
    "SYN_RECV": (0.0, 5.0),
    "SYN_SENT": (2.0, 5.0),
    "ESTABLISHED": (1.0, 4.0),
    "FIN_WAIT1": (0.0, 3.0),
    "CLOSE_WAIT": (2.0, 3.0),
    "FIN_WAIT2": (0.0, 1.6),
    "CLOSING": (1.0, 1.6),
    "LAST_ACK": (2.0, 1.6),
    "TIME_WAIT": (0.55, 0.4),
    "CLOSED*": (2.0, 0.4),
}
_TOP_ROW = {"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV"}


def edge_counts(records: Sequence[tuple[Any, ...]]) -> Counter[tuple[str, str]]:
    """How often the run took each (old, new) edge (netstat spellings)."""
    return Counter((r[4], r[5]) for r in records if r[1] == STATE)


def _box_of(old: str, new: str) -> tuple[str, str]:
    """Which drawn boxes an edge joins (CLOSED at the top or bottom)."""
    src = old
    dst = new if new != "CLOSED" or old in _TOP_ROW else "CLOSED*"
    return src, dst


def state_diagram_figure(records: Sequence[tuple[Any, ...]] = (), *, title: str = "") -> Figure:
    """The state machine with the run's edges highlighted and counted."""
    counts = edge_counts(records)
    declared = {(a.value, b.value): text for (a, b), text in TRANSITIONS.items()}
    fig = new_figure(13, 8.4)
    ax = fig.add_axes((0.01, 0.02, 0.60, 0.90))
    ax.set_xlim(-0.55, 2.55)
    ax.set_ylim(-0.1, 7.5)
    ax.axis("off")
    visited = {s for edge in counts for s in edge}
    bw, bh = 0.56, 0.36
    for name, (x, y) in POSITIONS.items():
        state = name.rstrip("*")
        on = state in visited or not counts
        color = state_color(state) if on else "#f2f2f2"
        ax.add_patch(FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=color, edgecolor="#333333" if on else "#bbbbbb", linewidth=1.0,
                                    zorder=3, gid=f"node|{name}"))
        ax.text(x, y, state, ha="center", va="center", fontsize=9, fontweight="bold", zorder=4,
                color=text_color_on(color) if on else "#999999")
    edges = dict(declared)
    for e in counts:
        edges.setdefault(e, "")
    bidir = {(a, b) for (a, b) in edges if (b, a) in edges}
    listing: list[tuple[str, str, int, str]] = []
    for (old, new), meaning in edges.items():
        src, dst = _box_of(old, new)
        if src not in POSITIONS or dst not in POSITIONS:
            continue
        n = counts.get((old, new), 0)
        taken = n > 0
        known = (old, new) in declared
        rad = 0.18 if (old, new) in bidir else (0.12 if abs(POSITIONS[src][0] - POSITIONS[dst][0]) > 1.2 else 0.0)
        style = "solid" if known else (0, (4, 2))
        arrow = FancyArrowPatch(POSITIONS[src], POSITIONS[dst], connectionstyle=f"arc3,rad={rad}",
                                arrowstyle="-|>", mutation_scale=14 if taken else 9,
                                color="#0072B2" if taken and known else ("#D55E00" if taken else "#c8c8c8"),
                                linewidth=2.6 if taken else 0.9, linestyle=style, shrinkA=20, shrinkB=20,
                                zorder=2 if taken else 1, gid=f"edge|{old}|{new}" + ("|taken" if taken else ""))
        ax.add_patch(arrow)
        if taken:
            # arc3 bends in display space toward (dy, -dx) by rad * |d|; the curve's middle is
            # halfway to that control point.
            (x0, y0), (x1, y1) = ax.transData.transform(POSITIONS[src]), ax.transData.transform(POSITIONS[dst])
            dx, dy = x1 - x0, y1 - y0
            mx, my = ax.transData.inverted().transform(((x0 + x1) / 2 + dy * rad / 2, (y0 + y1) / 2 - dx * rad / 2))
            ax.text(mx, my, f"\u00d7{n}", ha="center", va="center", fontsize=8.5, fontweight="bold",
                    color="#0072B2" if known else "#D55E00", zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
            listing.append((old, new, n, meaning or "not in the transition table (e.g. a host crash)"))
    # The side list: what each taken edge means.
    lines = ["Edges this run took (count, meaning):", ""]
    for old, new, n, meaning in sorted(listing, key=lambda e: (-e[2], e[0], e[1])):
        lines.append(f"{old} \u2192 {new}  \u00d7{n}")
        lines.append(f"    {meaning}")
    if not listing:
        lines.append("(none: no TCP state changes in this trace)")
    lines += ["", f"{len(listing)} of {len(declared)} declared edges taken;",
              "grey edges are possible but did not happen."]
    fig.text(0.63, 0.90, "\n".join(lines), fontsize=8.5, va="top", ha="left", family="DejaVu Sans Mono")
    fig.suptitle(title or "TCP state machine (RFC 9293 Fig. 5, from the transition table): this run's path",
                 fontsize=11, x=0.02, ha="left")
    return fig
