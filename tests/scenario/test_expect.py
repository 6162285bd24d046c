"""Expectations: each kind passes when it should, and a failure says what happened instead."""

from __future__ import annotations

import pytest

from tcpsim.scenario import ScenarioError, load_text, run_scenario
from tcpsim.scenario.expect import Outcome, Range, parse_range

TOPO = """\
name: e
until: 70s
hosts:
  client: {address: 192.0.2.1}
  server: {address: 192.0.2.2}
links:
  - {a: client, b: server, delay: 10ms}
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: user, host: client, dst: server}
  - {type: tcp-client, name: refused, host: client, dst: server, port: 81}
expect:
"""


def outcomes(expect: str, top: str = TOPO) -> list[Outcome]:
    return run_scenario(load_text(top + expect, "e.yaml")).built.outcomes or []


def one(expect: str) -> Outcome:
    (o,) = outcomes("  - " + expect + "\n")
    return o


def test_range_parsing() -> None:
    assert parse_range(3) == Range(3, 3)
    assert parse_range("3") == Range(3, 3)
    assert parse_range(">= 3") == Range(3, None)
    assert parse_range(">3") == Range(3, None, lo_open=True)
    assert parse_range("<= 2.5") == Range(None, 2.5)
    assert parse_range("< 10") == Range(None, 10, hi_open=True)
    assert parse_range("2..5") == Range(2, 5)
    r = parse_range("> 2")
    assert not r.holds(2) and r.holds(2.1)
    for bad in ("", "three", ">=", "5..2", True, None, [1], float("nan")):
        with pytest.raises(ValueError):
            parse_range(bad)
    assert parse_range("2..5").describe() == "between 2 and 5"
    assert parse_range(">= 1").describe() == "at least 1"


@pytest.mark.parametrize(("expect", "passed", "text", "observed"), [
    ("{at: 30s, host: client, state: TIME_WAIT, count: 1}", True,
     "at 30 s, client has 1 connection in TIME_WAIT", "1"),
    ("{at: 30s, host: client, state: TIME-WAIT}", True,
     "at 30 s, client has at least 1 connection in TIME_WAIT", "1"),
    ("{at: 30s, host: client, state: ESTABLISHED, count: 2}", False,
     "at 30 s, client has 2 connections in ESTABLISHED", "found 0 in ESTABLISHED; client had 1 TIME_WAIT"),
    ("{host: client, state: TIME_WAIT, lasted: 60s}", True,
     "on client, every stay in TIME_WAIT lasts 60 s (± 1 ms)", "1 stay(s)"),
    ("{host: client, state: TIME_WAIT, lasted: 30s}", False,
     "on client, every stay in TIME_WAIT lasts 30 s (± 1 ms)",
     "1 of 1 did not; e.g. 192.0.2.1:54606>192.0.2.2:80: entered at 0.06 s, lasted 60 s"),
    ("{host: client, app: user, sequence: [SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSED]}", True,
     "on client, a connection of app user goes SYN_SENT -> ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT -> CLOSED",
     "192.0.2.1:54606>192.0.2.2:80"),
    ("{host: client, sequence: [SYN_SENT, CLOSE_WAIT]}", False,
     "on client, a connection goes SYN_SENT -> CLOSE_WAIT",
     "saw SYN_SENT -> ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT -> CLOSED; SYN_SENT -> CLOSED"),
    ("{host: server, sequence: [ESTABLISHED, LAST_ACK], partial: true}", True,
     "on server, a connection goes through ESTABLISHED -> LAST_ACK", "192.0.2.2:80>192.0.2.1:54606"),
    ("{app: refused, error: ECONNREFUSED, at: 20ms}", True, "refused sees ECONNREFUSED at 0.02 s (± 1 ms)",
     "1 time(s), first at 0.02 s"),
    ("{app: refused, error: ECONNREFUSED, at: 1s}", False, "refused sees ECONNREFUSED at 1 s (± 1 ms)",
     "0 matching; ECONNREFUSED seen 1 time(s) at 0.02 s"),
    ("{app: user, error: ETIMEDOUT, count: 0}", True, "user never sees ETIMEDOUT", "0 time(s)"),
    ("{app: user, error: ETIMEDOUT}", False, "user sees ETIMEDOUT", "saw no errors at all"),
    ("{host: client, counter: 'tcp:enter:TIME_WAIT', value: 1}", True, "client's counter tcp:enter:TIME_WAIT is 1", "1"),
    ("{host: client, counter: 'timer:rto', value: '>= 1'}", False, "client's counter timer:rto is at least 1",
     "it is 0 (counters of client like it: timer:2msl)"),
    ("{app: user, result: bytes_received, value: 1000}", True, "user's result bytes_received is 1000", "it is 1000"),
    ("{app: user, result: connect_times.0, value: 0.02, within: 1ms}", True,
     "user's result connect_times.0 is 0.02 (± 0.001)", "it is 0.02"),
    ("{app: user, result: dst, value: 192.0.2.2}", True, "user's result dst is '192.0.2.2'", "it is '192.0.2.2'"),
    ("{app: user, result: nothing.here, value: 1}", False, "user's result nothing.here is 1", "user has no result 'nothing.here'"),
    ("{packet: {moment: final-ack, from: client}}", True, "packets final-ack from client: at least 1 sent", "1"),
    ("{packet: {flags: R., from: server, app: refused}, count: 1}", True,
     "packets flags [R.] from server of refused: 1 sent", "1"),
    ("{packet: {flags: '+R', app: user}, count: 0}", True, "packets flags [+R] of user: never sent", "0"),
    ("{packet: {flags: S, to: server}, count: 1}", False, "packets flags [S] to server: 1 sent",
     "2 sent: 0.000 192.0.2.1.54606 > 192.0.2.2.80 [S]; 0.000 192.0.2.1.49480 > 192.0.2.2.81 [S]"),
])
def test_each_kind(expect: str, passed: bool, text: str, observed: str) -> None:
    o = one(expect)
    assert (o.passed, o.text, o.observed) == (passed, text, observed)


def test_a_failed_expectation_fails_the_run_but_not_the_others() -> None:
    b = run_scenario(load_text(TOPO + "  - {app: user, result: requests, value: 1}\n"
                                      "  - {app: user, result: requests, value: 2}\n")).built
    assert [o.passed for o in b.outcomes or []] == [True, False]
    assert not b.passed


@pytest.mark.parametrize(("expect", "expected"), [
    ("{at: 1s, host: client, state: BOGUS}", "e.yaml:13: expect[0].state: unknown TCP state 'BOGUS' (expected one of: "
     "CLOSED, LISTEN, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)"),
    ("{host: client, state: CLOSED}", "e.yaml:13: expect[0]: expected exactly one of at (count connections at a time) and lasted (how long it lasted)"),
    ("{at: 1s, host: client, state: CLOSED, count: many}", "e.yaml:13: expect[0].count: expected a number or a range such as 3, '>= 3', '< 10' or '2..5', got 'many'"),
    ("{app: ghost, error: ETIMEDOUT}", "e.yaml:13: expect[0].app: unknown app 'ghost' (expected one of: refused, user, web)"),
    ("{app: user, error: timeout}", "e.yaml:13: expect[0].error: expected an errno name such as ETIMEDOUT or ECONNRESET, got 'timeout'"),
    ("{host: nowhere, counter: send, value: 1}", "e.yaml:13: expect[0].host: unknown node 'nowhere' (expected one of: client, server)"),
    ("{app: user}", "e.yaml:13: expect[0]: expected a mapping with exactly one of: sequence, state, error, counter, result, packet, listener, recv_q (or send_q)"),
    ("{packet: {from: ghost}}", "e.yaml:13: expect[0].packet.from: unknown node 'ghost' (expected one of: client, server; or an IPv4 address)"),
])
def test_bad_expectations_are_one_located_line(expect: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(TOPO + "  - " + expect + "\n", "e.yaml")
    assert str(info.value) == expected


def test_the_trace_level_is_chosen_or_checked() -> None:
    top = TOPO.replace("until: 70s\n", "until: 70s\ntrace: counters\n")
    assert load_text(top + "  - {app: user, result: requests, value: 1}\n").trace_level == "counters"
    with pytest.raises(ScenarioError) as info:
        load_text(top + "  - {app: user, result: requests, value: 1}\n  - {at: 1s, host: client, state: CLOSED}\n",
                  "e.yaml")
    assert str(info.value) == ("e.yaml:3: trace: trace level 'counters' does not keep what expect[1] reads; "
                               "use states or higher, or leave trace: out to have it chosen")
    assert load_text(TOPO + "  - {packet: {flags: S}}\n").trace_level == "packets"
    states = TOPO.replace("until: 70s\n", "until: 70s\ntrace: states\n")
    assert [o.passed for o in outcomes("  - {at: 30s, host: client, state: TIME_WAIT}\n", states)] == [True]
