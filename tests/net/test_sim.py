"""The Simulation API: validation, addressing, random streams, scheduling, crashes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest
import simpy
from net_helpers import Sink, chain, send_at

from tcpsim.net import Host, LinkParams, Router, Simulation
from tcpsim.net.sched import Call, push
from tcpsim.trace import Level

ROOT = Path(__file__).resolve().parents[2]


# -- validation --------------------------------------------------------------------

def test_bad_api_use_raises_value_error() -> None:
    sim = Simulation()
    sim.add_host("a")
    sim.add_router("r")
    with pytest.raises(ValueError, match="duplicate node name 'a'"):
        sim.add_host("a")
    with pytest.raises(ValueError, match="duplicate node name 'r'"):
        sim.add_router("r")
    with pytest.raises(ValueError, match="duplicate address 192.0.2.1"):
        sim.add_host("b", address="192.0.2.1")
    with pytest.raises(ValueError, match="not an IPv4 address"):
        sim.add_host("c", address="300.1.1.1")
    with pytest.raises(ValueError, match="unknown node 'nope'"):
        sim.add_link("a", "nope", LinkParams())
    with pytest.raises(ValueError, match="two different nodes"):
        sim.add_link("a", "a", LinkParams())
    sim.add_link("a", "r", LinkParams())
    with pytest.raises(ValueError, match="already joined"):
        sim.add_link("r", "a", LinkParams(), name="again")
    sim.add_router("r2")
    with pytest.raises(ValueError, match="duplicate link name 'a-r'"):
        sim.add_link("r", "r2", LinkParams(), name="a-r")
    with pytest.raises(ValueError, match="duplicate address 203.0.113.1"):
        sim.add_link("r", "r2", LinkParams(), addr_b="203.0.113.1")
    with pytest.raises(ValueError, match="a host has one address"):
        sim.add_link("a", "r2", LinkParams(), addr_a="192.0.2.77")
    with pytest.raises(ValueError, match="must be LinkParams"):
        sim.add_link("r", "r2", {"delay": 1})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative delay"):
        sim.call_later(-1, print)
    with pytest.raises(ValueError, match="in the past"):
        sim.run(until=1.0)
        sim.call_at(0.5, print)
    with pytest.raises(ValueError, match="routing"):
        Simulation(routing="ospf")
    with pytest.raises(ValueError, match="unknown link"):
        sim.link_down("x-y")
    with pytest.raises(ValueError, match="unknown node"):
        sim.node_down("x")
    # A failed add_link leaves nothing half-made.
    assert set(sim.links) == {"a-r"} and sim.address_owner("203.0.113.2") is None


def test_address_assignment() -> None:
    sim = Simulation()
    hosts = [sim.add_host(f"h{i}") for i in range(256)]
    assert [h.address for h in hosts[:2]] == ["192.0.2.1", "192.0.2.2"]
    assert hosts[253].address == "192.0.2.254"
    assert hosts[254].address == "198.51.100.1"
    r1, r2 = sim.add_router("r1"), sim.add_router("r2")
    sim.add_link("h0", "r1", LinkParams())
    link = sim.add_link("r1", "r2", LinkParams())
    sim.add_link("r2", "h1", LinkParams(), addr_a="203.0.113.9")
    sim.add_link("r1", "h2", LinkParams())
    assert r1.addresses == ["203.0.113.1", "203.0.113.2", "203.0.113.4"]
    assert r2.addresses == ["203.0.113.3", "203.0.113.9"]
    assert (link.addr_a, link.addr_b) == ("203.0.113.2", "203.0.113.3")
    assert r1.address == "203.0.113.1"
    assert sim.address_owner("203.0.113.9") is r2
    # Explicit addresses are skipped by the automatic ones.
    assert hosts[255].address == "198.51.100.2"
    sim.add_host("x", address="198.51.100.4")
    assert sim.add_host("y").address == "198.51.100.3"
    assert sim.add_host("z").address == "198.51.100.5"


def test_graph_and_registries() -> None:
    sim, h1, h2, routers, links = chain(2, LinkParams())
    assert set(sim.nodes) == {"h1", "h2", "r1", "r2"}
    assert isinstance(sim.nodes["h1"], Host) and isinstance(sim.nodes["r1"], Router)
    assert set(sim.links) == {"h1-r1", "r1-r2", "r2-h2"}
    assert {frozenset(e) for e in sim.graph.edges} == {frozenset(e) for e in [("h1", "r1"), ("r1", "r2"), ("r2", "h2")]}
    assert sim.graph.edges["r1", "r2"]["link"] is sim.links["r1-r2"]
    assert links[1].ab.name == "r1->r2" and links[1].ba.name == "r2->r1"
    assert h1.profile == "linux" and h1.ttl == 64


# -- randomness ----------------------------------------------------------------------

def test_rng_streams_are_derived_from_seed_and_name() -> None:
    a, b = Simulation(seed=5), Simulation(seed=5)
    assert a.rng("x").random() == b.rng("x").random()
    assert a.rng("x").random() != a.rng("y").random()
    assert a.rng("x").random() != Simulation(seed=6).rng("x").random()


def test_rng_does_not_depend_on_the_process_hash_salt() -> None:
    code = "from tcpsim.net import Simulation; print(repr(Simulation(seed=3).rng('link:a-b:a->b').random()))"
    outs = set()
    for salt in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=salt, PYTHONPATH=str(ROOT))
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)
    assert len(outs) == 1
    assert outs == {repr(Simulation(seed=3).rng("link:a-b:a->b").random()) + "\n"}


# -- scheduling ------------------------------------------------------------------------

def test_call_at_and_call_later_order_and_times() -> None:
    sim = Simulation()
    seen: list[tuple[float, str]] = []
    sim.call_at(2.0, lambda tag: seen.append((sim.now, tag)), "b")
    sim.call_at(1.0, lambda tag: seen.append((sim.now, tag)), "a")
    sim.call_at(2.0, lambda tag: seen.append((sim.now, tag)), "c")   # same time: FIFO
    sim.call_later(0.5, lambda: sim.call_later(0.25, lambda: seen.append((sim.now, "nested"))))
    sim.run()
    assert seen == [(0.75, "nested"), (1.0, "a"), (2.0, "b"), (2.0, "c")]


def test_run_until_is_absolute_and_resumable() -> None:
    sim = Simulation()
    seen: list[float] = []
    for t in (1.0, 2.0, 3.0):
        sim.call_at(t, lambda: seen.append(sim.now))
    sim.run(until=2.5)
    assert seen == [1.0, 2.0] and sim.now == 2.5
    sim.run(until=2.5)   # no-op
    sim.run()
    assert seen == [1.0, 2.0, 3.0]


def test_sched_shim_interleaves_fifo_with_simpy_events() -> None:
    """Guards the SimPy internals sched.py relies on (see its docstring)."""
    env = simpy.Environment()
    order: list[str] = []
    env.timeout(1.0).callbacks.append(lambda ev: order.append("timeout-1"))
    push(env, 1.0, (lambda ev: order.append(f"call-{ev.value}"),), "x")
    env.timeout(1.0).callbacks.append(lambda ev: order.append("timeout-2"))

    def proc(env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        yield env.timeout(1.0)
        order.append("process")

    env.process(proc(env))
    env.run()
    assert order == ["timeout-1", "call-x", "timeout-2", "process"]
    assert env.now == 1.0
    with pytest.raises(ValueError, match="past"):
        push(env, 0.5, ())
    assert Call((), 3).value == 3


def test_run_restores_gc_thresholds() -> None:
    before = gc.get_threshold()
    sim, h1, h2, _, _ = chain(1, LinkParams())
    sim.run()
    assert gc.get_threshold() == before


# -- crashes -------------------------------------------------------------------------------

def test_host_crash_hooks_and_drops() -> None:
    sim, h1, h2, _, links = chain(1, LinkParams(delay=0.01, bandwidth=1e6))
    sink = Sink(h2)
    calls: list[str] = []
    h2.on_down.append(lambda: calls.append("down"))
    h2.on_up.append(lambda: calls.append("up"))
    h1.on_down.append(lambda: calls.append("h1 down"))
    send_at(sim, h1, h2.address, 0.0, 1)      # arrives 0.036
    send_at(sim, h1, h2.address, 0.020, 2)    # on r1->h2 (0.038 .. 0.056) when h2 crashes
    sim.call_at(0.040, sim.node_down, "h2")
    send_at(sim, h2, h1.address, 0.045, 3)    # a crashed host sends nothing
    sim.call_at(0.100, sim.node_up, "h2")
    send_at(sim, h1, h2.address, 0.2, 4)
    sim.run()
    assert sink.seqs == [1, 4]
    assert calls == ["down", "up"]
    assert h2.dropped == {"host-down": 2}     # seq 2 on arrival, seq 3 on sending
    assert sim.trace.counters[("h2", "drop:host-down")] == 2
    assert [(r[2], r[3]) for r in sim.trace.of_kind("node")] == [("h2", "crash"), ("h2", "reboot")]


def test_crash_loses_what_the_node_had_queued() -> None:
    sim, h1, h2, _, links = chain(0, LinkParams(bandwidth=1e6, delay=0.001))
    sink = Sink(h2)
    for i in range(10):
        send_at(sim, h1, h2.address, 0.0, i)     # 8 ms each on the wire
    sim.call_at(0.020, sim.node_down, "h1")
    sim.run()
    assert sink.seqs == [0, 1]
    assert links[0].ab.dropped == {"host-down": 8}


def test_counters_level_keeps_no_packet_records() -> None:
    sim, h1, h2, _, _ = chain(2, LinkParams(loss=0.5), level=Level.COUNTERS)
    for i in range(100):
        send_at(sim, h1, h2.address, i * 0.001, i)
    sim.run()
    assert not list(sim.trace.packets())
    assert sim.trace.counters[("h1", "send")] == 100


def test_no_simpy_process_per_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []
    original = simpy.events.Process.__init__

    def counting_init(self: simpy.events.Process, *args: object, **kwargs: object) -> None:
        started.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(simpy.events.Process, "__init__", counting_init)
    sim, h1, h2, _, _ = chain(3, LinkParams(bandwidth=1e6, delay=0.001, jitter=0.001, loss=0.1))
    sink = Sink(h2)
    for i in range(200):
        send_at(sim, h1, h2.address, i * 0.001, i)
    sim.run()
    assert len(sink.got) > 100
    assert started == []
