"""End-to-end TCP over hosts, a router and links: one test per classic exchange."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tcpsim.net.socket import SocketError
from tcpsim.wire.segment import ACK, FIN, SYN
from tests.tcpnet.helpers import CLIENT, SERVER, Net, server_app

RTT = 0.020


def client_app(net: Net, payload: bytes, res: dict[str, Any], half_close: bool = False,
               port: int = 80) -> Generator[Any, Any, None]:
    s = net.cs.socket("client")
    try:
        yield s.connect(SERVER, port)
    except SocketError as e:
        res["error"] = (e.errno, round(net.env.now, 6))
        return
    res["connected_at"] = round(net.env.now, 6)
    if payload:
        yield s.send(payload)
    if half_close:
        s.shutdown("SHUT_WR")
    else:
        s.shutdown("SHUT_WR")
    got = b""
    while True:
        d = yield s.recv()
        if not d:
            break
        got += d
    res["got"] = got
    s.close()


def test_handshake_segments_and_states() -> None:
    net = Net()
    sres: dict[str, Any] = {}
    cres: dict[str, Any] = {}
    net.process(server_app(net, results=sres))
    net.process(client_app(net, b"", cres))
    net.run(1)
    syn, synack, ack = net.sent("client")[0], net.sent("server")[0], net.sent("client")[1]
    assert (syn[0], syn[1]) == (0.0, "S")
    assert (synack[0], synack[1]) == (0.01, "S.")
    assert (ack[0], ack[1]) == (0.02, ".")
    assert synack[2].ack == syn[2].seq + 1 and ack[2].ack == synack[2].seq + 1
    assert cres["connected_at"] == 0.02
    assert net.states("client")[:2] == [(0.0, "CLOSED", "SYN_SENT"), (0.02, "SYN_SENT", "ESTABLISHED")]
    assert net.states("server")[:2] == [(0.01, "LISTEN", "SYN_RECV"), (0.03, "SYN_RECV", "ESTABLISHED")]


def test_data_arrives_whole_and_in_order() -> None:
    net = Net()
    sres: dict[str, Any] = {}
    cres: dict[str, Any] = {}
    payload = bytes(range(256)) * 400  # 102,400 bytes
    net.process(server_app(net, results=sres))
    net.process(client_app(net, payload, cres))
    net.run(10)
    assert sres["got"] == payload
    assert cres["got"] == payload  # echoed back


def test_four_way_close_and_time_wait_60s() -> None:
    net = Net()
    net.process(server_app(net, results={}))
    net.process(client_app(net, b"hi", {}))
    net.run(100)
    c = [s for _, _, s in net.states("client")]
    sv = [s for _, _, s in net.states("server")]
    assert c == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSED"]
    assert sv == ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
    tw = [t for t, _, s in net.states("client") if s == "TIME_WAIT"][0]
    closed = [t for t, a, s in net.states("client") if a == "TIME_WAIT"][0]
    assert closed - tw == pytest.approx(60.0)


def test_half_close_with_data_both_ways() -> None:
    net = Net()
    log: list[tuple[str, float, bytes]] = []

    def server() -> Generator[Any, Any, None]:
        lst = net.ss.socket("server")
        lst.bind(80)
        lst.listen()
        c = yield lst.accept()
        d = yield c.recv()
        log.append(("server-got", net.env.now, d))
        eof = yield c.recv()
        log.append(("server-eof", net.env.now, eof))
        # The client has half-closed; the server keeps sending.
        for i in range(3):
            yield c.send(b"part%d" % i)
            yield net.env.timeout(0.5)
        c.close()

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("client")
        yield s.connect(SERVER, 80)
        yield s.send(b"request")
        s.shutdown("SHUT_WR")
        got = b""
        while True:
            d = yield s.recv()
            if not d:
                break
            got += d
        log.append(("client-got", net.env.now, got))
        s.close()

    net.process(server())
    net.process(client())
    net.run(100)
    assert log[0][2] == b"request" and log[1][2] == b""
    assert log[2][2] == b"part0part1part2"
    c = [s for _, _, s in net.states("client")]
    assert c[:5] == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]
    sv = [s for _, _, s in net.states("server")]
    assert sv == ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
    # The server sent data while in CLOSE_WAIT, the client received it in FIN_WAIT2.
    data_in_close_wait = [s for t, f, s in net.sent("server") if s.payload and t >= round(log[1][1], 6)]
    assert len(data_in_close_wait) == 3


def test_simultaneous_open() -> None:
    net = Net()
    res: dict[str, Any] = {}

    def side(stack: Any, my_port: int, peer: str, peer_port: int, key: str) -> Generator[Any, Any, None]:
        s = stack.socket(key)
        s.bind(my_port)
        yield s.connect(peer, peer_port)
        res[key] = net.env.now

    net.process(side(net.cs, 5000, SERVER, 6000, "a"))
    net.process(side(net.ss, 6000, CLIENT, 5000, "b"))
    net.run(5)
    assert res == {"a": pytest.approx(0.02), "b": pytest.approx(0.02)}
    for host in ("client", "server"):
        assert [s for _, _, s in net.states(host)] == ["SYN_SENT", "SYN_RECV", "ESTABLISHED"]
        flags = [f for _, f, _ in net.sent(host)]
        assert flags == ["S", "S."]  # four segments in all: two SYNs, two SYN-ACKs
    a_syn = net.sent("client")[0][2]
    a_synack = net.sent("client")[1][2]
    assert a_synack.seq == a_syn.seq  # the SYN-ACK carries the original ISN


def test_simultaneous_close() -> None:
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
        socks["c"] = s

    net.process(server())
    net.process(client())
    net.at(1.0, lambda: socks["c"].close())
    net.at(1.0, lambda: socks["s"].close())
    net.run(100)
    for host in ("client", "server"):
        seq = [s for _, _, s in net.states(host)]
        assert seq[-4:] == ["FIN_WAIT1", "CLOSING", "TIME_WAIT", "CLOSED"]


def test_connect_to_closed_port_is_refused_at_once() -> None:
    net = Net()
    res: dict[str, Any] = {}
    net.process(client_app(net, b"", res, port=81))
    net.run(5)
    assert res["error"] == ("ECONNREFUSED", RTT)
    rst = net.sent("server")[0]
    assert rst[1] == "R." and rst[2].ack == net.sent("client")[0][2].seq + 1 and rst[2].seq == 0


@pytest.mark.parametrize(("profile", "syn_times", "fail_at"), [
    ("linux", [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67], 131),
    ("linux-classic", [0, 1, 3, 7, 15, 31, 63], 127),
    ("windows-xp", [0, 3, 9], 21),
])
def test_connect_into_a_black_hole(profile: str, syn_times: list[float], fail_at: float) -> None:
    net = Net(profile=profile)
    # A black hole: every packet toward the server vanishes without an ICMP error.
    net.sim.links["r1-server"].set_params("r1->server", loss=1.0)
    res: dict[str, Any] = {}
    net.process(client_app(net, b"", res))
    net.run(300)
    assert [t for t, f, _ in net.sent("client")] == syn_times
    assert res["error"] == ("ETIMEDOUT", fail_at)


def test_final_ack_of_handshake_lost() -> None:
    net = Net()
    sres: dict[str, Any] = {}
    net.process(server_app(net, results=sres))
    # Every pure ACK the client sends before 63 s is lost.
    lost = net.drop_from(net.client, lambda s, t: s.flags == ACK and not s.payload and t < 63)
    socks: dict[str, Any] = {}

    def client() -> Generator[Any, Any, None]:
        s = net.cs.socket("client")
        yield s.connect(SERVER, 80)
        socks["c"] = s
        yield net.env.timeout(70)
        try:
            yield s.send(b"late data")
            d = yield s.recv()
            socks["recv"] = d
        except SocketError as e:
            socks["error"] = (e.errno, round(net.env.now, 6))

    net.process(client())
    net.run(100)
    synacks = [t for t, f, _ in net.sent("server") if f == "S."]
    assert synacks == [0.01, 1.01, 3.01, 7.01, 15.01, 31.01]
    assert net.states("server")[-1] == (63.01, "SYN_RECV", "CLOSED")
    assert len(lost) == 6  # the handshake ACK and one answer per retransmitted SYN-ACK
    rst = [(t, f) for t, f, _ in net.sent("server") if "R" in f]
    assert rst == [(70.03, "R")]
    assert socks["error"] == ("ECONNRESET", 70.04)


def test_last_ack_of_close_lost() -> None:
    net = Net()
    net.process(server_app(net, results={}))
    net.process(client_app(net, b"x", {}))
    state: dict[str, int] = {"n": 0}

    def lose_last_ack(s: Any, t: float) -> bool:
        # The client's ACK of the server's FIN: its first one only.
        if s.flags == ACK and not s.payload and net.cs.conns and next(iter(net.cs.conns.values())).state.value == "TIME_WAIT" and state["n"] == 0:
            state["n"] += 1
            return True
        return False

    net.drop_from(net.client, lose_last_ack)
    net.run(200)
    fins = [t for t, f, _ in net.sent("server") if "F" in f]
    assert len(fins) == 2  # LAST_ACK retransmitted its FIN
    tw_acks = [t for t, f, s in net.sent("client") if f == "." and t >= fins[1]]
    assert tw_acks and tw_acks[0] == pytest.approx(fins[1] + 0.01)  # TIME_WAIT re-ACKs it
    closed = [t for t, a, s in net.states("client") if a == "TIME_WAIT"][0]
    assert closed == pytest.approx(tw_acks[0] + 60.0)  # and restarts its 60 s
    assert net.states("server")[-1][1:] == ("LAST_ACK", "CLOSED")


@pytest.mark.parametrize(("profile", "length"), [("linux", 60.0), ("windows-xp", 240.0), ("rfc9293", 240.0),
                                                 ("classroom", 2.0)])
def test_time_wait_lasts_the_profiles_length(profile: str, length: float) -> None:
    net = Net(profile=profile)
    net.process(server_app(net, results={}))
    net.process(client_app(net, b"x", {}))
    net.run(1000)
    st = net.states("client")
    entered = [t for t, _, s in st if s == "TIME_WAIT"][0]
    left = [t for t, a, _ in st if a == "TIME_WAIT"][0]
    assert left - entered == pytest.approx(length)


def test_segment_flags_constants() -> None:
    assert (SYN, FIN, ACK) == (2, 1, 16)
