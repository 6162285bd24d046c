"""Connection histories from STATE records, and ``netstat -nat`` at any instant.

Why a history and not just "the state at T": every view of connections
(the netstat table, the state timeline, the stacked state counts, the
listen-queue occupancy) asks the same question of the same records, "which
endpoint was in which state from when to when". Answering it once here, as a
list of ``Endpoint`` values with their ``Span``s, keeps the views pure and
consistent with each other: the timeline, the counts and ``tcpsim netstat
--at T`` can never disagree about a connection.

An endpoint is one use of one connection id (``LADDR:LPORT>RADDR:RPORT``) on
one node: it starts at its first STATE record and ends when it reaches
CLOSED (or, for a listener's child, falls back to LISTEN: the request was
discarded and the child is gone). The same id can be used again later (a
new connect() from the same port); that is a new endpoint.

The table is printed as net-tools' ``netstat -nat`` prints it (netstat.c:
``%-4s  %6ld %6ld %-23s %-23s %-11s``), with trailing blanks removed.
Recv-Q and Send-Q come from SAMPLE records carrying ``recv_q`` / ``send_q``
when the trace has them, and are 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tcpsim.trace.records import APP, SAMPLE, STATE

__all__ = [
    "Span", "Endpoint", "NetstatRow", "endpoints", "snapshot", "format_table", "format_summary",
    "state_counts", "listen_queues", "LISTENER_PEER", "STATE_ORDER",
]

#: How a listener's connection id names its (absent) peer.
LISTENER_PEER = "0.0.0.0:*"

#: States in the order the views list them: the life of a connection, top to bottom.
STATE_ORDER = (
    "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
    "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSED",
)


@dataclass(frozen=True, slots=True)
class Span:
    """One stay in one state: ``[start, end)``; ``end`` is None while it lasts past the trace."""

    start: float
    end: float | None
    state: str
    cause: str = ""
    rfc: str = ""


@dataclass(slots=True)
class Endpoint:
    """One use of one connection id on one node, with its states over time."""

    node: str
    conn: str
    local: str
    remote: str
    spans: list[Span] = field(default_factory=list)
    ended: float | None = None

    @property
    def listener(self) -> bool:
        return self.remote == LISTENER_PEER

    @property
    def start(self) -> float:
        return self.spans[0].start if self.spans else (self.ended or 0.0)

    @property
    def local_port(self) -> str:
        return self.local.rpartition(":")[2]

    def state_at(self, t: float) -> str | None:
        """The state at time ``t`` (changes at ``t`` included), None when the endpoint did not exist."""
        for s in self.spans:
            if s.start <= t and (s.end is None or t < s.end):
                return s.state
        return None

    def label(self) -> str:
        """``node local <-> remote``, or ``node local (listen)``."""
        if self.listener:
            return f"{self.node} {self.local} (listening)"
        return f"{self.node} {self.local} \u2194 {self.remote}"


def _split(conn: str) -> tuple[str, str]:
    local, sep, remote = conn.partition(">")
    return (local, remote) if sep else (conn, "")


def endpoints(records: Iterable[tuple[Any, ...]]) -> list[Endpoint]:
    """Every endpoint of the run, in order of first appearance."""
    out: list[Endpoint] = []
    live: dict[tuple[str, str], Endpoint] = {}
    for r in records:
        if r[1] != STATE:
            continue
        t, _, node, conn, _old, new, cause, rfc = r
        key = (node, conn)
        ep = live.get(key)
        if ep is None:
            local, remote = _split(conn)
            ep = Endpoint(node, conn, local, remote)
            live[key] = ep
            out.append(ep)
        if ep.spans and ep.spans[-1].end is None:
            last = ep.spans[-1]
            ep.spans[-1] = Span(last.start, t, last.state, last.cause, last.rfc)
        gone = new == "CLOSED" or (new == "LISTEN" and not ep.listener)
        if gone:
            ep.ended = t
            del live[key]
        else:
            ep.spans.append(Span(t, None, new, cause, rfc))
    return out


@dataclass(frozen=True, slots=True)
class NetstatRow:
    node: str
    local: str
    foreign: str
    state: str
    recv_q: int = 0
    send_q: int = 0
    proto: str = "tcp"


def _queues_at(records: Iterable[tuple[Any, ...]], t: float) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for r in records:
        if r[0] > t:
            break
        if r[1] == SAMPLE:
            values = r[4]
            if "recv_q" in values or "send_q" in values:
                old = out.get((r[2], r[3]), (0, 0))
                out[(r[2], r[3])] = (int(values.get("recv_q", old[0])), int(values.get("send_q", old[1])))
    return out


def snapshot(records: Sequence[tuple[Any, ...]], t: float, host: str | None = None,
             eps: list[Endpoint] | None = None) -> list[NetstatRow]:
    """The rows ``netstat -nat`` would print at time ``t``: listeners first, then by first appearance."""
    eps = endpoints(records) if eps is None else eps
    queues = _queues_at(records, t)
    rows: list[NetstatRow] = []
    for ep in sorted(eps, key=lambda e: not e.listener):
        if host is not None and ep.node != host:
            continue
        st = ep.state_at(t)
        if st is None:
            continue
        rq, sq = queues.get((ep.node, ep.conn), (0, 0))
        rows.append(NetstatRow(ep.node, ep.local, ep.remote, st, rq, sq))
    return rows


HEADER = "Proto Recv-Q Send-Q Local Address           Foreign Address         State"


def format_table(rows: Iterable[NetstatRow], *, title: bool = True) -> list[str]:
    """net-tools' layout, line by line."""
    lines = ["Active Internet connections (servers and established)", HEADER] if title else [HEADER]
    for r in rows:
        lines.append(f"{r.proto:<4}  {r.recv_q:6d} {r.send_q:6d} {r.local:<23} {r.foreign:<23} {r.state:<11}".rstrip())
    return lines


def format_summary(rows: Iterable[NetstatRow]) -> list[str]:
    """``netstat -nat | awk '{print $6}' | sort | uniq -c`` without the header noise: ``%7d STATE``."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    return [f"{n:7d} {st}" for st, n in sorted(counts.items())]


def state_counts(eps: Iterable[Endpoint], node: str) -> tuple[list[float], dict[str, list[int]]]:
    """How many endpoints of ``node`` were in each state, as a step function.

    Returns ``(times, {state: counts})``: ``counts[i]`` holds from ``times[i]``
    until ``times[i + 1]``. States that never occur are left out.
    """
    deltas: dict[float, dict[str, int]] = {}
    for ep in eps:
        if ep.node != node:
            continue
        for s in ep.spans:
            deltas.setdefault(s.start, {}).setdefault(s.state, 0)
            deltas[s.start][s.state] += 1
            if s.end is not None:
                deltas.setdefault(s.end, {}).setdefault(s.state, 0)
                deltas[s.end][s.state] -= 1
    states = [st for st in STATE_ORDER if any(st in d for d in deltas.values())]
    times = sorted(deltas)
    current = dict.fromkeys(states, 0)
    series: dict[str, list[int]] = {st: [] for st in states}
    for t in times:
        for st, d in deltas[t].items():
            current[st] += d
        for st in states:
            series[st].append(current[st])
    return times, series


@dataclass(slots=True)
class ListenQueues:
    """Occupancy of one listener's queues over time, as step functions (time, count).

    ``accept`` is None when the trace does not say when children were
    accepted (APP records ``what="accept"`` with ``{"conn": ID}``).
    """

    listener: Endpoint
    syn: list[tuple[float, int]]
    accept: list[tuple[float, int]] | None


def listen_queues(records: Iterable[tuple[Any, ...]], eps: list[Endpoint]) -> list[ListenQueues]:
    """SYN-queue and accept-queue occupancy of every listener, derived from its children's states.

    A child is an endpoint on the listener's node with the listener's local
    address and a real peer. It sits in the SYN queue while in SYN_RECV; it
    sits in the accept queue from ESTABLISHED until the app accepts it
    (recorded) or it goes away.
    """
    accepted: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r[1] == APP and r[4] == "accept" and isinstance(r[5], dict) and r[5].get("conn"):
            accepted.setdefault((r[2], r[5]["conn"]), []).append(r[0])
    out: list[ListenQueues] = []
    for lst in eps:
        if not lst.listener:
            continue
        lst_end = lst.ended
        syn_d: dict[float, int] = {}
        acc_d: dict[float, int] = {}
        for ep in eps:
            if ep.listener or ep.node != lst.node or ep.local != lst.local:
                continue
            if ep.start < lst.start or (lst_end is not None and ep.start > lst_end):
                continue
            for s in ep.spans:
                if s.state == "SYN_RECV":
                    syn_d[s.start] = syn_d.get(s.start, 0) + 1
                    if s.end is not None:
                        syn_d[s.end] = syn_d.get(s.end, 0) - 1
            est = next((s.start for s in ep.spans if s.state not in ("SYN_RECV",)), None)
            if est is not None and accepted:
                times = accepted.get((ep.node, ep.conn), [])
                took = next((t for t in times if t >= est), None)
                leave = took if took is not None else ep.ended
                acc_d[est] = acc_d.get(est, 0) + 1
                if leave is not None:
                    acc_d[leave] = acc_d.get(leave, 0) - 1
        out.append(ListenQueues(lst, _steps(syn_d), _steps(acc_d) if accepted else None))
    return out


def _steps(deltas: dict[float, int]) -> list[tuple[float, int]]:
    n = 0
    steps: list[tuple[float, int]] = []
    for t in sorted(deltas):
        n += deltas[t]
        steps.append((t, n))
    return steps
