"""Peers that die and come back, keepalive, ports and TIME_WAIT at scale (socket level)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tcpsim.net.socket import SocketError
from tests.tcpnet.helpers import CLIENT, SERVER, Net


def idle_pair(net: Net, keepalive: tuple[float, float, int] | None = None) -> dict[str, Any]:
    socks: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        lst = net.ss.socket("server")
        lst.bind(80)
        lst.listen()
        socks["s"] = yield lst.accept()
        try:
            while (yield socks["s"].recv()):
                pass
        except SocketError as e:
            socks["s_err"] = (e.errno, round(net.env.now, 6))

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("client")
        if keepalive is not None:
            idle, intvl, cnt = keepalive
            s.setsockopt("SO_KEEPALIVE", 1)
            s.setsockopt("TCP_KEEPIDLE", idle)
            s.setsockopt("TCP_KEEPINTVL", intvl)
            s.setsockopt("TCP_KEEPCNT", cnt)
        yield s.connect(SERVER, 80)
        socks["c"] = s
        try:
            while (yield s.recv()):
                pass
        except SocketError as e:
            socks["c_err"] = (e.errno, round(net.env.now, 6))

    net.process(server())
    net.process(client())
    return socks


def probes(net: Net) -> list[float]:
    return [t for t, f, s in net.sent("client") if f == "." and not s.payload and t > 0.05]


def test_keepalive_against_a_crashed_peer() -> None:
    net = Net()
    socks = idle_pair(net, keepalive=(2, 1, 3))
    net.at(0.5, lambda: net.sim.node_down("server"))
    net.sim.dynamic_routing = False  # the peer vanished silently: no ICMP either
    net.run(20)
    # Last activity at 0.02 s (the handshake): probes 2, 3 and 4 s later, then a RST and ETIMEDOUT.
    assert probes(net) == [2.02, 3.02, 4.02]
    rst = [(t, f) for t, f, _ in net.sent("client") if "R" in f]
    assert rst == [(5.02, "R.")]
    assert socks["c_err"] == ("ETIMEDOUT", 5.02)


def test_keepalive_against_a_rebooted_peer_gets_econnreset_at_the_first_probe() -> None:
    net = Net()
    socks = idle_pair(net, keepalive=(2, 1, 3))
    net.at(0.5, lambda: net.sim.node_down("server"))
    net.at(1.0, lambda: net.sim.node_up("server"))
    net.run(20)
    assert probes(net) == [2.02]
    assert socks["c_err"] == ("ECONNRESET", 2.04)  # the probe's answer is a RST


def test_keepalive_against_a_live_peer_probes_every_idle_period() -> None:
    net = Net()
    socks = idle_pair(net, keepalive=(2, 1, 3))
    net.run(9)
    # Each probe is answered, which restarts the idle time: 2.02, then 2 s after each answer.
    assert probes(net) == [2.02, 4.04, 6.06, 8.08]
    assert "c_err" not in socks
    assert socks["c"].conn.state.value == "ESTABLISHED"


def test_rebooted_server_resets_the_next_segment_then_epipe() -> None:
    net = Net()
    socks: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        lst = net.ss.socket("server")
        lst.bind(80)
        lst.listen()
        socks["s"] = yield lst.accept()

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("client")
        yield s.connect(SERVER, 80)
        yield net.env.timeout(5)
        yield s.send(b"hello?")  # the server rebooted at 2 s: this meets a RST
        try:
            yield s.recv()
        except SocketError as e:
            socks["recv"] = (e.errno, round(net.env.now, 6))
        try:
            yield s.send(b"again")
        except SocketError as e:
            socks["send"] = e.errno

    net.process(server())
    net.process(client())
    net.at(2.0, lambda: net.sim.node_down("server"))
    net.at(3.0, lambda: net.sim.node_up("server"))
    net.run(10)
    assert [(t, f) for t, f, _ in net.sent("server") if "R" in f] == [(5.03, "R")]
    assert socks["recv"] == ("ECONNRESET", 5.04)
    assert socks["send"] == "EPIPE"


def test_reconnect_from_the_same_tuple_after_client_reboot() -> None:
    net = Net()
    socks: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        lst = net.ss.socket("server")
        lst.bind(80)
        lst.listen()
        while True:
            c = yield lst.accept()
            socks.setdefault("accepted", []).append(round(net.env.now, 6))
            socks.setdefault("conns", []).append(c)

    def client(start: float) -> Generator[Any, Any, None]:
        yield net.env.timeout(start)
        s = net.cs.socket("client")
        s.bind(40000)
        yield s.connect(SERVER, 80)
        socks.setdefault("connected", []).append(round(net.env.now, 6))

    net.process(server())
    net.process(client(0.0))
    net.at(1.0, lambda: net.sim.node_down("client"))
    net.at(2.0, lambda: net.sim.node_up("client"))
    net.at(3.0, lambda: net.process(client(0.0)))
    net.run(10)
    flags_c = [(t, f) for t, f, _ in net.sent("client") if t >= 3]
    flags_s = [(t, f) for t, f, _ in net.sent("server") if t >= 3]
    # SYN meets the old ESTABLISHED connection: challenge ACK; the client answers RST; the
    # server's old connection dies; the SYN retransmitted 1 s later connects.
    assert flags_c[:3] == [(3.0, "S"), (3.02, "R"), (4.0, "S")]
    assert flags_s[:2] == [(3.01, "."), (4.01, "S.")]
    assert socks["connected"] == [0.02, 4.02]
    assert socks["accepted"] == [0.03, 4.03]


def churn(net: Net, rate: float, duration: float) -> dict[str, Any]:
    res: dict[str, Any] = {"ok": 0, "errors": []}

    def server() -> Generator[Any, Any, None]:
        lst = net.ss.socket("server")
        lst.bind(80)
        lst.listen(4096)
        while True:
            c = yield lst.accept()
            net.process(serve(c))

    def serve(c: Any) -> Generator[Any, Any, None]:
        while (yield c.recv()):
            pass
        c.close()

    def one() -> Generator[Any, Any, None]:
        s = net.cs.socket("churn")
        try:
            yield s.connect(SERVER, 80)
        except SocketError as e:
            res["errors"].append((e.errno, round(net.env.now, 6)))
            return
        res["ok"] += 1
        s.close()  # the client closes first, so the client side holds TIME_WAIT

    def driver() -> Generator[Any, Any, None]:
        n = int(rate * duration)
        for _ in range(n):
            net.process(one())
            yield net.env.timeout(1 / rate)

    net.process(server())
    net.process(driver())
    return res


def test_churn_runs_out_of_ports_within_time_wait() -> None:
    net = Net(sysctls={"net.ipv4.ip_local_port_range": "40000 40999"})
    res = churn(net, 100, 15)
    net.run(16)
    first = res["errors"][0]
    assert first[0] == "EADDRNOTAVAIL"
    assert first[1] == pytest.approx(10.0, abs=0.05)  # 1,000 ports at 100 per second
    assert res["ok"] == 1000 + 0  # nothing more until TIME_WAIT (60 s) frees a port


def test_churn_with_tcp_tw_reuse_does_not_run_out() -> None:
    net = Net(sysctls={"net.ipv4.ip_local_port_range": "40000 40999", "net.ipv4.tcp_tw_reuse": 1})
    res = churn(net, 100, 15)
    net.run(16)
    assert res["errors"] == []
    assert res["ok"] == 1500


def test_tcp_max_tw_buckets_destroys_extra_time_wait_sockets() -> None:
    net = Net(sysctls={"net.ipv4.tcp_max_tw_buckets": 10})
    res = churn(net, 100, 0.5)
    net.run(2)
    assert res["ok"] == 50
    tw = [c for c in net.cs.conns.values() if c.state.value == "TIME_WAIT"]
    assert len(tw) == 10 and net.cs.counters["tw_destroyed"] == 40


def test_client_addresses() -> None:
    assert CLIENT != SERVER
