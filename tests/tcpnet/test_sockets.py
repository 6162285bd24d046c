"""Socket API errors as Linux reports them, and TCB samples in the trace."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import SocketError
from tcpsim.net.tcp_layer import stack_of
from tcpsim.trace.records import SAMPLE, Level
from tests.tcpnet.helpers import SERVER, Net, server_app


def test_bind_in_use_and_time_wait_need_so_reuseaddr() -> None:
    net = Net()
    res: dict[str, Any] = {}
    net.process(server_app(net, results=res))

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("client")
        s.bind(5555)
        yield s.connect(SERVER, 80)
        yield s.send(b"x")
        s.shutdown("SHUT_WR")
        while (yield s.recv()):
            pass
        s.close()  # the client closed first: its port 5555 sits in TIME_WAIT

    net.process(client())
    net.run(5)
    assert any(c.state.value == "TIME_WAIT" and c.lport == 5555 for c in net.cs.conns.values())
    again = net.cs.socket("again")
    with pytest.raises(SocketError) as e:
        again.bind(5555)
    assert e.value.errno == "EADDRINUSE"
    reuse = net.cs.socket("reuse")
    reuse.setsockopt("SO_REUSEADDR", 1)
    reuse.bind(5555)  # allowed while only TIME_WAIT holds the port
    lst = net.ss.socket("second")
    with pytest.raises(SocketError) as e:
        lst.bind(80)  # the listener still holds it
    assert e.value.errno == "EADDRINUSE"


def test_ephemeral_ports_run_out_with_eaddrnotavail() -> None:
    net = Net(sysctls={"net.ipv4.ip_local_port_range": "40000 40004"})
    net.process(server_app(net, results={}))
    errors: list[tuple[str, int]] = []
    socks = []

    def client() -> Generator[Any, Any, None]:
        for i in range(7):
            s = net.cs.socket(f"c{i}")
            try:
                yield s.connect(SERVER, 80)
                socks.append(s)
            except SocketError as e:
                errors.append((e.errno, i))

    net.process(client())
    net.run(5)
    assert errors == [("EADDRNOTAVAIL", 5), ("EADDRNOTAVAIL", 6)]
    assert sorted(s.lport for s in socks) == [40000, 40001, 40002, 40003, 40004]


def test_connect_without_a_route_fails_at_once_with_enetunreach() -> None:
    net = Net()
    res: dict[str, Any] = {}

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("c")
        try:
            yield s.connect("203.0.113.77", 80)
        except SocketError as e:
            res["err"] = (e.errno, round(net.env.now, 6))

    net.process(client())
    net.run(5)
    assert res["err"] == ("ENETUNREACH", 0.01)  # the router's ICMP net unreachable, one hop back


def test_connect_to_a_dead_host_fails_with_ehostunreach() -> None:
    net = Net()
    net.sim.node_down("server")
    res: dict[str, Any] = {}

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("c")
        try:
            yield s.connect(SERVER, 80)
        except SocketError as e:
            res["err"] = (e.errno, round(net.env.now, 6))

    net.process(client())
    net.run(5)
    assert res["err"] == ("EHOSTUNREACH", 0.01)


def test_icmp_error_on_an_established_connection_is_soft() -> None:
    net = Net()
    socks: dict[str, Any] = {}
    net.process(server_app(net, results={}, behaviour="none"))

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("c")
        yield s.connect(SERVER, 80)
        socks["c"] = s

    net.process(client())
    net.run(1)
    net.sim.node_down("server")  # routers now answer host unreachable
    sock = socks["c"]
    ev = sock.send(b"data")
    net.run(2)
    assert ev.triggered and sock.conn is not None and sock.conn.state.value == "ESTABLISHED"
    assert sock.conn.soft_error == "EHOSTUNREACH"


def test_full_trace_level_samples_tcb_variables_when_they_change() -> None:
    sim = Simulation(seed=1, trace_level=Level.FULL)
    c = sim.add_host("client", "192.0.2.1")
    s = sim.add_host("server", "198.51.100.1")
    sim.add_link("client", "server", LinkParams(delay=0.01, bandwidth=10e6))
    cs, ss = stack_of(c), stack_of(s)

    def server() -> Generator[Any, Any, None]:
        lst = ss.socket("s")
        lst.bind(80)
        lst.listen()
        conn = yield lst.accept()
        while (yield conn.recv()):
            pass

    def client() -> Generator[Any, Any, None]:
        k = cs.socket("c")
        yield k.connect("198.51.100.1", 80)
        yield k.send(b"q" * 200_000)

    sim.env.process(server())
    sim.env.process(client())
    sim.run(until=5)
    samples = [r for r in sim.trace.records if r[1] == SAMPLE and r[2] == "client"]
    cwnds = [r[4]["cwnd"] for r in samples if r[4].get("cwnd")]  # 0 until the handshake sets it
    assert cwnds[0] == 10 * 1448 and cwnds == sorted(cwnds) and cwnds[-1] > cwnds[0]
    assert all(r[4] for r in samples)  # only what changed is recorded
    assert any("srtt" in r[4] for r in samples)
