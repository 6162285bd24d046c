"""Links: serialization and queues, loss models, duplication, corruption, reordering, jitter, MTU."""

from __future__ import annotations

import io

import pytest
from net_helpers import Sink, chain, send_at

from tcpsim.net import GilbertElliott, Host, Link, LinkParams, Simulation
from tcpsim.trace import Level


def pair(params: LinkParams, seed: int = 1, level: Level = Level.PACKETS,
         ba: LinkParams | None = None) -> tuple[Simulation, Host, Host, Link, Sink]:
    """Two hosts on one link, a sink on the second."""
    sim = Simulation(seed=seed, trace_level=level)
    a, b = sim.add_host("a"), sim.add_host("b")
    link = sim.add_link("a", "b", params, ba)
    return sim, a, b, link, Sink(b)


def burst(sim: Simulation, host: Host, dst: str, n: int, t: float = 0.0, size: int = 1000, gap: float = 0.0) -> None:
    for i in range(n):
        send_at(sim, host, dst, t + i * gap, i, size)


# -- timing -------------------------------------------------------------------

def test_serialization_then_propagation() -> None:
    sim, a, b, _, sink = pair(LinkParams(bandwidth=8e6, delay=0.010))
    burst(sim, a, b.address, 3)   # three 1000-byte packets at t=0: 1 ms each on the wire
    sim.run()
    assert sink.times == pytest.approx([0.011, 0.012, 0.013], abs=1e-12)
    assert sink.seqs == [0, 1, 2]


def test_idle_link_starts_serializing_at_arrival() -> None:
    sim, a, b, _, sink = pair(LinkParams(bandwidth=8e6, delay=0.0))
    send_at(sim, a, b.address, 0.0, 0)
    send_at(sim, a, b.address, 0.0005, 1)   # waits 0.5 ms behind the first
    send_at(sim, a, b.address, 0.5, 2)      # link idle again
    sim.run()
    assert sink.times == pytest.approx([0.001, 0.002, 0.501], abs=1e-12)


def test_infinite_bandwidth_is_pure_delay() -> None:
    sim, a, b, _, sink = pair(LinkParams(delay=0.25))
    burst(sim, a, b.address, 5)
    sim.run()
    assert sink.times == [0.25] * 5 and sink.seqs == [0, 1, 2, 3, 4]


def test_asymmetric_directions() -> None:
    sim, a, b, link, _ = pair(LinkParams(delay=0.1), ba=LinkParams(delay=0.3))
    sink_a = Sink(a)
    send_at(sim, b, a.address, 0.0, 7)
    sim.run()
    assert sink_a.times == [0.3]
    assert (link.ab.params.delay, link.ba.params.delay) == (0.1, 0.3)


# -- drop-tail queue --------------------------------------------------------------

def test_burst_bigger_than_queue_is_tail_dropped() -> None:
    sim, a, b, link, sink = pair(LinkParams(bandwidth=1e6, delay=0.001, queue_packets=10))
    burst(sim, a, b.address, 50)
    sim.run()
    # One packet on the serializer plus 10 waiting are accepted; the other 39 are tail-dropped.
    assert sink.seqs == list(range(11))
    assert link.ab.dropped == {"queue": 39}
    assert sim.trace.counters[("a", "drop:queue")] == 39
    drops = list(sim.trace.packets("drop"))
    assert {r[5] for r in drops} == {"a->b"} and {r[6] for r in drops} == {"queue"}
    assert [r[4].payload.seq for r in drops] == list(range(11, 50))   # the tail
    assert (link.ab.sent, link.ab.delivered) == (50, 11)
    # 8 ms per packet at 1 Mbit/s.
    assert sink.times == pytest.approx([0.001 + 0.008 * (k + 1) for k in range(11)], abs=1e-12)


def test_queue_frees_up_as_packets_leave() -> None:
    sim, a, b, link, sink = pair(LinkParams(bandwidth=1e6, queue_packets=2))
    burst(sim, a, b.address, 5)                # 3 accepted, 2 dropped
    # 8 ms each: by t=0.0161 two are gone and the third is on the serializer,
    # so the queue has room for 2 of the next 5.
    burst(sim, a, b.address, 5, t=0.0161)
    sim.run()
    assert link.ab.dropped["queue"] == 2 + 3
    assert len(sink.got) == 5


def test_byte_limited_queue() -> None:
    sim, a, b, link, sink = pair(LinkParams(bandwidth=1e6, queue_packets=None, queue_bytes=4500))
    burst(sim, a, b.address, 10)               # 1000 B each: 1 serializing + 4 waiting (4000 <= 4500)
    burst(sim, a, b.address, 1, t=0.0, size=500)   # 4000 + 500 still fits
    burst(sim, a, b.address, 1, t=0.0, size=100)   # 4600 does not
    sim.run()
    assert len(sink.got) == 6
    assert link.ab.dropped["queue"] == 6
    assert [p.size for _, p in sink.got] == [1000] * 5 + [500]


def test_unlimited_queue() -> None:
    sim, a, b, link, sink = pair(LinkParams(bandwidth=1e6, queue_packets=None))
    burst(sim, a, b.address, 3000)
    sim.run()
    assert len(sink.got) == 3000 and not link.ab.dropped


def test_queue_len() -> None:
    sim, a, _, link, _ = pair(LinkParams(bandwidth=1e6))
    burst(sim, a, "192.0.2.2", 4)
    sim.run(until=0.0085)
    assert link.ab.queue_len == 3


# -- loss ---------------------------------------------------------------------

def test_independent_loss_rate() -> None:
    sim, a, b, link, sink = pair(LinkParams(delay=0.001, loss=0.3), level=Level.COUNTERS)
    burst(sim, a, b.address, 10_000, gap=0.0001)
    sim.run()
    lost = link.ab.dropped["loss"]
    assert 2800 <= lost <= 3200
    assert lost + len(sink.got) == 10_000
    assert sim.trace.counters[("a", "drop:loss")] == lost


def _trace_text(seed: int) -> str:
    sim, a, b, _, _ = pair(LinkParams(bandwidth=2e6, delay=0.01, loss=0.1, jitter=0.002, duplicate=0.05,
                                      reorder=0.05, corrupt=0.02), seed=seed)
    burst(sim, a, b.address, 300, gap=0.001)
    sim.run()
    out = io.StringIO()
    sim.trace.write_jsonl(out)
    return out.getvalue()


def test_same_seed_same_trace_other_seed_other_trace() -> None:
    one, two, other = _trace_text(7), _trace_text(7), _trace_text(8)
    assert one == two
    assert one != other
    assert '"reason":"loss"' in one and '"corrupted":true' in one


def test_gilbert_elliott_long_run_rate_and_bursts() -> None:
    ge = GilbertElliott(p=0.01, r=0.1)
    sim, a, b, link, sink = pair(LinkParams(delay=0.0, gilbert=ge), level=Level.COUNTERS)
    n = 100_000
    burst(sim, a, b.address, n, gap=0.00001, size=100)
    sim.run()
    lost = link.ab.dropped["loss"]
    assert ge.loss_rate == pytest.approx(0.01 / 0.11)
    assert lost / n == pytest.approx(ge.loss_rate, rel=0.1)
    # Losses come in bursts of mean length 1/r = 10 packets.
    received = set(sink.seqs)
    bursts, run = [], 0
    for i in range(n):
        if i in received:
            if run:
                bursts.append(run)
            run = 0
        else:
            run += 1
    assert sum(bursts) / len(bursts) == pytest.approx(10, rel=0.15)


def test_gilbert_elliott_with_partial_loss_in_each_state() -> None:
    ge = GilbertElliott(p=0.05, r=0.2, loss_good=0.01, loss_bad=0.5)
    sim, a, b, link, _ = pair(LinkParams(gilbert=ge), level=Level.COUNTERS)
    burst(sim, a, b.address, 50_000, gap=0.00001, size=100)
    sim.run()
    assert link.ab.dropped["loss"] / 50_000 == pytest.approx(0.8 * 0.01 + 0.2 * 0.5, rel=0.1)


# -- duplication, corruption, reordering, jitter, MTU ------------------------------

def test_duplication() -> None:
    sim, a, b, link, sink = pair(LinkParams(delay=0.001, duplicate=1.0))
    burst(sim, a, b.address, 10, gap=0.01)
    sim.run()
    assert sink.seqs == [s for s in range(10) for _ in range(2)]
    assert (link.ab.sent, link.ab.duplicated, link.ab.delivered) == (10, 10, 20)


def test_duplication_rate() -> None:
    sim, a, b, link, sink = pair(LinkParams(duplicate=0.2), level=Level.COUNTERS)
    burst(sim, a, b.address, 10_000, gap=0.0001)
    sim.run()
    assert 1800 <= link.ab.duplicated <= 2200
    assert len(sink.got) == 10_000 + link.ab.duplicated


def test_duplicate_takes_its_own_serialization_time() -> None:
    sim, a, b, _, sink = pair(LinkParams(bandwidth=8e6, duplicate=1.0))
    send_at(sim, a, b.address, 0.0, 0)
    sim.run()
    assert sink.times == pytest.approx([0.001, 0.002], abs=1e-12)


def test_corruption_is_a_checksum_drop_at_the_receiver() -> None:
    sim, a, b, link, sink = pair(LinkParams(delay=0.001, corrupt=1.0))
    burst(sim, a, b.address, 25, gap=0.001)
    sim.run()
    assert sink.got == []
    assert link.ab.corrupted == 25 and link.ab.delivered == 25
    assert sim.trace.counters[("b", "drop:checksum")] == 25
    assert b.dropped["checksum"] == 25
    drops = list(sim.trace.packets("drop", node="b"))
    assert all(r[4].corrupted and r[6] == "checksum" for r in drops)
    # The sender's record shows the packet as it was sent: intact.
    assert not any(r[4].corrupted for r in sim.trace.packets("send"))


def test_corrupted_packet_is_dropped_by_a_router_too() -> None:
    sim, h1, h2, _, _ = chain(1, [LinkParams(corrupt=1.0), LinkParams()])
    sink = Sink(h2)
    send_at(sim, h1, h2.address, 0.0, 1)
    sim.run()
    assert sink.got == [] and sim.trace.counters[("r1", "drop:checksum")] == 1


def test_reordering_lets_later_packets_overtake() -> None:
    sim, a, b, link, sink = pair(LinkParams(delay=0.010, reorder=0.1))
    burst(sim, a, b.address, 1000, gap=0.001)
    sim.run()
    held = link.ab.reordered
    assert 70 <= held <= 130
    assert sorted(sink.seqs) == list(range(1000))   # nothing lost or duplicated
    assert sink.seqs != list(range(1000))
    # Default hold: 2 * delay + 1 ms = 21 ms, so a held packet lands 21 ms late.
    sent_at = {s: s * 0.001 for s in range(1000)}
    late = [t - sent_at[s] for t, s in zip(sink.times, sink.seqs, strict=True) if t - sent_at[s] > 0.0101]
    assert len(late) == held
    assert late == pytest.approx([0.031] * held, abs=1e-9)


def test_explicit_reorder_delay() -> None:
    sim, a, b, _, sink = pair(LinkParams(delay=0.010, reorder=1.0, reorder_delay=0.005))
    burst(sim, a, b.address, 3, gap=0.001)
    sim.run()
    assert sink.times == pytest.approx([0.015, 0.016, 0.017])


def test_jitter_never_reorders_by_itself() -> None:
    sim, a, b, _, sink = pair(LinkParams(delay=0.010, jitter=0.050))
    burst(sim, a, b.address, 2000, gap=0.001)
    sim.run()
    assert sink.seqs == list(range(2000))
    times = sink.times
    assert all(t1 <= t2 for t1, t2 in zip(times, times[1:], strict=False))
    delays = [t - s * 0.001 for t, s in zip(times, sink.seqs, strict=True)]
    assert min(delays) >= 0.010 and max(delays) <= 0.060 + 1e-12
    assert max(delays) > 0.050   # jitter did spread them


def test_jitter_keeps_order_with_bandwidth_too() -> None:
    sim, a, b, _, sink = pair(LinkParams(bandwidth=10e6, delay=0.001, jitter=0.003))
    burst(sim, a, b.address, 500)
    sim.run()
    assert sink.seqs == list(range(500))


def test_mtu_drop() -> None:
    sim, a, b, link, sink = pair(LinkParams(mtu=576))
    send_at(sim, a, b.address, 0.0, 1, ip_size=576)
    send_at(sim, a, b.address, 0.0, 2, ip_size=577)
    sim.run()
    assert sink.seqs == [1]
    assert link.ab.dropped == {"mtu": 1}
    assert sim.trace.counters[("a", "drop:mtu")] == 1


# -- failures and parameter changes --------------------------------------------------------

def test_link_down_drops_what_it_carries_and_later_packets() -> None:
    sim, a, b, link, sink = pair(LinkParams(delay=0.1))
    burst(sim, a, b.address, 100, gap=0.01)        # seq i sent at i * 10 ms
    sim.call_at(0.505, sim.link_down, "a-b")
    sim.call_at(0.805, sim.link_up, "a-b")
    sim.run()
    # Delivered: those that arrived before the cut (sent up to 0.40), and those sent after repair.
    assert sink.seqs == list(range(0, 41)) + list(range(81, 100))
    # In flight at the cut (sent 0.41 .. 0.50): lost when they would have arrived.
    drops = list(sim.trace.packets("drop"))
    in_flight = [r for r in drops if r[4].payload.seq <= 50]
    assert [r[4].payload.seq for r in in_flight] == list(range(41, 51))
    assert [r[0] for r in in_flight] == pytest.approx([s * 0.01 + 0.1 for s in range(41, 51)])
    # Sent into the dead link (0.51 .. 0.80): lost at once.
    sent_into = [r for r in drops if r[4].payload.seq > 50]
    assert [(r[4].payload.seq, r[0]) for r in sent_into] == [(s, pytest.approx(s * 0.01)) for s in range(51, 81)]
    assert all((r[2], r[5], r[6]) == ("a", "a->b", "link-down") for r in drops)
    assert link.ab.dropped == {"link-down": 40}
    node_events = [(r[0], r[2], r[3]) for r in sim.trace.of_kind("node")]
    assert node_events == [(0.505, "a-b", "link-down"), (0.805, "a-b", "link-up")]


def test_set_params_mid_run() -> None:
    sim, a, b, link, sink = pair(LinkParams(delay=0.1))
    burst(sim, a, b.address, 4, gap=0.01)
    sim.call_at(0.015, lambda: link.set_params("a", delay=0.01))   # a->b only
    sim.run()
    # Packets 0, 1 keep 100 ms; 2, 3 would arrive at 0.03/0.04 but may not overtake packet 1.
    assert sink.seqs == [0, 1, 2, 3]
    assert sink.times == pytest.approx([0.1, 0.11, 0.11, 0.11])
    assert link.ab.params.delay == 0.01 and link.ba.params.delay == 0.1
    link.set_params(loss=0.5)
    assert link.ab.params.loss == link.ba.params.loss == 0.5
    link.set_params("b->a", loss=0.0)
    assert link.ba.params.loss == 0.0
    with pytest.raises(ValueError, match="probability"):
        link.set_params(loss=2)
    with pytest.raises(ValueError, match="bad parameter"):
        link.set_params(latency=1)
    with pytest.raises(ValueError, match="no direction"):
        link.set_params("c", loss=0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"delay": -1}, "delay"), ({"jitter": -0.1}, "jitter"), ({"loss": 1.5}, "loss"),
    ({"loss": -0.1}, "loss"), ({"duplicate": 2}, "duplicate"), ({"corrupt": -1}, "corrupt"),
    ({"reorder": 1.1}, "reorder"), ({"bandwidth": 0}, "bandwidth"), ({"bandwidth": -5.0}, "bandwidth"),
    ({"queue_packets": -1}, "queue_packets"), ({"queue_bytes": 1.5}, "queue_bytes"), ({"mtu": 10}, "mtu"),
])
def test_link_params_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LinkParams(**kwargs)  # type: ignore[arg-type]


def test_gilbert_validation() -> None:
    with pytest.raises(ValueError, match="gilbert.p"):
        GilbertElliott(p=1.5, r=0.1)
