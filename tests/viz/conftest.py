"""Small runs with TCP, built with the socket API, shared by the view tests."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tcpsim.net import LinkParams, Simulation
from tcpsim.net.tcp_layer import stack_of
from tcpsim.trace import Level


def client_server(*, loss: float = 0.0, nbytes: int = 3000, port: int = 80, seed: int = 1,
                  level: Level = Level.FULL, until: float = 120.0, read_after: float = 0.0) -> Simulation:
    """client - r1 - server; the client connects, sends ``nbytes`` and closes; the server reads to EOF and closes.

    ``loss`` applies to both directions of the r1-server link; the server starts reading
    ``read_after`` seconds after accept() (so its receive window can fill up and close).
    """
    sim = Simulation(seed=seed, trace_level=level)
    c = sim.add_host("client", "192.0.2.1")
    s = sim.add_host("server", "198.51.100.1")
    sim.add_router("r1")
    sim.add_link("client", "r1", LinkParams(delay=0.005, bandwidth=10e6))
    sim.add_link("r1", "server", LinkParams(delay=0.010, bandwidth=2e6, loss=loss, queue_packets=100))
    cs, ss = stack_of(c), stack_of(s)

    def server() -> Generator[Any, Any, None]:
        ls = ss.socket("srv")
        ls.bind(port)
        ls.listen(5)
        conn = yield ls.accept()
        if read_after:
            yield sim.env.timeout(read_after)
        while True:
            data = yield conn.recv(65536)
            if not data:
                break
        conn.close()

    def client() -> Generator[Any, Any, None]:
        sock = cs.socket("cli")
        yield sock.connect("198.51.100.1", port)
        yield sock.send(bytes(range(256)) * (nbytes // 256) + b"x" * (nbytes % 256))
        sock.close()

    sim.env.process(server())
    sim.env.process(client())
    sim.run(until=until)
    return sim


@pytest.fixture(scope="session")
def clean_run() -> Simulation:
    """A short exchange without loss: handshake, 3000 bytes, close, TIME_WAIT."""
    return client_server()


@pytest.fixture(scope="session")
def lossy_run() -> Simulation:
    """A bulk transfer (300 kB on port 5001) over a link losing 3% each way, to a receiver that
    waits a second before reading (its window closes: zero-window advertisements)."""
    return client_server(loss=0.03, nbytes=300_000, port=5001, seed=2, read_after=1.0)
