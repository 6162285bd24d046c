"""Small builders shared by the tests in tests/net (named to avoid clashing with other test dirs)."""

from __future__ import annotations

from tcpsim.net import Host, Link, LinkParams, Router, Simulation
from tcpsim.trace import Level
from tcpsim.wire import ACK, IPPROTO_TCP, IPPacket, Segment

IP_TCP_HEADERS = 40


def chain(n_routers: int, params: LinkParams | list[LinkParams], seed: int = 1,
          level: Level = Level.PACKETS, back: list[LinkParams] | None = None,
          **simkw: object) -> tuple[Simulation, Host, Host, list[Router], list[Link]]:
    """h1 - r1 - ... - rN - h2. ``params``: one for all links or one per link (N+1)."""
    sim = Simulation(seed=seed, trace_level=level, **simkw)  # type: ignore[arg-type]
    h1 = sim.add_host("h1")
    h2 = sim.add_host("h2")
    routers = [sim.add_router(f"r{i}") for i in range(1, n_routers + 1)]
    names = ["h1"] + [r.name for r in routers] + ["h2"]
    plist = params if isinstance(params, list) else [params] * (n_routers + 1)
    links = []
    for i, (a, b) in enumerate(zip(names, names[1:], strict=False)):
        links.append(sim.add_link(a, b, plist[i], None if back is None else back[i]))
    return sim, h1, h2, routers, links


def segment(seq: int, ip_size: int = 1000) -> Segment:
    """A bare ACK segment whose IP packet is ``ip_size`` bytes."""
    return Segment(40000, 80, seq, 1, ACK, 65535, b"x" * (ip_size - IP_TCP_HEADERS))


class Sink:
    """Collects (time, packet) of every TCP packet delivered to ``host``."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.got: list[tuple[float, IPPacket]] = []
        host.handlers[IPPROTO_TCP] = self

    def __call__(self, pkt: IPPacket) -> None:
        self.got.append((self.host.env.now, pkt))

    @property
    def seqs(self) -> list[int]:
        return [p.payload.seq for _, p in self.got]  # type: ignore[union-attr]

    @property
    def times(self) -> list[float]:
        return [t for t, _ in self.got]


def send_at(sim: Simulation, host: Host, dst: str, t: float, seq: int, ip_size: int = 1000) -> None:
    sim.call_at(t, host.ip_send, dst, IPPROTO_TCP, segment(seq, ip_size))
