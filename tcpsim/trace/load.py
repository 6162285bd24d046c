"""Reading a run back: trace.jsonl -> the same record tuples the simulator kept in memory.

Why tuples and not the JSON dicts: every view (tcpdump text, pcap, netstat,
the figures) is written once, against the in-memory record layout documented
in ``records.py``, and works the same on a live run and on a run directory
read days later. This module is the one place that turns the JSON form back
into that layout, rebuilding ``IPPacket`` / ``Segment`` / ``ICMPMessage``
values from ``packet_json``'s fields.

What cannot come back: segment payload bytes (the JSON keeps only their
length), so a rebuilt segment carries that many zero bytes. Packet identity
is lost too: a rebuilt ``send`` and its ``recv`` are two objects, so views
match them by ``(src, dst, ip id, ...)`` as they must anyway after a router
has copied the packet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tcpsim.trace.records import (
    APP,
    COUNT_STATES,
    COUNTS,
    NODE,
    PKT,
    SAMPLE,
    STATE,
    TIMER,
    read_jsonl,
)
from tcpsim.wire.ip import IP_HEADER_LEN, IPPROTO_ICMP, IPPROTO_TCP, ICMPMessage, IPPacket
from tcpsim.wire.segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, Segment

__all__ = ["load_records", "records_from_json", "packet_from_json", "parse_flags"]

_LETTERS = {"F": FIN, "S": SYN, "R": RST, "P": PSH, ".": ACK, "U": URG, "E": ECE, "W": CWR}


def parse_flags(text: str) -> int:
    """The flag byte from tcpdump's letters (``S.`` -> SYN|ACK); ``none`` is 0."""
    if text == "none":
        return 0
    flags = 0
    for ch in text:
        flags |= _LETTERS[ch]
    return flags


def packet_from_json(d: dict[str, Any]) -> IPPacket:
    """Rebuild the packet ``packet_json`` described."""
    proto = d.get("proto")
    payload: Segment | ICMPMessage
    if proto == "tcp":
        opts = d.get("opts", {})
        ts = opts.get("ts")
        payload = Segment(
            d["sport"], d["dport"], d["seq"], d["ack"], parse_flags(d["flags"]), d["win"],
            bytes(d.get("len", 0)),
            mss=opts.get("mss"), wscale=opts.get("wscale"), sack_ok=bool(opts.get("sackOK")),
            ts_val=ts[0] if ts else None, ts_ecr=ts[1] if ts else None,
            sack=tuple((a, b) for a, b in opts.get("sack", ())),
        )
        num = IPPROTO_TCP
    elif proto == "icmp":
        quoted = packet_from_json(d["quoted"]) if "quoted" in d else None
        payload = ICMPMessage(
            d["type"], d.get("code", 0), d.get("icmp_id", 0), d.get("icmp_seq", 0),
            0 if quoted is not None else max(0, d["size"] - IP_HEADER_LEN - 8), quoted,
        )
        num = IPPROTO_ICMP
    else:  # pragma: no cover - only TCP and ICMP travel
        raise ValueError(f"cannot rebuild a packet of protocol {proto!r}")
    return IPPacket(d["src"], d["dst"], d["ttl"], num, payload, d["size"], d.get("id", 0),
                    bool(d.get("corrupted", False)))


def records_from_json(objs: Iterable[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """Record tuples from JSON objects (the inverse of ``records.to_json``)."""
    for d in objs:
        kind = d["kind"]
        t = d["t"]
        if kind == PKT:
            yield (t, PKT, d["node"], d["ev"], packet_from_json(d["pkt"]), d.get("where", ""), d.get("reason", ""))
        elif kind == STATE:
            yield (t, STATE, d["node"], d["conn"], d["from"], d["to"], d.get("cause", ""), d.get("rfc", ""))
        elif kind == TIMER:
            yield (t, TIMER, d["node"], d["conn"], d["timer"])
        elif kind == APP:
            yield (t, APP, d["node"], d["app"], d["what"], d.get("detail", {}))
        elif kind == SAMPLE:
            values = {k: v for k, v in d.items() if k not in ("t", "kind", "node", "conn")}
            yield (t, SAMPLE, d["node"], d["conn"], values)
        elif kind == NODE:
            yield (t, NODE, d["node"], d["event"], d.get("detail", ""))
        elif kind == COUNTS:
            c = d.get("counts", {})
            yield (t, COUNTS, d["node"], tuple(int(c.get(s, 0)) for s in COUNT_STATES))
        # Unknown kinds (written by a newer tcpsim) are skipped: views ignore what they do not know.


def load_records(path: str | Path) -> list[tuple[Any, ...]]:
    """Every record of a trace.jsonl file (or of RUNDIR/trace.jsonl given the run directory)."""
    p = Path(path)
    if p.is_dir():
        p = p / "trace.jsonl"
    with open(p, encoding="utf-8") as fp:
        return list(records_from_json(read_jsonl(fp)))
