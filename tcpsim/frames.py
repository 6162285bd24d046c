"""The Python API's tables: trace records -> pandas DataFrames, column by column.

Why a module of its own: pandas costs half a second to import, and ``tcpsim run``
(which reads no table) should not pay for it; ``tcpsim.api`` imports this module
only when a table is first asked for.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import pandas as pd

from tcpsim.trace.records import APP, COUNT_STATES, COUNTS, PKT, STATE

__all__ = ["Netstat", "PACKET_EVENTS", "calls_frame", "counts_frame", "packets_frame", "paused_gc", "states_frame"]

#: The packet events of the trace, as the ``event`` column spells them.
PACKET_EVENTS = {"send": "send", "recv": "recv", "drop": "drop", "fwd": "forward"}


class Netstat(pd.DataFrame):
    """``Run.netstat``'s table: a DataFrame whose ``str()`` is ``netstat -nat``'s text, per host.

    ``attrs["at"]`` is the instant, ``attrs["host"]`` the host asked for (None: every host).
    Anything derived from it (a selection, a sort) is a plain DataFrame.
    """

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame

    def __str__(self) -> str:
        from tcpsim.trace.netstat import NetstatRow, format_table

        at = float(self.attrs.get("at", 0.0))
        host = self.attrs.get("host")
        hosts = list(dict.fromkeys(self["Host"])) if len(self) else []
        if not hosts:
            return f"no sockets at t={at:g} s"
        out: list[str] = []
        for i, h in enumerate(hosts):
            part = self[self["Host"] == h]
            rows = [NetstatRow(h, loc, rem, st, int(rq), int(sq), proto)
                    for proto, rq, sq, loc, rem, st in zip(part["Proto"], part["Recv-Q"], part["Send-Q"],
                                                         part["Local Address"], part["Foreign Address"],
                                                         part["State"], strict=True)]
            if host is None:
                out.append(("" if i == 0 else "\n") + f"== {h} at t={at:g} s ==")
            out += format_table(rows)
        return "\n".join(out)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No garbage collection while a table is built.

    Building columns makes one tuple per record; every few hundred new objects the
    collector would run, and its older generations walk every record and packet of
    the run: on a million-packet trace that costs ten times the building itself.
    Nothing built here holds a reference cycle.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _categorical(values: Sequence[Any], missing: Any = None) -> pd.Categorical:
    """Strings that repeat (node names, addresses) as a Categorical: one C-level hash pass.

    ``pd.factorize`` on an object array, not ``pd.Categorical(list)``, which would first
    convert every string to an Arrow string. ``missing`` (e.g. ``""``) becomes NA.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object) if len(values) else np.zeros(0, dtype=object))
    cats = list(uniques)
    if missing is not None and missing in cats:
        gone = cats.index(missing)
        codes = np.where(codes == gone, -1, np.where(codes > gone, codes - 1, codes))
        del cats[gone]
    return pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))


def packets_frame(records: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """The ``Run.packets`` table of these records (packet records only).

    No per-row dict and no per-row Python function: the fields of every record come
    out as one tuple each through a C-level ``attrgetter``/``itemgetter`` map, ``zip``
    turns those into columns, and the TCP columns are filled only at the rows that
    hold a TCP segment. Flags and options repeat a lot, so each distinct value is
    formatted once.
    """
    from tcpsim.trace.tcpdump import format_options
    from tcpsim.wire.ip import IPPROTO_TCP
    from tcpsim.wire.segment import flags_text

    pk = [r for r in records if r[1] == PKT]
    n = len(pk)
    times, nodes, events, pkts, links, reasons = (
        zip(*map(itemgetter(0, 2, 3, 4, 5, 6), pk), strict=True) if n else ((),) * 6)
    src, dst, ttl, size, ident, proto, payloads = (
        zip(*map(attrgetter("src", "dst", "ttl", "size", "ident", "proto", "payload"), pkts), strict=True)
        if n else ((),) * 7)
    is_tcp = np.asarray(proto, dtype=np.int64) == IPPROTO_TCP if n else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(is_tcp)
    segs = payloads if len(idx) == n else [payloads[i] for i in idx]
    m = len(segs)
    sport, dport, seq, ack, flag_bytes, win, data = (
        zip(*map(attrgetter("sport", "dport", "seq", "ack", "flags", "window", "payload"), segs), strict=True)
        if m else ((),) * 7)

    def tcp_int(values: Sequence[int]) -> Any:
        full = np.zeros(n, dtype=np.int64)
        full[idx] = np.asarray(values, dtype=np.int64)
        return pd.arrays.IntegerArray(full, ~is_tcp)

    flag_codes = np.full(n, -1, dtype=np.int64)
    flag_codes[idx] = np.asarray(flag_bytes, dtype=np.int64)
    flags = pd.Categorical.from_codes(flag_codes, categories=pd.Index([flags_text(f) for f in range(256)],
                                                                      dtype=object))
    opt_keys = list(map(attrgetter("mss", "wscale", "sack_ok", "ts_val", "ts_ecr", "sack"), segs))
    first = {key: i for i, key in zip(range(m - 1, -1, -1), reversed(opt_keys), strict=True)}
    texts = {key: format_options(segs[i]) or None for key, i in first.items()}
    options = np.full(n, None, dtype=object)
    options[idx] = list(map(texts.__getitem__, opt_keys))
    event_cat = _categorical(events).rename_categories(lambda e: PACKET_EVENTS.get(e, e))
    return pd.DataFrame({
        "time": np.asarray(times, dtype=np.float64),
        "node": _categorical(nodes),
        "event": event_cat.set_categories(list(PACKET_EVENTS.values())),
        "link": _categorical(links, missing=""),
        "src": _categorical(src),
        "sport": tcp_int(sport),
        "dst": _categorical(dst),
        "dport": tcp_int(dport),
        "flags": flags.remove_unused_categories(),
        "seq": tcp_int(seq),
        "ack": tcp_int(ack),
        "win": tcp_int(win),
        "len": tcp_int(list(map(len, data))),
        "ttl": np.asarray(ttl, dtype=np.int64),
        "size": np.asarray(size, dtype=np.int64),
        "ip_id": np.asarray(ident, dtype=np.int64),
        "proto": pd.Categorical.from_codes(is_tcp.astype(np.int8), categories=pd.Index(["icmp", "tcp"], dtype=object)),
        "options": options,
        "rule": _categorical(reasons, missing=""),
    })


def states_frame(records: Iterable[tuple[Any, ...]]) -> pd.DataFrame:
    """The ``Run.states`` table of these records (state-change records only)."""
    rs = [r for r in records if r[1] == STATE]
    cols = list(zip(*rs, strict=True)) if rs else [()] * 8
    conns = pd.Series(cols[3], dtype=object)
    split = conns.str.partition(">") if len(conns) else pd.DataFrame({0: [], 2: []}, dtype=object)
    return pd.DataFrame({
        "time": np.asarray(cols[0], dtype=np.float64),
        "host": pd.Series(cols[2], dtype=object),
        "conn": conns,
        "local": split[0],
        "remote": split[2],
        "old": pd.Series(cols[4], dtype=object),
        "new": pd.Series(cols[5], dtype=object),
        "cause": pd.Series(cols[6], dtype=object),
        "rfc": pd.Series(cols[7], dtype=object),
    })


def counts_frame(samples: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """The ``Run.counts`` table: one row per (sample, state), states in netstat's order."""
    rs = [r for r in samples if r[1] == COUNTS]
    k = len(COUNT_STATES)
    matrix = np.asarray([r[3] for r in rs], dtype=np.int64).reshape(len(rs), k)
    return pd.DataFrame({
        "time": np.repeat(np.fromiter(map(itemgetter(0), rs), dtype=np.float64, count=len(rs)), k),
        "host": np.repeat(np.asarray([r[2] for r in rs], dtype=object), k),
        "state": pd.Categorical(np.tile(np.asarray(COUNT_STATES, dtype=object), len(rs)), categories=COUNT_STATES),
        "sockets": matrix.reshape(-1),
    })


def calls_frame(records: Iterable[tuple[Any, ...]]) -> pd.DataFrame:
    """The ``Run.calls`` table: the socket calls applications made, from the trace's ``call`` records."""
    rs = [r for r in records if r[1] == APP and r[4] == "call"]
    details = [r[5] for r in rs]

    def get(key: str) -> list[Any]:
        return [d.get(key) for d in details]

    return pd.DataFrame({
        "time": np.fromiter(map(itemgetter(0), rs), dtype=np.float64, count=len(rs)),
        "host": pd.Series([r[2] for r in rs], dtype=object),
        "app": pd.Series([r[3] for r in rs], dtype=object),
        "call": pd.Series(get("call"), dtype=object),
        "args": pd.Series(get("args"), dtype=object),
        "conn": pd.Series(get("conn"), dtype=object),
        "result": pd.Series(get("result"), dtype=object),
        "value": pd.Series(get("value"), dtype=object),
        "since": pd.Series(get("since"), dtype="float64"),
    })
