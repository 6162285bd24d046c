"""summary.json: counters, connections and the documented top-level shape."""

from __future__ import annotations

import json
import math

from tcpsim.trace.records import Level, Trace
from tcpsim.trace.summary import SUMMARY_VERSION, build_summary, connections, node_counters
from tcpsim.wire import IPPROTO_ICMP, ICMPMessage, IPPacket

CONN = "192.0.2.1:40000>198.51.100.1:80"
PEER = "198.51.100.1:80>192.0.2.1:40000"


def ping_packet() -> IPPacket:
    return IPPacket("192.0.2.1", "198.51.100.1", 64, IPPROTO_ICMP, ICMPMessage(8, 0, 1, 1, 56), 84)


def sample_trace(level: Level = Level.PACKETS) -> Trace:
    trace = Trace(level)
    p = ping_packet()
    trace.packet(0.0, "client", "send", p, "client->r1")
    trace.packet(0.0, "client", "send", p, "client->r1")
    trace.packet(0.1, "r1", "fwd", p, "r1->server")
    trace.packet(0.1, "r1", "drop", p, "r1->server", "queue")
    trace.packet(0.2, "server", "recv", p, "r1->server")
    trace.packet(0.3, "server", "drop", p, "r1->server", "checksum")
    trace.packet(0.4, "server", "drop", p, "r1->server", "checksum")
    trace.count("client", "timer:rto")  # other counters are not packet counters
    # A connection that times out, then the same 4-tuple used again.
    trace.state(0.0, "client", CONN, "CLOSED", "SYN-SENT", "connect()", "3.10.1")
    trace.state(3.0, "client", CONN, "SYN-SENT", "CLOSED", "retries exhausted", "3.8.1")
    trace.app(3.0, "client", "c1", "error", {"errno": "ETIMEDOUT", "conn": CONN})
    trace.state(5.0, "client", CONN, "CLOSED", "SYN-SENT", "connect()")
    trace.state(5.1, "client", CONN, "SYN-SENT", "ESTABLISHED", "rcv SYN,ACK")
    trace.state(5.1, "server", PEER, "LISTEN", "SYN-RECEIVED", "rcv SYN")
    trace.state(5.2, "server", PEER, "SYN-RECEIVED", "ESTABLISHED", "rcv ACK")
    trace.app(5.3, "client", "c1", "line", {"text": "not an error"})
    trace.app(6.0, "server", "s1", "error", {"errno": "ECONNRESET", "conn": PEER})
    trace.app(6.0, "server", "s1", "error", {"errno": "EPIPE"})  # no conn: not attributed
    return trace


def test_node_counters() -> None:
    trace = sample_trace()
    assert node_counters(trace, "client") == {"sent": 2, "received": 0, "forwarded": 0, "dropped": {}}
    assert node_counters(trace, "r1") == {"sent": 0, "received": 0, "forwarded": 1, "dropped": {"queue": 1}}
    assert node_counters(trace, "server") == {"sent": 0, "received": 1, "forwarded": 0, "dropped": {"checksum": 2}}
    assert node_counters(trace, "nobody") == {"sent": 0, "received": 0, "forwarded": 0, "dropped": {}}


def test_counters_survive_the_cheapest_trace_level() -> None:
    trace = sample_trace(Level.COUNTERS)
    assert trace.records == [] or all(r[1] == "node" for r in trace.records)
    assert node_counters(trace, "server")["dropped"] == {"checksum": 2}


def test_connections_from_state_and_error_records() -> None:
    conns = connections(sample_trace().records)
    assert conns["client"] == [
        {
            "local": "192.0.2.1:40000", "remote": "198.51.100.1:80", "final_state": "CLOSED",
            "states": [
                {"state": "SYN-SENT", "t": 0.0, "cause": "connect()"},
                {"state": "CLOSED", "t": 3.0, "cause": "retries exhausted"},
            ],
            "errors": ["ETIMEDOUT"],
        },
        {
            "local": "192.0.2.1:40000", "remote": "198.51.100.1:80", "final_state": "ESTABLISHED",
            "states": [
                {"state": "SYN-SENT", "t": 5.0, "cause": "connect()"},
                {"state": "ESTABLISHED", "t": 5.1, "cause": "rcv SYN,ACK"},
            ],
            "errors": [],
        },
    ]
    assert conns["server"] == [
        {
            "local": "198.51.100.1:80", "remote": "192.0.2.1:40000", "final_state": "ESTABLISHED",
            "states": [
                {"state": "SYN-RECEIVED", "t": 5.1, "cause": "rcv SYN"},
                {"state": "ESTABLISHED", "t": 5.2, "cause": "rcv ACK"},
            ],
            "errors": ["ECONNRESET"],
        }
    ]


def test_an_error_for_a_connection_without_states_gets_its_own_entry() -> None:
    trace = Trace(Level.STATES)
    trace.app(1.0, "client", "c1", "error", {"errno": "ECONNREFUSED", "conn": CONN})
    assert connections(trace.records) == {
        "client": [{"local": "192.0.2.1:40000", "remote": "198.51.100.1:80", "final_state": "CLOSED",
                    "states": [], "errors": ["ECONNREFUSED"]}]
    }


def test_build_summary_shape() -> None:
    trace = sample_trace()
    summary = build_summary(
        trace,
        scenario="demo",
        seed=7,
        end_time=10.0,
        hosts={"client": "192.0.2.1", "server": "198.51.100.1"},
        routers={"r1": ["203.0.113.1", "203.0.113.2"]},
        apps={"p1": {"type": "ping", "host": "client", "results": {"rtt_min": math.nan, "replies": [(1, 2)]}}},
    )
    assert list(summary) == ["version", "scenario", "seed", "end_time", "trace_level", "hosts", "routers", "apps"]
    assert summary["version"] == SUMMARY_VERSION == 1
    assert (summary["scenario"], summary["seed"], summary["end_time"], summary["trace_level"]) == ("demo", 7, 10.0, "packets")
    assert list(summary["hosts"]) == ["client", "server"]
    client = summary["hosts"]["client"]
    assert client["address"] == "192.0.2.1"
    assert client["counters"] == {"sent": 2, "received": 0, "forwarded": 0, "dropped": {}}
    assert [c["final_state"] for c in client["connections"]] == ["CLOSED", "ESTABLISHED"]
    assert summary["routers"] == {
        "r1": {"addresses": ["203.0.113.1", "203.0.113.2"],
               "counters": {"sent": 0, "received": 0, "forwarded": 1, "dropped": {"queue": 1}}}
    }
    # NaN is not JSON: it becomes null; tuples become lists.
    assert summary["apps"] == {"p1": {"type": "ping", "host": "client", "results": {"rtt_min": None, "replies": [[1, 2]]}}}
    json.dumps(summary, allow_nan=False)


def test_hosts_without_connections_have_an_empty_list() -> None:
    summary = build_summary(Trace(), scenario="s", seed=1, end_time=0.0, hosts={"a": "192.0.2.1"}, routers={}, apps={})
    assert summary["hosts"]["a"]["connections"] == []
    assert summary["trace_level"] == "packets"
