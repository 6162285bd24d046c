"""netstat -nat from the trace, at any instant; and the connection histories behind it."""

from __future__ import annotations

from tcpsim.net import Simulation
from tcpsim.trace.netstat import endpoints, format_summary, format_table, snapshot, state_counts

STATE = "state"


def recs() -> list[tuple[object, ...]]:
    """A hand-made trace: a listener, a child that completes, a client that closes."""
    return [
        (0.0, STATE, "srv", "10.0.0.2:80>0.0.0.0:*", "CLOSED", "LISTEN", "listen(): passive open", "RFC 9293 §3.10.1"),
        (1.0, STATE, "cli", "10.0.0.1:5000>10.0.0.2:80", "CLOSED", "SYN_SENT", "c", ""),
        (1.1, STATE, "srv", "10.0.0.2:80>10.0.0.1:5000", "LISTEN", "SYN_RECV", "c", ""),
        (1.2, STATE, "cli", "10.0.0.1:5000>10.0.0.2:80", "SYN_SENT", "ESTABLISHED", "c", ""),
        (1.3, STATE, "srv", "10.0.0.2:80>10.0.0.1:5000", "SYN_RECV", "ESTABLISHED", "c", ""),
        (2.0, STATE, "cli", "10.0.0.1:5000>10.0.0.2:80", "ESTABLISHED", "CLOSED", "RST", ""),
        (3.0, STATE, "cli", "10.0.0.1:5000>10.0.0.2:80", "CLOSED", "SYN_SENT", "again", ""),
    ]


def test_endpoints_split_reuses_of_the_same_id() -> None:
    eps = endpoints(recs())
    assert [(e.node, e.local, e.remote) for e in eps] == [
        ("srv", "10.0.0.2:80", "0.0.0.0:*"),
        ("cli", "10.0.0.1:5000", "10.0.0.2:80"),
        ("srv", "10.0.0.2:80", "10.0.0.1:5000"),
        ("cli", "10.0.0.1:5000", "10.0.0.2:80"),
    ]
    assert eps[0].listener and eps[1].ended == 2.0 and eps[3].ended is None
    assert [s.state for s in eps[1].spans] == ["SYN_SENT", "ESTABLISHED"]


def test_snapshot_at_an_instant_and_the_netstat_layout() -> None:
    r = recs()
    rows = snapshot(r, 1.25)
    assert [(x.node, x.state) for x in rows] == [("srv", "LISTEN"), ("cli", "ESTABLISHED"), ("srv", "SYN_RECV")]
    assert snapshot(r, 1.3, "srv")[1].state == "ESTABLISHED"  # a change at T is already in effect at T
    assert [x.state for x in snapshot(r, 2.5)] == ["LISTEN", "ESTABLISHED"]
    lines = format_table(snapshot(r, 1.25, "srv"))
    assert lines == [
        "Active Internet connections (servers and established)",
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State",
        "tcp        0      0 10.0.0.2:80             0.0.0.0:*               LISTEN",
        "tcp        0      0 10.0.0.2:80             10.0.0.1:5000           SYN_RECV",
    ]
    assert format_summary(snapshot(r, 1.25)) == ["      1 ESTABLISHED", "      1 LISTEN", "      1 SYN_RECV"]


def test_queues_come_from_samples_when_the_trace_has_them() -> None:
    r = recs() + [(1.5, "sample", "srv", "10.0.0.2:80>10.0.0.1:5000", {"recv_q": 120, "send_q": 7})]
    r.sort(key=lambda x: x[0])  # type: ignore[arg-type, return-value]
    row = snapshot(r, 1.6, "srv")[1]
    assert (row.recv_q, row.send_q) == (120, 7)
    assert "   120      7 " in format_table([row], title=False)[1]


def test_state_counts_step_function(clean_run: Simulation) -> None:
    eps = endpoints(clean_run.trace.records)
    times, series = state_counts(eps, "server")
    assert series["LISTEN"][0] == 1 and max(series["SYN_RECV"]) == 1
    assert times == sorted(times)
    assert all(sum(col) >= 1 for col in zip(*series.values(), strict=True))  # the listener is always there
