"""summary.json: the stable, documented digest of one run (see docs/summary.md).

Scripts, sweeps and expectation checks read this file instead of the raw
trace, so its shape is a contract: fields are only ever added, and
``SUMMARY_VERSION`` goes up if one ever has to change meaning.

Everything here is computed from the trace (counters and STATE / APP records)
plus facts the runner hands in (names, addresses, each app's ``results()``),
so it works at every trace level: counters are kept even at ``counters``;
connections need ``states`` or higher.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from tcpsim.trace.records import APP, STATE, Trace

__all__ = ["SUMMARY_VERSION", "build_summary", "connections", "node_counters", "jsonable"]

SUMMARY_VERSION = 1


def node_counters(trace: Trace, node: str) -> dict[str, Any]:
    """``{"sent", "received", "forwarded", "dropped": {reason: n}}`` for one node."""
    dropped: dict[str, int] = {}
    sent = received = forwarded = 0
    for (name, what), n in trace.counters.items():
        if name != node:
            continue
        if what == "send":
            sent += n
        elif what == "recv":
            received += n
        elif what == "fwd":
            forwarded += n
        elif what.startswith("drop:"):
            reason = what[5:] or "unknown"
            dropped[reason] = dropped.get(reason, 0) + n
    return {"sent": sent, "received": received, "forwarded": forwarded, "dropped": dict(sorted(dropped.items()))}


def _endpoints(conn: str) -> tuple[str, str]:
    local, sep, remote = conn.partition(">")
    return (local, remote) if sep else (conn, "")


def connections(records: Iterable[tuple[Any, ...]]) -> dict[str, list[dict[str, Any]]]:
    """Per node, the TCP connections seen in STATE records, in order of first appearance.

    A connection id (``"LOCAL:PORT>REMOTE:PORT"``) can be reused once the old
    connection is CLOSED (a new connect from the same port); each use is its
    own entry. Errors come from APP records ``what="error"`` whose detail is
    ``{"errno": NAME, "conn": ID}``, attached to the latest use of that id.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        kind = r[1]
        if kind == STATE:
            t, _, node, conn, _old, new, cause = r[:7]
            entry = current.get((node, conn))
            if entry is None or (entry["final_state"] == "CLOSED" and entry["states"]):
                local, remote = _endpoints(conn)
                entry = {"local": local, "remote": remote, "final_state": new, "states": [], "errors": []}
                current[(node, conn)] = entry
                out.setdefault(node, []).append(entry)
            entry["states"].append({"state": new, "t": t, "cause": cause})
            entry["final_state"] = new
        elif kind == APP and r[4] == "error":
            t, _, node, _app, _what, detail = r
            conn = detail.get("conn") if isinstance(detail, dict) else None
            errno = detail.get("errno") if isinstance(detail, dict) else None
            if not conn or not errno:
                continue
            entry = current.get((node, conn))
            if entry is None:
                local, remote = _endpoints(conn)
                entry = {"local": local, "remote": remote, "final_state": "CLOSED", "states": [], "errors": []}
                current[(node, conn)] = entry
                out.setdefault(node, []).append(entry)
            entry["errors"].append(errno)
    return out


def jsonable(value: Any) -> Any:
    """``value`` with NaN/inf turned into null and tuples into lists, so json.dumps is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def build_summary(
    trace: Trace,
    *,
    scenario: str,
    seed: int,
    end_time: float,
    hosts: Mapping[str, str | None],
    routers: Mapping[str, list[str]],
    apps: Mapping[str, Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary.json document.

    ``hosts`` maps host name -> address, ``routers`` router name -> interface
    addresses, ``apps`` app name -> ``{"type", "host", "results"}``; all in
    scenario order, which the output keeps. ``extra`` adds top-level fields
    after those (the scenario runner's ``params``, ``faults``, ``expectations``).
    """
    conns = connections(trace.records)
    return jsonable({
        "version": SUMMARY_VERSION,
        "scenario": scenario,
        "seed": seed,
        "end_time": end_time,
        "trace_level": trace.level.name.lower(),
        "hosts": {
            name: {"address": address, "counters": node_counters(trace, name), "connections": conns.get(name, []),
                   "peak_states": trace.peak(name), "end_states": trace.state_now(name)}
            for name, address in hosts.items()
        },
        "routers": {
            name: {"addresses": list(addresses), "counters": node_counters(trace, name)}
            for name, addresses in routers.items()
        },
        "apps": {
            name: {"type": info["type"], "host": info["host"], "results": info.get("results", {})}
            for name, info in apps.items()
        },
        **(extra or {}),
    })
