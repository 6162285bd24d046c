"""State counts per host at every trace level: samples at a fixed interval, peaks, counts now."""

from __future__ import annotations

from tcpsim.trace import Level
from tcpsim.trace.records import COUNT_STATES, COUNTS, STATE
from tests.tcpnet.helpers import Net
from tests.tcpnet.test_peers import churn


def _at(samples: list[tuple[object, ...]], node: str, t: float) -> dict[str, int]:
    (rec,) = [r for r in samples if r[2] == node and r[0] == t]
    return {s: n for s, n in zip(COUNT_STATES, rec[3], strict=True) if n}  # type: ignore[arg-type]


def test_counters_level_samples_state_counts_every_second() -> None:
    net = Net()
    net.sim.trace.level = Level.COUNTERS
    net.sim.trace.keep_states = net.sim.trace.keep_packets = False
    res = churn(net, 10, 1.0)  # 10 connections at 0.0, 0.1, ... 0.9 s; the client closes first
    net.run(70.5)
    assert res["ok"] == 10
    trace = net.sim.trace
    assert not any(r[1] == STATE for r in trace.records)  # nothing but counters kept ...
    samples = trace.count_samples
    assert all(r[1] == COUNTS for r in samples)
    # ... and a sample per host every second, from 0 to the end of the run.
    assert sorted({r[0] for r in samples}) == [float(k) for k in range(71)]
    assert _at(samples, "server", 0.0) == {"LISTEN": 1}
    # Each connection lasts ~40 ms; at 2 s every client socket waits in TIME_WAIT (60 s each).
    assert _at(samples, "client", 2.0) == {"TIME_WAIT": 10}
    assert _at(samples, "client", 60.0) == {"TIME_WAIT": 10}  # the first entered at ~0.03 s
    assert _at(samples, "client", 61.0) == {}
    assert trace.peak("client") == {"SYN_SENT": 1, "ESTABLISHED": 1, "FIN_WAIT1": 1, "FIN_WAIT2": 1,
                                    "TIME_WAIT": 10}
    assert trace.peak("server")["LISTEN"] == 1 and trace.state_now("server") == {"LISTEN": 1}
    assert trace.state_now("client") == {}


def test_count_interval_is_a_choice() -> None:
    from tcpsim.net import Simulation

    sim = Simulation(count_interval=0.25)
    assert sim.trace.count_interval == 0.25
    import pytest

    with pytest.raises(ValueError, match="count_interval must be positive"):
        Simulation(count_interval=0)


def test_the_counts_figure_falls_back_to_the_samples_at_trace_level_counters() -> None:
    from tcpsim.viz.counts import counts_figure, sampled_counts
    from tcpsim.viz.views import available_figures

    net = Net()
    net.sim.trace.level = Level.COUNTERS
    net.sim.trace.keep_states = net.sim.trace.keep_packets = False
    churn(net, 10, 1.0)
    net.run(70.5)
    records = net.sim.trace.records + net.sim.trace.count_samples
    assert available_figures(records) == ["counts"]
    times, series = sampled_counts(records)["client"]
    assert times[:3] == [0.0, 1.0, 2.0] and series["TIME_WAIT"][2] == 10
    fig = counts_figure(records)
    gids = {a.get_gid() for ax in fig.axes for a in ax.collections}
    assert {"count|client|TIME_WAIT", "count|server|LISTEN"} <= gids
    assert fig.axes[0].get_title(loc="left").endswith(", sampled every 1 s")


def test_long_runs_keep_a_bounded_number_of_samples_at_a_coarser_interval() -> None:
    net = Net()
    trace = net.sim.trace
    trace.max_count_samples = 100  # two hosts: 50 samples each at most
    churn(net, 10, 1.0)
    net.run(300.5)
    times = sorted({r[0] for r in trace.count_samples})
    assert len(trace.count_samples) <= 100
    assert trace.count_interval == 8.0  # 1 s, then 2, 4 and 8 s as the run went on
    assert times == [8.0 * k for k in range(38)]  # 0, 8, ..., 296: every sample on the grid
    assert _at(trace.count_samples, "client", 8.0) == {"TIME_WAIT": 10}
    assert _at(trace.count_samples, "client", 64.0) == {}
