"""Two hosts and a router, with TCP, for end-to-end tests over the network substrate."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from tcpsim.net import LinkParams, Simulation
from tcpsim.net.node import Host
from tcpsim.net.socket import Socket, SocketError
from tcpsim.net.tcp_layer import TcpStack, stack_of
from tcpsim.trace.records import PKT, STATE
from tcpsim.wire.ip import IPPacket
from tcpsim.wire.segment import Segment, flags_text

CLIENT = "192.0.2.1"
SERVER = "198.51.100.1"
ONE_WAY = 0.010  # two 5 ms links


class Net:
    def __init__(self, profile: str = "linux", sysctls: dict[str, object] | None = None,
                 server_profile: str | None = None, seed: int = 1) -> None:
        self.sim = Simulation(seed=seed)
        self.client = self.sim.add_host("client", CLIENT, sysctls=sysctls, profile=profile)
        self.server = self.sim.add_host("server", SERVER, sysctls=sysctls, profile=server_profile or profile)
        self.sim.add_router("r1")
        self.sim.add_link("client", "r1", LinkParams(delay=0.005))
        self.sim.add_link("r1", "server", LinkParams(delay=0.005))
        self.cs: TcpStack = stack_of(self.client)
        self.ss: TcpStack = stack_of(self.server)
        self.log: list[tuple[float, str]] = []

    @property
    def env(self) -> Any:
        return self.sim.env

    def process(self, gen: Generator[Any, Any, Any]) -> None:
        self.sim.env.process(gen)

    def at(self, t: float, fn: Callable[[], None]) -> None:
        self.sim.call_at(t, fn)

    def run(self, until: float) -> None:
        self.sim.run(until=until)

    def drop_from(self, host: Host, pred: Callable[[Segment, float], bool]) -> list[tuple[float, Segment]]:
        """Lose the host's outgoing TCP segments for which ``pred`` holds (a test-only fault)."""
        dropped: list[tuple[float, Segment]] = []
        orig = host.ip_send

        def ip_send(dst: str, proto: int, payload: Any, ttl: int | None = None) -> None:
            if isinstance(payload, Segment) and pred(payload, self.env.now):
                dropped.append((self.env.now, payload))
                return
            orig(dst, proto, payload, ttl)

        host.ip_send = ip_send  # type: ignore[method-assign]
        return dropped

    # -- reading the trace ------------------------------------------------------

    def states(self, node: str, conn_prefix: str = "") -> list[tuple[float, str, str]]:
        return [(round(r[0], 6), r[4], r[5]) for r in self.sim.trace.records
                if r[1] == STATE and r[2] == node and r[3].startswith(conn_prefix) and not r[3].endswith("*")]

    def sent(self, node: str) -> list[tuple[float, str, Segment]]:
        """(time, flags, segment) for each TCP segment ``node`` sent."""
        out = []
        for r in self.sim.trace.records:
            if r[1] == PKT and r[2] == node and r[3] == "send":
                pkt: IPPacket = r[4]
                if isinstance(pkt.payload, Segment):
                    out.append((round(r[0], 6), flags_text(pkt.payload.flags), pkt.payload))
        return out


def server_app(net: Net, port: int = 80, behaviour: str = "echo-close", backlog: int = 128,
               results: dict[str, Any] | None = None) -> Generator[Any, Any, None]:
    res = results if results is not None else {}
    lst: Socket = net.ss.socket("server")
    lst.bind(port)
    lst.listen(backlog)
    res["listener"] = lst
    conn: Socket = yield lst.accept()
    res["accepted_at"] = net.env.now
    got = b""
    while True:
        try:
            data = yield conn.recv(65536)
        except SocketError as e:
            res["error"] = e.errno
            return
        if not data:
            break
        got += data
    res["got"] = got
    res["eof_at"] = net.env.now
    if behaviour == "echo-close":
        if got:
            yield conn.send(got)
        conn.close()
    res["closed_at"] = net.env.now
