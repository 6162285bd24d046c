"""After close(), a connection in TIME_WAIT is kept as a small entry that expires on time."""

from __future__ import annotations

from typing import Any

from tcpsim.tcp import Connection
from tcpsim.tcp.timewait import TimeWait
from tests.tcpnet.helpers import Net
from tests.tcpnet.test_peers import churn


def _tw_closes(net: Net) -> list[tuple[str, float]]:
    return [(r[3], r[0]) for r in net.sim.trace.records
            if r[1] == "state" and r[2] == "client" and r[4] == "TIME_WAIT" and r[5] == "CLOSED"]


def test_closed_sockets_leave_time_wait_entries_that_expire_after_60s() -> None:
    net = Net()
    res = churn(net, 10, 1.0)  # 10 connections, 0.1 s apart; the client closes first
    net.run(30)
    assert res["ok"] == 10
    kept = list(net.cs.conns.values())
    assert len(kept) == 10 and all(type(c) is TimeWait for c in kept)
    assert net.cs.tw_count == 10
    entered = {r[3]: r[0] for r in net.sim.trace.records
               if r[1] == "state" and r[2] == "client" and r[5] == "TIME_WAIT"}
    net.run(100)
    closes = _tw_closes(net)
    assert len(closes) == 10
    for name, t in closes:
        assert abs(t - (entered[name] + 60.0)) < 1e-9
    assert net.cs.conns == {} and net.cs.tw_count == 0 and len(net.cs._tw_q) == 0


def test_a_socket_still_open_keeps_its_full_tcb_in_time_wait() -> None:
    net = Net()
    got: dict[str, Any] = {}

    def server() -> Any:
        lst = net.ss.socket("server")
        lst.bind(80)
        lst.listen(8)
        c = yield lst.accept()
        while (yield c.recv()):
            pass
        c.close()

    def client() -> Any:
        s = net.cs.socket("client")
        yield s.connect("198.51.100.1", 80)
        s.shutdown("SHUT_WR")
        while (yield s.recv()):
            pass
        got["sock"] = s  # not closed: the application still holds the socket

    net.process(server())
    net.process(client())
    net.run(5)
    (c,) = net.cs.conns.values()
    assert type(c) is Connection and c.state.value == "TIME_WAIT"
    got["sock"].close()
    (c,) = net.cs.conns.values()
    assert type(c) is TimeWait and got["sock"].state.value == "TIME_WAIT"
    net.run(100)
    assert net.cs.conns == {} and got["sock"].state.value == "CLOSED"
    assert [t for _, t in _tw_closes(net)] == [60.0 + [r[0] for r in net.sim.trace.records
                                                       if r[1] == "state" and r[2] == "client"
                                                       and r[5] == "TIME_WAIT"][0]]
