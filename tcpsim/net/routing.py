"""Routing tables from the topology: shortest paths, deterministic, hosts never transit.

Choices, and why:

* **Metric.** ``"delay"``: the sum over the path of each link's propagation
  delay *averaged over its two directions*. Averaging keeps the metric
  symmetric, so the path there and the path back are the same path (an
  asymmetric metric would make ping and traceroute confusing to read), and it
  is what an operator configuring OSPF costs from link latency would do.
  ``"hops"``: the number of links. Each metric breaks its ties with the other
  (fewer hops among equal delays, less delay among equal hop counts), then by
  the next hop's name (sorted), so tables never depend on dict order.
* **Exact arithmetic.** Delays are turned into integer nanoseconds and both
  criteria are packed into one integer weight, so "equal cost" is an exact
  comparison and tie-breaking is reproducible.
* **Hosts are not routers.** A multi-homed host never forwards, so a host is
  only ever the first or last node of a path.
* Only links that are up and nodes that are up take part.

The result is, for every node, ``address -> LinkDirection`` for every address
of every reachable node (each host address and each router interface address).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tcpsim.net.link import Link, LinkDirection
    from tcpsim.net.node import Node

__all__ = ["compute_tables", "link_weight"]

_HOP_BITS = 20          # delay mode: weight = delay_ns << 20 | 1 (up to 2**20 hops per path)
_DELAY_CAP = (1 << 62) - 1


def link_weight(link: Link, metric: str) -> int:
    """The integer weight of ``link`` under ``metric`` ("delay" or "hops")."""
    avg_ns = min(round((link.ab.params.delay + link.ba.params.delay) * 5e8), _DELAY_CAP)
    if metric == "delay":
        return (avg_ns << _HOP_BITS) | 1
    return (1 << 64) + avg_ns


def compute_tables(nodes: dict[str, Node], links: dict[str, Link], metric: str) -> dict[str, dict[str, LinkDirection]]:
    """The routing table of every node (down nodes get an empty table)."""
    # Adjacency over live links between live nodes, neighbours sorted by name.
    adj: dict[str, list[tuple[str, int, Link]]] = {name: [] for name, n in nodes.items() if n.up}
    for link in links.values():
        if not link.up or not link.a.up or not link.b.up:
            continue
        w = link_weight(link, metric)
        adj[link.a.name].append((link.b.name, w, link))
        adj[link.b.name].append((link.a.name, w, link))
    for lst in adj.values():
        lst.sort(key=lambda e: (e[0], e[2].name))

    tables: dict[str, dict[str, LinkDirection]] = {name: {} for name in nodes}
    for dst in sorted(adj):
        dnode = nodes[dst]
        # Dijkstra from the destination backwards (the metric is symmetric):
        # dist[n] is the cost of the best path n -> ... -> dst.
        dist: dict[str, int] = {dst: 0}
        heap: list[tuple[int, str]] = [(0, dst)]
        done: set[str] = set()
        while heap:
            d, u = heapq.heappop(heap)
            if u in done:
                continue
            done.add(u)
            # Only the destination itself and routers can be the next node of a path.
            if u != dst and nodes[u].kind != "router":
                continue
            for v, w, _link in adj[u]:
                nd = d + w
                if nd < dist.get(v, nd + 1):
                    dist[v] = nd
                    heapq.heappush(heap, (nd, v))
        addrs = dnode.addresses
        for src, dsrc in dist.items():
            if src == dst:
                continue
            best: LinkDirection | None = None
            for v, w, link in adj[src]:
                if (v == dst or nodes[v].kind == "router") and v in dist and w + dist[v] == dsrc:
                    best = link.from_node(nodes[src])
                    break
            if best is None:  # pragma: no cover - dist came from some neighbour
                continue
            table = tables[src]
            for a in addrs:
                table[a] = best
    return tables
