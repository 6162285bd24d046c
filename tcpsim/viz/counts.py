"""Figures of quantities over time: state counts, listen queues, cwnd, and tcptrace's time-sequence graph.

* ``counts_figure``: per host, how many sockets are in each state at every
  instant, stacked: what ``netstat -nat | awk '{print $6}' | sort | uniq -c``
  would print if you ran it continuously (SYN_RECV climbing during a flood,
  TIME_WAIT piling up on a busy client). Below, when the run has listeners,
  each listener's SYN queue and (when the trace records accept()) accept
  queue, derived from its children's states.
* ``cwnd_figure``: cwnd and ssthresh per connection from SAMPLE records
  (trace level ``full``); nothing is invented when they are absent.
* ``timeseq_figure``: the time-sequence graph of tcptrace / Wireshark's
  Stevens graph, per data direction, seen at the sender: each segment sent
  is a vertical bar from seq to seq+len (retransmissions in another colour),
  the ACKs coming back are a step line, and the receive window the ACKs
  advertise is another step line above it; lost segments are crosses.

Tagged for tests: stacked areas ``gid="count|<host>|<STATE>"``, queue lines
``gid="queue|<listener>|syn"``, segment bars ``gid="seg|<flow>|<n>"``, drops
``gid="tsdrop|<flow>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tcpsim.trace.analysis import flights, host_capture, tcp_analysis
from tcpsim.trace.netstat import STATE_ORDER, Endpoint, endpoints, listen_queues, state_counts
from tcpsim.trace.records import COUNT_STATES, COUNTS, PKT, SAMPLE, STATE
from tcpsim.viz.style import PACKET_COLORS, TimeAxis, new_figure, state_color
from tcpsim.wire.segment import FIN, SYN, Segment

__all__ = ["counts_figure", "cwnd_figure", "timeseq_figure", "data_flows", "Flow", "has_samples"]

_MOD = 1 << 32


def _hosts(eps: Sequence[Endpoint]) -> list[str]:
    seen: dict[str, None] = {}
    for ep in eps:
        seen.setdefault(ep.node, None)
    return list(seen)


def sampled_counts(records: Sequence[tuple[Any, ...]]) -> dict[str, tuple[list[float], dict[str, list[int]]]]:
    """Per host, ``(times, {state: counts})`` from the state-count samples (COUNTS records),
    the same shape as ``state_counts``; states never seen are left out."""
    raw: dict[str, tuple[list[float], list[tuple[int, ...]]]] = {}
    for r in records:
        if r[1] == COUNTS:
            ts, cs = raw.setdefault(r[2], ([], []))
            ts.append(r[0])
            cs.append(r[3])
    out: dict[str, tuple[list[float], dict[str, list[int]]]] = {}
    for host, (ts, cs) in raw.items():
        series = {st: [c[i] for c in cs] for i, st in enumerate(COUNT_STATES) if any(c[i] for c in cs)}
        out[host] = (ts, series)
    return out


def counts_figure(records: Sequence[tuple[Any, ...]], *, eps: list[Endpoint] | None = None,
                  title: str = "") -> Figure:
    """Stacked state counts per host, plus listen-queue occupancy (see the module docstring)."""
    eps = endpoints(records) if eps is None else eps
    sampled: dict[str, tuple[list[float], dict[str, list[int]]]] = {}
    if not eps:
        # No state changes kept (trace level counters): draw the fixed-interval samples.
        sampled = sampled_counts(records)
    hosts = _hosts(eps) if eps else list(sampled)
    queues = listen_queues(records, eps)
    times_all = [r[0] for r in records if r[1] == STATE] or [t for ts, _ in sampled.values() for t in ts]
    lo = min(times_all) if times_all else 0.0
    hi = max(times_all) if times_all else 1.0
    axis = TimeAxis(times_all, lo=lo, hi=hi, gap_fraction=0.3, max_breaks=2)
    end = axis.hi + axis.visible * 0.03
    nrows = max(1, len(hosts)) + (1 if queues else 0)
    height = 1.3 + 2.0 * nrows
    fig = new_figure(10, height)
    fig.subplots_adjust(left=0.09, right=0.80, top=1 - 0.75 / height, bottom=0.6 / height, hspace=0.45)
    axes = [fig.add_subplot(nrows, 1, i + 1) for i in range(nrows)]
    seen: dict[str, None] = {}
    for ax, host in zip(axes, hosts, strict=False):
        times, series = sampled[host] if sampled else state_counts(eps, host)
        xs = axis.map(times) + [axis(end)]
        ys = []
        states = [st for st in STATE_ORDER if st in series]
        for st in states:
            ys.append(series[st] + [series[st][-1]])
            seen.setdefault(st, None)
        if ys:
            polys = ax.stackplot(xs, ys, step="post", colors=[state_color(st) for st in states],
                                 edgecolor="white", linewidth=0.3)
            for poly, st in zip(polys, states, strict=True):
                poly.set_gid(f"count|{host}|{st}")
            peak = max(sum(col) for col in zip(*ys, strict=True))
            ax.set_ylim(0, max(1, peak) * 1.15)
        every = ""
        if sampled and len(times) > 1:
            every = f", sampled every {times[1] - times[0]:g} s"  # trace level counters keeps no changes
        ax.set_title(f"{host}: sockets per state (netstat -nat | uniq -c){every}", fontsize=9, loc="left")
        ax.set_ylabel("sockets", fontsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    if queues:
        ax = axes[-1]
        for q in queues:
            name = f"{q.listener.node} {q.listener.local}"
            if q.syn:
                xs = axis.map([t for t, _ in q.syn]) + [axis(end)]
                ys2 = [n for _, n in q.syn] + [q.syn[-1][1]]
                ax.step(xs, ys2, where="post", label=f"{name} SYN queue (SYN_RECV children)", linewidth=1.6,
                        gid=f"queue|{name}|syn")
            if q.accept:
                xs = axis.map([t for t, _ in q.accept]) + [axis(end)]
                ys2 = [n for _, n in q.accept] + [q.accept[-1][1]]
                ax.step(xs, ys2, where="post", linestyle="--", linewidth=1.6,
                        label=f"{name} accept queue (established, not yet accepted)", gid=f"queue|{name}|accept")
        ax.set_title("listen queues" + ("" if any(q.accept for q in queues) else
                     " (accept queue not shown: the trace does not record accept())"), fontsize=9, loc="left")
        ax.set_ylabel("entries", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        ax.legend(fontsize=7, loc="upper right", frameon=False)
    for ax in axes:
        ax.set_xlim(-0.01 * axis.x_max, axis(end))
        axis.apply(ax.xaxis)
        ax.tick_params(labelsize=8)
        for b in axis.breaks:
            ax.axvspan(b.x0, b.x1, color="#f0f0f0", zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlabel(axis.label, fontsize=9)
    if not hosts:
        axes[0].text(0.5, 0.5, "no TCP state records in this trace", transform=axes[0].transAxes,
                     ha="center", va="center", color="#555555")
    handles = [Patch(facecolor=state_color(st), label=st) for st in STATE_ORDER if st in seen]
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.81, 1 - 0.75 / height), fontsize=8,
                   frameon=False, title="state", title_fontsize=8)
    fig.suptitle(title or "How many sockets are in each state, over time", fontsize=11, x=0.02, ha="left")
    return fig


def has_samples(records: Sequence[tuple[Any, ...]], key: str = "cwnd") -> bool:
    return any(r[1] == SAMPLE and key in r[4] for r in records)


def cwnd_figure(records: Sequence[tuple[Any, ...]], *, title: str = "") -> Figure:
    """cwnd and ssthresh per connection, from SAMPLE records."""
    per: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = {}
    for r in records:
        if r[1] == SAMPLE:
            d = per.setdefault((r[2], r[3]), {})
            for name in ("cwnd", "ssthresh"):
                v = r[4].get(name)
                if isinstance(v, int | float):
                    d.setdefault(name, []).append((r[0], float(v)))
    conns = [k for k, d in per.items() if d.get("cwnd")]
    n = max(1, len(conns))
    height = 1.2 + 2.2 * n
    fig = new_figure(10, height)
    fig.subplots_adjust(left=0.09, right=0.97, top=1 - 0.7 / height, bottom=0.55 / height, hspace=0.5)
    times = [t for k in conns for series in per[k].values() for t, _ in series]
    axis = TimeAxis(times, lo=min(times) if times else 0.0, hi=max(times) if times else 1.0)
    for i, key in enumerate(conns or [("", "")]):
        ax = fig.add_subplot(n, 1, i + 1)
        if not conns:
            ax.text(0.5, 0.5, "no cwnd samples: run with trace: full", ha="center", va="center",
                    transform=ax.transAxes, color="#555555")
            break
        d = per[key]
        cw = d.get("cwnd", [])
        ax.step(axis.map([t for t, _ in cw]), [v for _, v in cw], where="post", color="#0072B2", linewidth=1.5,
                label="cwnd", gid=f"cwnd|{key[0]}|{key[1]}")
        peak = max(v for _, v in cw)
        ss = [(t, v) for t, v in d.get("ssthresh", []) if v < 1 << 29]
        if ss:
            ax.step(axis.map([t for t, _ in ss]), [v for _, v in ss], where="post", color="#D55E00",
                    linestyle="--", linewidth=1.3, label="ssthresh", gid=f"ssthresh|{key[0]}|{key[1]}")
            peak = max(peak, max(v for _, v in ss))
        ax.set_ylim(0, peak * 1.15)
        conn_text = key[1].replace(">", " \u2192 ")
        ax.set_title(f"{key[0]} {conn_text}", fontsize=9, loc="left")
        ax.set_ylabel("bytes", fontsize=8)
        axis.apply(ax.xaxis)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7.5, loc="upper right", frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.axes[-1].set_xlabel(axis.label, fontsize=9)
    fig.suptitle(title or "Congestion window and slow-start threshold", fontsize=11, x=0.02, ha="left")
    return fig


@dataclass(slots=True)
class Flow:
    """One direction of a TCP connection that carried data, as its sender saw it."""

    sender: str
    src: str
    sport: int
    dst: str
    dport: int
    isn: int | None = None
    wscale: int = 0
    segments: list[tuple[float, int, int, bool]] = field(default_factory=list)  # (t, rel seq, len, retransmission)
    payload_bytes: int = 0  # bytes of data sent the first time (retransmissions and FIN not counted)
    acks: list[tuple[float, int, int]] = field(default_factory=list)           # (t, rel ack, window bytes)
    drops: list[tuple[float, int]] = field(default_factory=list)                # (t of drop, rel seq)
    sacks: list[tuple[float, int, int]] = field(default_factory=list)           # (t, rel start, rel end)

    @property
    def name(self) -> str:
        return f"{self.src}:{self.sport} \u2192 {self.dst}:{self.dport}"

    @property
    def data_bytes(self) -> int:
        return self.payload_bytes


def data_flows(records: Sequence[tuple[Any, ...]]) -> list[Flow]:
    """Every direction that sent data, with what its sender sent and received, biggest first."""
    flows: dict[tuple[str, int, str, int], Flow] = {}
    wscales: dict[tuple[str, int, str, int], int | None] = {}
    for r in records:
        if r[1] != PKT or r[3] != "send":
            continue
        pkt, seg = r[4], r[4].payload
        if not isinstance(seg, Segment):
            continue
        key = (pkt.src, seg.sport, pkt.dst, seg.dport)
        if seg.flags & SYN:
            wscales[key] = seg.wscale
        fl = flows.get(key)
        if fl is None:
            fl = flows[key] = Flow(r[2], *key)
        if seg.flags & SYN and fl.isn is None:
            fl.isn = seg.seq
    for key, fl in flows.items():
        rkey = (key[2], key[3], key[0], key[1])
        ours, theirs = wscales.get(key), wscales.get(rkey)
        fl.wscale = theirs if (ours is not None and theirs is not None) else 0
    for node in {f.sender for f in flows.values()}:
        cap = host_capture(records, node)
        labels = tcp_analysis(cap).labels
        for c in cap:
            seg = c.pkt.payload
            if not isinstance(seg, Segment):
                continue
            if c.out:
                fl = flows.get((c.pkt.src, seg.sport, c.pkt.dst, seg.dport))
                if fl is None or fl.sender != node:
                    continue
                base = fl.isn if fl.isn is not None else 0
                n = len(seg.payload) + (1 if seg.flags & FIN else 0)
                if n:
                    re = "retransmission" in labels.get(c.index, ())
                    fl.segments.append((c.t, (seg.seq - base) % _MOD, n, re))
                    if not re:
                        fl.payload_bytes += len(seg.payload)
            else:
                fl = flows.get((c.pkt.dst, seg.dport, c.pkt.src, seg.sport))
                if fl is None or fl.sender != node or seg.flags & SYN:
                    continue
                base = fl.isn if fl.isn is not None else 0
                rel_ack = (seg.ack - base) % _MOD
                fl.acks.append((c.t, rel_ack, seg.window << fl.wscale))
                for a, b in seg.sack:
                    fl.sacks.append((c.t, (a - base) % _MOD, (b - base) % _MOD))
    for f in flights(records):
        seg = f.pkt.payload
        if f.drop is None or f.arrivals or not isinstance(seg, Segment) or not seg.payload:
            continue
        fl = flows.get((f.pkt.src, seg.sport, f.pkt.dst, seg.dport))
        if fl is not None:
            fl.drops.append((f.drop[0], (seg.seq - (fl.isn or 0)) % _MOD))
    out = [f for f in flows.values() if f.data_bytes > 0]
    out.sort(key=lambda f: -f.data_bytes)
    return out


def timeseq_figure(records: Sequence[tuple[Any, ...]], *, max_flows: int = 4, title: str = "") -> Figure:
    """The time-sequence graph of the biggest data directions (see the module docstring)."""
    flows = data_flows(records)[:max_flows]
    n = max(1, len(flows))
    height = 1.0 + 3.6 * n
    fig = new_figure(10, height)
    fig.subplots_adjust(left=0.1, right=0.97, top=1 - 0.75 / height, bottom=0.5 / height, hspace=0.45)
    for i, fl in enumerate(flows or [None]):
        ax = fig.add_subplot(n, 1, i + 1)
        if fl is None:
            ax.text(0.5, 0.5, "no TCP data transfer in this trace", ha="center", va="center",
                    transform=ax.transAxes, color="#555555")
            break
        times = [t for t, *_ in fl.segments] + [t for t, *_ in fl.acks] + [t for t, _ in fl.drops]
        axis = TimeAxis(times, lo=min(times), hi=max(times))
        for k, (t, seq, ln, re) in enumerate(fl.segments):
            x = axis(t)
            color = PACKET_COLORS["retransmission"] if re else PACKET_COLORS["data"]
            ax.plot([x, x], [seq, seq + ln], color=color, linewidth=2.2 if re else 1.4,
                    solid_capstyle="butt", gid=f"seg|{i}|{k}", zorder=4 if re else 3)
        rex = [(axis(t), seq + ln) for t, seq, ln, re in fl.segments if re]
        if rex:
            # tcptrace writes an R over each retransmission: thin bars alone are easy to miss.
            ax.scatter([x for x, _ in rex], [y for _, y in rex], marker="$R$", s=40,
                       color=PACKET_COLORS["retransmission"], zorder=5, gid=f"rexmit|{i}")
        if fl.acks:
            xs = axis.map([t for t, _, _ in fl.acks])
            ax.step(xs, [a for _, a, _ in fl.acks], where="post", color="#009E73", linewidth=1.3,
                    gid=f"ackline|{i}")
            ax.step(xs, [a + w for _, a, w in fl.acks], where="post", color="#E69F00", linewidth=1.0,
                    linestyle=(0, (3, 2)), gid=f"window|{i}")
        for t, a, b in fl.sacks:
            ax.plot([axis(t), axis(t)], [a, b], color="#CC79A7", linewidth=1.2, alpha=0.5, zorder=2)
        if fl.drops:
            ax.scatter([axis(t) for t, _ in fl.drops], [s for _, s in fl.drops], marker="x", s=50,
                       color="#D55E00", linewidths=2, zorder=5, gid=f"tsdrop|{i}")
        top = max(s + ln for _, s, ln, _ in fl.segments)
        ax.set_ylim(0, top * 1.08)
        axis.apply(ax.xaxis)
        for brk in axis.breaks:
            ax.axvspan(brk.x0, brk.x1, color="#f0f0f0", zorder=0)
        ax.set_xlabel(axis.label, fontsize=8)
        ax.set_ylabel("relative sequence number (bytes)", fontsize=8)
        nre = sum(1 for s in fl.segments if s[3])
        ax.set_title(f"{fl.name}: {fl.data_bytes} bytes, {nre} retransmitted segments, "
                     f"{len(fl.drops)} lost (seen at {fl.sender})", fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        handles = [Line2D([], [], color=PACKET_COLORS["data"], linewidth=1.6, label="segment sent (seq..seq+len)"),
                   Line2D([], [], color=PACKET_COLORS["retransmission"], linewidth=2.2, marker="$R$",
                          label="retransmission"),
                   Line2D([], [], color="#009E73", label="ACK received"),
                   Line2D([], [], color="#E69F00", linestyle=(0, (3, 2)), label="ACK + receive window")]
        if fl.sacks:
            handles.append(Line2D([], [], color="#CC79A7", linewidth=1.2, alpha=0.5, label="SACK block"))
        if fl.drops:
            handles.append(Line2D([], [], color="#D55E00", marker="x", linestyle="none", label="lost segment"))
        ax.legend(handles=handles, fontsize=7, loc="upper left", frameon=False)
    fig.suptitle(title or "Time-sequence graph (tcptrace style), at the sender", fontsize=11, x=0.02, ha="left")
    return fig
