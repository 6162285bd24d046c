"""Figures are checked by content: lanes, colours per state span, arrows per packet, crosses per drop,
read back from the matplotlib objects (by their ``gid``) and from the SVG text."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from tcpsim.net import Simulation
from tcpsim.tcp.state import TRANSITIONS
from tcpsim.trace.analysis import flights, host_capture, tcp_analysis
from tcpsim.trace.netstat import endpoints
from tcpsim.viz.counts import counts_figure, cwnd_figure, data_flows, timeseq_figure
from tcpsim.viz.ladder import ladder_figure, segment_label
from tcpsim.viz.statediagram import edge_counts, state_diagram_figure
from tcpsim.viz.style import STATE_COLORS, TimeAxis, text_color_on
from tcpsim.viz.timeline import timeline_figure
from tcpsim.viz.views import figure_svg


def artists(fig: Figure, prefix: str) -> list[Any]:
    """Every artist of the figure whose gid starts with ``prefix``."""
    return [a for a in fig.findobj() if isinstance(a.get_gid(), str) and a.get_gid().startswith(prefix)]


def gids(fig: Figure, prefix: str) -> list[str]:
    return [a.get_gid() for a in artists(fig, prefix)]


def svg_ids(svg: str, prefix: str) -> list[str]:
    return re.findall(r'id="(' + re.escape(prefix) + r'[^"]*)"', svg)


# -- palette and time axis ---------------------------------------------------------------


def test_every_state_has_its_own_colour_and_readable_text() -> None:
    from tcpsim.tcp.state import State

    assert set(STATE_COLORS) == {s.value for s in State}
    assert len(set(STATE_COLORS.values())) == len(STATE_COLORS)
    assert text_color_on(STATE_COLORS["TIME_WAIT"]) == "white"
    assert text_color_on(STATE_COLORS["SYN_SENT"]) == "black"


def test_time_axis_squeezes_idle_stretches_only() -> None:
    ax = TimeAxis([0.0, 0.01, 0.02, 0.1, 60.1], lo=0.0, hi=60.1)
    assert len(ax.breaks) == 1 and ax.breaks[0].start < 0.2 and ax.breaks[0].end > 59.9
    assert ax.unit == "ms"
    assert ax(0.01) - ax(0.0) == pytest.approx(0.01)  # linear inside the busy stretch
    assert ax.x_max < 0.2
    pos, labels = ax.ticks()
    assert pos == sorted(pos) and "60.1 s" in labels[-1] or any(lbl.endswith(" s") for lbl in labels)
    busy = TimeAxis([0.0, 1.0, 2.0, 60.0], lo=0.0, hi=60.0, busy=[(2.0, 60.0)])
    assert busy.breaks == []  # a packet in flight is never idle time


# -- timeline ----------------------------------------------------------------------------------


def test_timeline_has_one_lane_per_endpoint_coloured_by_state(clean_run: Simulation) -> None:
    records = clean_run.trace.records
    eps = endpoints(records)
    fig = timeline_figure(records)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(eps) == 3  # the listener, the server's child, the client
    assert labels[0] == "server 198.51.100.1:80 (listening)"
    assert any(lbl.startswith("client 192.0.2.1:") and lbl.endswith("\u2194 198.51.100.1:80") for lbl in labels)
    spans = artists(fig, "span|")
    drawn = Counter(a.get_gid().split("|")[2] for a in spans)
    expected = Counter(s.state for ep in eps for s in ep.spans)
    assert drawn == expected
    for a in spans:
        state = a.get_gid().split("|")[2]
        assert to_hex(a.get_facecolor()[0]).upper() == STATE_COLORS[state].upper()
    client_lane = next(i for i, lbl in enumerate(labels) if lbl.startswith("client"))
    client_states = [a.get_gid().split("|")[2] for a in spans if a.get_gid().split("|")[1] == str(client_lane)]
    assert client_states == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]
    # The 2MSL expiry is marked once, on the client's lane, and the legend says so.
    (mark,) = artists(fig, "mark|2msl")
    assert round([tuple(p) for p in mark.get_offsets()][0][1]) == client_lane
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "2MSL (TIME_WAIT) expired (1)" in legend and "TIME_WAIT" in legend
    svg = figure_svg(fig, "t")
    assert len(svg_ids(svg, "span|")) == len(spans)


def test_timeline_marks_drops_and_retransmissions(lossy_run: Simulation) -> None:
    records = lossy_run.trace.records
    fig = timeline_figure(records)
    drops = [f for f in flights(records) if f.drop is not None and f.origin in ("client", "server")]
    (drop_marks,) = artists(fig, "mark|drop")
    assert len(drop_marks.get_offsets()) == len(drops) > 0
    re_sent = sum(1 for c in host_capture(records, "client") if c.out and
                  "retransmission" in tcp_analysis(host_capture(records, "client")).labels.get(c.index, ()))
    (re_marks,) = artists(fig, "mark|retransmission")
    assert len(re_marks.get_offsets()) >= re_sent > 0


def test_timeline_switches_to_counts_with_too_many_lanes(clean_run: Simulation) -> None:
    fig = timeline_figure(clean_run.trace.records, max_lanes=2)
    assert artists(fig, "count|") and not artists(fig, "span|")
    assert "too many for one lane each" in fig._suptitle.get_text()  # type: ignore[union-attr]


# -- ladder ------------------------------------------------------------------------------------


def test_ladder_draws_one_arrow_per_packet_with_textbook_labels(clean_run: Simulation) -> None:
    records = clean_run.trace.records
    fl = flights(records)
    fig = ladder_figure(records, max_packets=1000)
    arrows = artists(fig, "arrow|")
    assert len(arrows) == sum(len(f.arrivals) for f in fl) == len(fl)
    assert not artists(fig, "drop|")
    texts = [t.get_text() for t in artists(fig, "label|")]
    assert "SYN seq=0" in texts and "SYN,ACK seq=0 ack=1" in texts and "ACK seq=1 ack=1" in texts
    assert any(t.startswith("FIN,") for t in texts)
    # Arrows go from the sender's line to the receiver's, sloped by the real delay.
    a = arrows[0]
    (x0, y0), (x1, y1) = a._posA_posB  # type: ignore[attr-defined]
    assert (x0, x1) == (0.0, 1.0) and y1 > y0
    # The column headers are the two hosts, client first; states are written beside their lines.
    heads = [t.get_text().split("\n")[0] for t in fig.axes[0].texts if "\n" in t.get_text()]
    assert heads[:2] == ["client", "server"]
    notes = Counter(g.split("|")[1] for g in gids(fig, "state|"))
    last = max(t for f in fl for t, _, _ in f.arrivals)
    assert notes == Counter(r[2] for r in records if r[1] == "state" and r[0] <= last)
    assert notes["client"] == 5  # SYN_SENT .. TIME_WAIT; CLOSED comes 60 s later, after the last packet
    svg = figure_svg(fig, "l")
    assert len(svg_ids(svg, "arrow|")) == len(arrows)


def test_ladder_crosses_every_lost_packet_with_its_rule(lossy_run: Simulation) -> None:
    records = lossy_run.trace.records
    fl = flights(records)
    window = (0.0, 0.6)
    shown = [f for f in fl if window[0] <= f.t_send <= window[1]]
    lost = [f for f in shown if f.drop is not None and not f.arrivals]
    fig = ladder_figure(records, window=window)
    assert len(artists(fig, "drop|")) == len(lost) > 0
    assert len(artists(fig, "arrow|")) == sum(1 for f in shown if f.arrivals)
    assert len(artists(fig, "lost|")) == len(lost)
    reasons = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("dropped:")]
    assert reasons and all("loss" in r for r in reasons)
    retrans = [t.get_text() for t in artists(fig, "label|") if t.get_text().startswith("[retransmission]")]
    assert retrans


def test_segment_labels_relative_and_absolute(clean_run: Simulation) -> None:
    from tcpsim.viz.ladder import relative_bases

    fl = flights(clean_run.trace.records)
    bases = relative_bases(fl)
    assert segment_label(fl[0], bases) == "SYN seq=0"
    assert segment_label(fl[0], None) == f"SYN seq={fl[0].pkt.payload.seq}"  # type: ignore[union-attr]
    data = next(f for f in fl if f.pkt.payload.payload)  # type: ignore[union-attr]
    assert segment_label(data, bases).endswith("len=1448") and " seq=1 " in segment_label(data, bases)


def test_ladder_of_traceroute_puts_routers_in_path_order() -> None:
    from tcpsim.scenario.library import builtin_scenarios
    from tcpsim.scenario.loader import load_document
    from tcpsim.scenario.run import run_scenario

    doc, model = load_document(builtin_scenarios()["traceroute"])
    records = run_scenario(model, doc=doc).built.sim.trace.records
    fig = ladder_figure(records, max_packets=1000)
    heads = [t.get_text().split("\n")[0] for t in fig.axes[0].texts if "\n" in t.get_text()]
    assert heads == ["client"] + [f"r{i}" for i in range(1, 9)] + ["server"]
    # Each probe that ran out of TTL is a cross at a router; the rule is "ttl".
    ttl_drops = [f for f in flights(records) if f.drop is not None and f.drop[3] == "ttl"]
    assert len(artists(fig, "drop|")) == len(ttl_drops) == 24


# -- counts, queues, time-sequence, cwnd, state diagram --------------------------------------------


def test_counts_stack_one_area_per_state_and_host(clean_run: Simulation) -> None:
    fig = counts_figure(clean_run.trace.records)
    got = {tuple(g.split("|")[1:]) for g in gids(fig, "count|")}
    assert ("server", "LISTEN") in got and ("server", "SYN_RECV") in got and ("client", "TIME_WAIT") in got
    assert gids(fig, "queue|") == ["queue|server 198.51.100.1:80|syn"]
    (syn_line,) = artists(fig, "queue|")
    assert max(syn_line.get_ydata()) == 1


def test_timeseq_draws_every_segment_and_every_loss(lossy_run: Simulation) -> None:
    records = lossy_run.trace.records
    (flow, *_rest) = data_flows(records)
    assert flow.sender == "client" and flow.data_bytes == 300_000
    fig = timeseq_figure(records)
    assert len(artists(fig, "seg|0|")) == len(flow.segments)
    (drops,) = artists(fig, "tsdrop|0")
    assert len(drops.get_offsets()) == len(flow.drops) > 0
    (rex,) = artists(fig, "rexmit|0")
    assert len(rex.get_offsets()) == sum(1 for s in flow.segments if s[3]) > 0
    assert artists(fig, "ackline|0") and artists(fig, "window|0")


def test_cwnd_comes_from_samples_only(lossy_run: Simulation) -> None:
    fig = cwnd_figure(lossy_run.trace.records)
    lines = artists(fig, "cwnd|")
    samples = [r for r in lossy_run.trace.records if r[1] == "sample" and "cwnd" in r[4]]
    if samples:
        assert lines and sum(len(a.get_xdata()) for a in lines) == len(samples)
    synthetic = [(0.0, "sample", "h", "c>d", {"cwnd": 1000, "ssthresh": 1 << 30}),
                 (1.0, "sample", "h", "c>d", {"cwnd": 2000, "ssthresh": 1500})]
    fig2 = cwnd_figure(synthetic)
    (cw,) = artists(fig2, "cwnd|")
    assert list(cw.get_ydata()) == [1000, 2000]
    (ss,) = artists(fig2, "ssthresh|")
    assert list(ss.get_ydata()) == [1500]  # "infinite" ssthresh is not drawn


def test_state_diagram_draws_the_table_and_counts_the_run(clean_run: Simulation) -> None:
    records = clean_run.trace.records
    fig = state_diagram_figure(records)
    edges = gids(fig, "edge|")
    assert len(edges) == len(TRANSITIONS)
    taken = {tuple(g.split("|")[1:3]): g for g in edges if g.endswith("|taken")}
    assert set(taken) == set(edge_counts(records))
    counts = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("\u00d7")]
    assert sorted(counts) == sorted(f"\u00d7{n}" for n in edge_counts(records).values())
    svg = figure_svg(fig, "s")
    assert len(svg_ids(svg, "edge|")) == len(TRANSITIONS)
