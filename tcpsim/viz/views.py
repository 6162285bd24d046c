"""Writing every view of a run into its directory: figures (PNG + SVG), pcaps, report.html.

Why one entry point: ``tcpsim run`` (right after the run) and ``tcpsim plot
RUNDIR`` (later, from trace.jsonl) must produce the same files from the same
records, and the gallery reuses it too. Everything here is a pure function of
the records plus a little run metadata (name, description, lesson, summary).

Which figures are drawn depends on what the trace holds, so a small run pays
only for figures that would say something: no STATE records, no timeline; no
data transfer, no time-sequence graph; no SAMPLE records, no cwnd plot. Huge
traces degrade instead of stalling: past ``HUGE_RECORDS`` records the ladder
and the time-sequence graph look at a window at the start of the run only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

from tcpsim.trace.records import COUNTS, PKT, STATE
from tcpsim.viz.style import new_figure  # noqa: F401  (sets the Agg backend before any figure)

__all__ = ["FIGURES", "RunInfo", "figure_for", "available_figures", "render_figures", "write_views", "figure_svg",
           "HUGE_RECORDS", "VIEWS_MANIFEST"]

#: Lists the view files in a run directory, so a later run may replace them (tcpsim.scenario.run reads it).
VIEWS_MANIFEST = ".tcpsim-views"

FIGURES = ("timeline", "ladder", "counts", "timeseq", "cwnd", "states")
HUGE_RECORDS = 400_000

# What each figure shows, for the report and the docs.
CAPTIONS: dict[str, str] = {
    "timeline": "State timeline: one lane per connection endpoint, coloured by TCP state; markers show "
                "drops, retransmissions, resets and timer expiries.",
    "ladder": "Ladder diagram: every packet as an arrow from sender to receiver, sloped by its real delay; "
              "a lost packet stops at a cross naming the rule that dropped it.",
    "counts": "How many sockets each host has in each state over time (netstat -nat | uniq -c, continuously), "
              "and each listener's SYN queue.",
    "timeseq": "Time-sequence graph (tcptrace style) of the biggest data transfers, seen at the sender.",
    "cwnd": "Congestion window and slow-start threshold, from the TCB samples.",
    "states": "The TCP state machine drawn from the transition table; the edges this run took are highlighted "
              "and counted.",
}


@dataclass(slots=True)
class RunInfo:
    """What the views know about a run besides its records."""

    name: str = "run"
    description: str = ""
    lesson: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    end_time: float | None = None


def available_figures(records: Sequence[tuple[Any, ...]]) -> list[str]:
    """The figures that have something to show for these records."""
    from tcpsim.viz.counts import data_flows, has_samples

    has_state = any(r[1] == STATE for r in records)
    has_pkt = any(r[1] == PKT for r in records)
    out: list[str] = []
    if has_state:
        out.append("timeline")
    if has_pkt:
        out.append("ladder")
    if has_state or any(r[1] == COUNTS for r in records):
        out.append("counts")  # from the state changes, or else from the state-count samples
    if has_pkt and data_flows(_head(records)):
        out.append("timeseq")
    if has_samples(records):
        out.append("cwnd")
    if has_state:
        out.append("states")
    return out


def _head(records: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
    return records if len(records) <= HUGE_RECORDS else records[:HUGE_RECORDS]


def figure_for(name: str, records: Sequence[tuple[Any, ...]], info: RunInfo | None = None, *,
               window: tuple[float, float] | None = None, nodes: Sequence[str] | None = None,
               relative: bool = True) -> Any:
    """One figure by name."""
    from tcpsim.viz.counts import counts_figure, cwnd_figure, timeseq_figure
    from tcpsim.viz.ladder import ladder_figure
    from tcpsim.viz.statediagram import state_diagram_figure
    from tcpsim.viz.timeline import timeline_figure

    info = info or RunInfo()
    prefix = f"{info.name}: " if info.name else ""
    if name == "timeline":
        return timeline_figure(records, t_end=info.end_time, title=prefix + "TCP state of every endpoint over time")
    if name == "ladder":
        return ladder_figure(_head(records), window=window, nodes=nodes, relative=relative,
                             title=prefix + "ladder diagram")
    if name == "counts":
        return counts_figure(records, title=prefix + "sockets per state over time")
    if name == "timeseq":
        return timeseq_figure(_head(records), title=prefix + "time-sequence graph (at the sender)")
    if name == "cwnd":
        return cwnd_figure(records, title=prefix + "congestion window")
    if name == "states":
        return state_diagram_figure(records, title=prefix + "the TCP state machine, and the path this run took")
    raise ValueError(f"unknown figure {name!r} (known: {', '.join(FIGURES)})")


def figure_svg(fig: Any, salt: str) -> str:
    """The figure as SVG text with text kept as text (searchable, small) and stable ids."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def render_figures(records: Sequence[tuple[Any, ...]], out_dir: Path, info: RunInfo | None = None, *,
                   names: Iterable[str] | None = None, formats: Sequence[str] = ("png", "svg"),
                   window: tuple[float, float] | None = None, nodes: Sequence[str] | None = None,
                   relative: bool = True) -> tuple[list[Path], dict[str, str]]:
    """Draw and save figures; returns the paths and each figure's SVG text (for the report)."""
    paths: list[Path] = []
    svgs: dict[str, str] = {}
    for name in (available_figures(records) if names is None else names):
        fig = figure_for(name, records, info, window=window, nodes=nodes, relative=relative)
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            if fmt == "svg":
                text = figure_svg(fig, name)
                svgs[name] = text
                path.write_text(text, encoding="utf-8")
            else:
                fig.savefig(path, format=fmt, metadata={"Software": None} if fmt == "png" else None)
            paths.append(path)
        if "svg" not in formats:
            svgs[name] = figure_svg(fig, name)
    return paths, svgs


def write_views(records: Sequence[tuple[Any, ...]], out_dir: Path, info: RunInfo | None = None, *,
                plots: bool = True, lang: str = "en") -> list[Path]:
    """Every view of a run: one pcap per host; with ``plots``, the figures and report.html."""
    from tcpsim.report.html import write_report
    from tcpsim.trace.pcap import write_host_pcaps

    info = info or RunInfo()
    paths: list[Path] = []
    manifest = out_dir / VIEWS_MANIFEST
    try:
        if any(r[1] == PKT for r in records):
            paths += write_host_pcaps(records, out_dir)
        if plots:
            fig_paths, svgs = render_figures(records, out_dir, info)
            paths += fig_paths
            paths.append(write_report(records, out_dir / "report.html", info, svgs, lang=lang))
    finally:
        # Written even after a failure, so whatever was written can be replaced by the next run.
        if paths:
            manifest.write_text("".join(p.name + "\n" for p in paths), encoding="utf-8")
    return paths

