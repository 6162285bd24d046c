"""Data transfer over the network: link utilisation, the Mathis bound, a peer that vanishes."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import pytest

from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import SocketError
from tcpsim.net.tcp_layer import stack_of
from tests.tcpnet.transfer import transfer


def test_ten_megabytes_fill_a_10_mbit_link() -> None:
    data = bytes(range(256)) * 39063  # 10,000,128 bytes
    r = transfer(data, LinkParams(delay=0.020, bandwidth=10e6), until=100)
    assert r.got == data
    # Measure after slow start: from the moment 1 MB has arrived.
    sim = r.sim
    recv = [(rec[0], rec[4].size) for rec in sim.trace.records
            if rec[1] == "pkt" and rec[2] == "server" and rec[3] == "recv" and rec[4].size > 100]
    total = 0
    start = None
    for t, size in recv:
        total += size
        if start is None and total >= 1_000_000:
            start, base = t, total
    end = recv[-1][0]
    wire_rate = (total - base) * 8 / (end - start)
    print(f"wire rate after slow start: {wire_rate / 1e6:.3f} Mbit/s of 10")
    assert wire_rate >= 0.9 * 10e6


def test_goodput_with_one_percent_loss_is_near_mathis() -> None:
    data = b"m" * 3_000_000
    mss, rtt, p = 1448, 0.040, 0.01
    mathis = mss * 8 / rtt * 1.22 / math.sqrt(p)
    rates = []
    for seed in (1, 2, 3):
        r = transfer(data, LinkParams(delay=0.020, bandwidth=10e6, loss=p), LinkParams(delay=0.020, bandwidth=10e6),
                     until=2000, seed=seed)
        assert r.got == data
        assert r.done_at is not None and r.first_byte_at is not None
        rates.append(len(data) * 8 / (r.done_at - r.first_byte_at))
    mean = sum(rates) / len(rates)
    print(f"goodput {mean / 1e6:.3f} Mbit/s, Mathis {mathis / 1e6:.3f} Mbit/s")
    assert mathis / 2 <= mean <= mathis * 2


def vanishing_peer(profile: str) -> tuple[list[float], float, str]:
    sim = Simulation(seed=3)
    c = sim.add_host("client", "192.0.2.1", profile=profile)
    s = sim.add_host("server", "198.51.100.1", profile=profile)
    sim.add_link("client", "server", LinkParams(delay=0.0005, bandwidth=100e6))
    cs, ss = stack_of(c), stack_of(s)
    out: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        lst = ss.socket("sink")
        lst.bind(80)
        lst.listen()
        conn = yield lst.accept()
        while True:
            d = yield conn.recv()
            if not d:
                return

    def client() -> Generator[Any, Any, None]:
        sock = cs.socket("bulk")
        yield sock.connect("198.51.100.1", 80)
        yield sim.env.timeout(1.0)
        sim.node_down("server")  # the peer vanishes: no FIN, no RST, no ICMP
        out["t0"] = sim.now
        try:
            yield sock.send(b"z" * 1000)
            yield sock.recv()
        except SocketError as e:
            out["err"] = (e.errno, sim.now)

    sim.env.process(server())
    sim.env.process(client())
    sim.dynamic_routing = False  # the path stays: packets vanish at the dead host
    sim.run(until=3000)
    sends = [r[0] for r in sim.trace.records if r[1] == "pkt" and r[2] == "client" and r[3] == "send"
             and r[4].payload.payload]
    return sends, out["err"][1] - out["t0"], out["err"][0]


def test_vanishing_peer_linux_gives_up_at_the_modelled_time() -> None:
    sends, elapsed, err = vanishing_peer("linux")
    assert err == "ETIMEDOUT"
    gaps = [round(b - a, 6) for a, b in zip(sends, sends[1:], strict=False)]
    assert max(gaps) == pytest.approx(120.0)  # backoff capped at TCP_RTO_MAX
    assert gaps == sorted(gaps)  # exponential, then flat
    assert elapsed == pytest.approx(924.6, rel=0.01)
    print(f"linux: {len(sends) - 1} retransmissions, ETIMEDOUT after {elapsed:.3f} s (model 924.6 s)")


def test_vanishing_peer_windows_xp_gives_up_after_five_retransmissions() -> None:
    sends, elapsed, err = vanishing_peer("windows-xp")
    assert err == "ETIMEDOUT"
    assert len(sends) == 1 + 5


def test_receive_window_autotuning_fills_a_long_fat_pipe() -> None:
    # 100 Mbit/s with a 100 ms RTT needs 1.25 MB in flight: far beyond the initial 64 KB window.
    data = b"f" * 20_000_000
    r = transfer(data, LinkParams(delay=0.050, bandwidth=100e6, queue_packets=2000), until=200)
    assert r.got == data
    assert r.done_at is not None and r.first_byte_at is not None
    rate = len(data) * 8 / (r.done_at - r.first_byte_at)
    print(f"long fat pipe: {rate / 1e6:.1f} Mbit/s over 20 MB, ramp-up included")
    assert rate > 50e6  # a fixed 64 KB window would give 64240 * 8 / 0.1 = 5.1 Mbit/s
