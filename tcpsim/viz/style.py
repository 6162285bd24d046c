"""What every figure shares: the state palette, marker styles, and a time axis that skips idle stretches.

Why a fixed palette: a student compares figures from different runs, and
"ESTABLISHED is green" must hold in all of them. The colours are Paul Tol's
"muted" scheme plus two greys, chosen to stay distinguishable under the
common colour-vision deficiencies; every coloured bar also carries its state
name when there is room, so colour is never the only cue.

Why the time axis compresses gaps: TCP runs are bursty. A handshake and a
transfer take 0.2 s, then TIME_WAIT waits 60 s; on a linear axis the
interesting part is a sliver. ``TimeAxis`` keeps time linear inside each
busy stretch and squeezes every long idle stretch into a short, clearly
marked break (``//`` and "59.8 s idle"), so nothing is hidden and nothing is
distorted where things happen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import matplotlib

# No display: figures are files. Unless the program chose a backend already (Jupyter's
# inline backend sets MPLBACKEND; a script may have imported pyplot): the figures here
# are never pyplot's, so any backend saves them alike, and a notebook goes on showing
# its own plots after it drew one of ours.
if not os.environ.get("MPLBACKEND") and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

from matplotlib.axis import Axis  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

__all__ = [
    "STATE_COLORS", "state_color", "text_color_on", "MARKERS", "TimeAxis", "new_figure", "PACKET_COLORS",
]

# Paul Tol's muted palette (+ greys), by state.
STATE_COLORS: dict[str, str] = {
    "LISTEN": "#BBBBBB",
    "SYN_SENT": "#DDCC77",
    "SYN_RECV": "#999933",
    "ESTABLISHED": "#117733",
    "FIN_WAIT1": "#88CCEE",
    "FIN_WAIT2": "#44AA99",
    "CLOSE_WAIT": "#CC6677",
    "CLOSING": "#AA4499",
    "LAST_ACK": "#882255",
    "TIME_WAIT": "#332288",
    "CLOSED": "#DDDDDD",
}


def state_color(state: str) -> str:
    return STATE_COLORS.get(state, "#000000")


def text_color_on(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color`` (WCAG relative luminance)."""
    h = hex_color.lstrip("#")
    chans = []
    for i in (0, 2, 4):
        c = int(h[i:i + 2], 16) / 255
        chans.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    lum = 0.2126 * chans[0] + 0.7152 * chans[1] + 0.0722 * chans[2]
    return "black" if lum > 0.22 else "white"


# Event markers drawn over the state bars: black and white, so they read on every colour.
MARKERS: dict[str, dict[str, object]] = {
    "rst-sent": {"marker": "X", "s": 70, "facecolor": "white", "edgecolor": "black", "label": "RST sent"},
    "rst-received": {"marker": "X", "s": 70, "facecolor": "black", "edgecolor": "white", "label": "RST received"},
    "drop": {"marker": "x", "s": 55, "color": "#D55E00", "linewidths": 2.2, "label": "packet it sent was dropped"},
    "retransmission": {"marker": "o", "s": 38, "facecolor": "none", "edgecolor": "black", "linewidths": 1.4,
                       "label": "retransmission sent"},
    "rto": {"marker": "v", "s": 60, "facecolor": "#E69F00", "edgecolor": "black", "label": "RTO expired"},
    "2msl": {"marker": "s", "s": 44, "facecolor": "white", "edgecolor": "black", "label": "2MSL (TIME_WAIT) expired"},
    "keepalive": {"marker": "D", "s": 40, "facecolor": "#56B4E9", "edgecolor": "black", "label": "keepalive timer"},
    "fin_wait_2": {"marker": "P", "s": 60, "facecolor": "white", "edgecolor": "black",
                   "label": "FIN_WAIT_2 timer expired"},
    "persist": {"marker": "^", "s": 50, "facecolor": "#F0E442", "edgecolor": "black", "label": "persist timer"},
}

# Arrows of the ladder and segments of the time-sequence graph (Okabe-Ito colours).
PACKET_COLORS: dict[str, str] = {
    "syn-fin": "#0072B2",
    "rst": "#D55E00",
    "data": "#000000",
    "ack": "#777777",
    "icmp": "#CC79A7",
    "retransmission": "#E69F00",
}


def new_figure(width: float, height: float) -> Figure:
    """A Figure not tied to pyplot (no global state, nothing to close, safe in threads)."""
    return Figure(figsize=(width, height), dpi=100)


def _unit_for(span: float) -> tuple[str, float]:
    if span >= 2.0:
        return "s", 1.0
    if span >= 2e-3:
        return "ms", 1e3
    return "\u00b5s", 1e6


@dataclass(frozen=True, slots=True)
class Break:
    start: float  # time where the idle stretch starts
    end: float    # time where it ends
    x0: float     # display coordinate of the start
    x1: float     # display coordinate of the end


class TimeAxis:
    """Simulated time -> a display coordinate, linear within busy stretches, with idle gaps squeezed.

    ``events`` are the instants worth seeing (packets, state changes, timer
    expiries). A gap between consecutive events longer than ``gap_fraction``
    of the whole span becomes a break drawn ``break_fraction`` of the visible
    time wide (at most ``max_breaks``, longest first).
    """

    def __init__(self, events: Iterable[float], lo: float | None = None, hi: float | None = None, *,
                 gap_fraction: float = 0.2, break_fraction: float = 0.04, max_breaks: int = 4,
                 compress: bool = True, busy: Iterable[tuple[float, float]] = ()) -> None:
        ts = sorted(set(events))
        # Busy intervals (a packet in flight) are never idle: no break may fall inside one.
        spans = sorted((a, b) for a, b in busy if b > a)
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        if lo is None:
            lo = ts[0] if ts else 0.0
        if hi is None:
            hi = ts[-1] if ts else lo + 1.0
        if hi <= lo:
            hi = lo + (abs(lo) * 1e-3 or 1e-3)
        self.lo, self.hi = lo, hi
        pts = [lo] + [t for t in ts if lo < t < hi] + [hi]
        gaps = sorted(((pts[i + 1] - pts[i], pts[i], pts[i + 1]) for i in range(len(pts) - 1)
                       if not any(a < pts[i + 1] and pts[i] < b for a, b in merged)), reverse=True)
        chosen: list[tuple[float, float]] = []
        visible = hi - lo
        if compress:
            # Measured against the whole span: squeezing only ever takes the long waits (a
            # retransmission timeout, TIME_WAIT), never the rhythm of the exchange itself.
            for g, a, b in gaps:
                if len(chosen) >= max_breaks or g < gap_fraction * (hi - lo) or g <= 0:
                    break
                chosen.append((a, b))
                visible -= g
        chosen.sort()
        self.visible = visible
        bw = break_fraction * visible
        knots_t = [lo]
        knots_x = [0.0]
        breaks: list[Break] = []
        for a, b in chosen:
            # Keep a little margin of real time on each side so the event at the edge shows.
            pad = min(0.02 * visible, (b - a) / 4)
            a2, b2 = a + pad, b - pad
            xa = knots_x[-1] + (a2 - knots_t[-1])
            knots_t.append(a2)
            knots_x.append(xa)
            knots_t.append(b2)
            knots_x.append(xa + bw)
            breaks.append(Break(a2, b2, xa, xa + bw))
        knots_x.append(knots_x[-1] + (hi - knots_t[-1]))
        knots_t.append(hi)
        self._kt = knots_t
        self._kx = knots_x
        self.breaks = breaks
        self.unit, self.scale = _unit_for(visible)

    @property
    def x_max(self) -> float:
        return self._kx[-1]

    def __call__(self, t: float) -> float:
        kt, kx = self._kt, self._kx
        if t <= kt[0]:
            return kx[0] + (t - kt[0])
        for i in range(1, len(kt)):
            if t <= kt[i]:
                t0, t1 = kt[i - 1], kt[i]
                x0, x1 = kx[i - 1], kx[i]
                return x0 if t1 == t0 else x0 + (t - t0) * (x1 - x0) / (t1 - t0)
        return kx[-1] + (t - kt[-1])

    def map(self, ts: Sequence[float]) -> list[float]:
        return [self(t) for t in ts]

    @property
    def label(self) -> str:
        extra = " (idle stretches squeezed, marked //)" if self.breaks else ""
        return f"simulated time ({self.unit}){extra}"

    def fmt(self, t: float) -> str:
        v = t * self.scale
        return f"{v:.6g}"

    def ticks(self, target: int = 8, char_fraction: float = 0.011) -> tuple[list[float], list[str]]:
        """Tick positions (display coordinates) and labels, per busy stretch."""
        segments: list[tuple[float, float]] = []
        start = self.lo
        for brk in self.breaks:
            segments.append((start, brk.start))
            start = brk.end
        segments.append((start, self.hi))
        cands: list[tuple[int, float, str]] = []  # (priority, position, label); 0 wins
        total = sum(b - a for a, b in segments) or 1.0
        for k, (a, b) in enumerate(segments):
            n = max(1, round(target * (b - a) / total))
            loc = MaxNLocator(nbins=n, steps=[1, 2, 2.5, 5, 10])
            for v in (v / self.scale for v in loc.tick_values(a * self.scale, b * self.scale)):
                if a - 1e-12 <= v <= b + 1e-12:
                    cands.append((1, self(v), self.fmt(v)))
            if k > 0:
                # After a break, say exactly where we are; in plain seconds when the unit would make
                # a huge number ("60.185 s" reads better than "60185").
                # Four significant digits are enough to place the eye ("62.19", not "62.1886").
                cands.append((0, self(a), f"{a * self.scale:.4g}" if a * self.scale < 1e4 else f"{a:.4g} s"))
        # Keep labels that do not collide, break labels first (about 1.1% of the axis per character).
        kept: list[tuple[float, str]] = []
        for _prio, x, text in sorted(cands, key=lambda c: (c[0], c[1])):
            if all(abs(x - p) > (len(text) + len(t2) + 2) / 2 * char_fraction * self.x_max for p, t2 in kept):
                kept.append((x, text))
        kept.sort()
        return [x for x, _ in kept], [t for _, t in kept]

    def visible_end(self, x0: float) -> float:
        """Where the busy stretch that contains display coordinate ``x0`` ends."""
        for b in self.breaks:
            if b.x0 >= x0:
                return b.x0
        return self.x_max

    def apply(self, axis: Axis, target: int = 8, char_fraction: float = 0.011) -> None:
        """Put the ticks on ``axis``; ``char_fraction`` is the share of the axis one label character takes."""
        pos, labels = self.ticks(target, char_fraction)
        axis.set_ticks(pos)
        axis.set_ticklabels(labels)

    def idle_text(self, b: Break) -> str:
        d = b.end - b.start
        unit, scale = _unit_for(d)
        return f"{d * scale:.3g} {unit} idle"
