"""A bulk transfer over one configurable path, for data-path tests."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from tcpsim.net import LinkParams, Simulation
from tcpsim.net.socket import SocketError
from tcpsim.net.tcp_layer import stack_of

SERVER = "198.51.100.1"


@dataclass
class Result:
    sent: bytes = b""
    got: bytes = b""
    client_error: str | None = None
    server_error: str | None = None
    done_at: float | None = None
    first_byte_at: float | None = None
    client_final: str = ""
    server_final: str = ""
    sim: Any = None
    stats: dict[str, int] = field(default_factory=dict)


def transfer(data: bytes, params: LinkParams, back: LinkParams | None = None, profile: str = "linux",
             until: float = 600.0, seed: int = 1, sysctls: dict[str, object] | None = None,
             server_keepalive: tuple[float, float, int] | None = None) -> Result:
    sim = Simulation(seed=seed)
    c = sim.add_host("client", "192.0.2.1", profile=profile, sysctls=sysctls)
    s = sim.add_host("server", SERVER, profile=profile, sysctls=sysctls)
    sim.add_link("client", "server", params, back or params)
    cs, ss = stack_of(c), stack_of(s)
    res = Result(sent=data, sim=sim)
    conns: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        lst = ss.socket("sink")
        lst.bind(80)
        lst.listen()
        conn = yield lst.accept()
        conns["s"] = conn.conn
        if server_keepalive is not None:
            idle, intvl, cnt = server_keepalive
            conn.setsockopt("TCP_KEEPIDLE", idle)
            conn.setsockopt("TCP_KEEPINTVL", intvl)
            conn.setsockopt("TCP_KEEPCNT", cnt)
            conn.setsockopt("SO_KEEPALIVE", 1)
        got = bytearray()
        try:
            while True:
                d = yield conn.recv(1 << 16)
                if not d:
                    break
                if res.first_byte_at is None:
                    res.first_byte_at = sim.now
                got += d
            res.done_at = sim.now
        except SocketError as e:
            res.server_error = e.errno
        res.got = bytes(got)
        conn.close()

    def client() -> Generator[Any, Any, None]:
        sock = cs.socket("bulk")
        try:
            yield sock.connect(SERVER, 80)
            conns["c"] = sock.conn
            yield sock.send(data)
            sock.close()
        except SocketError as e:
            res.client_error = e.errno

    sim.env.process(server())
    sim.env.process(client())
    sim.run(until=until)
    if "c" in conns:
        res.client_final = conns["c"].state.value
        res.stats = dict(conns["c"].stats)
    if "s" in conns:
        res.server_final = conns["s"].state.value
    return res
