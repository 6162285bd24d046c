"""Metrics: paths and expressions over summary.json, checked early, evaluated with nulls propagating."""

from __future__ import annotations

from typing import Any

import pytest

from tcpsim.sweep.expr import (
    APP_RESULT_KEYS,
    ExprError,
    Shape,
    compile_apply,
    compile_metric,
    evaluate,
)
from tcpsim.sweep.stats import mean_ci, t_quantile
from tcpsim.trace.records import Level

SHAPE = Shape(hosts=("client", "server"), routers=("r1",), apps={"web": "tcp-server", "users": "tcp-client"},
              params=("rate",), faults=("lose-ack",))

SUMMARY: dict[str, Any] = {
    "version": 1, "scenario": "x", "seed": 3, "end_time": 10.0, "trace_level": "states", "variant": None,
    "params": {"rate": 50},
    "hosts": {
        "client": {"address": "192.0.2.1", "counters": {"sent": 12, "received": 9, "forwarded": 0,
                                                         "dropped": {"loss": 2}}, "connections": []},
        "server": {"address": "192.0.2.2", "counters": {"sent": 9, "received": 10, "forwarded": 0, "dropped": {}},
                   "connections": [
                       {"states": [{"state": "SYN_RECV", "t": 1.0}, {"state": "ESTABLISHED", "t": 1.5},
                                   {"state": "CLOSED", "t": 4.0}]},
                       {"states": [{"state": "SYN_RECV", "t": 1.2}, {"state": "CLOSED", "t": 2.0}]},
                       {"states": [{"state": "SYN_RECV", "t": 2.0}]},
                   ]},
    },
    "routers": {"r1": {"addresses": ["203.0.113.1"], "counters": {"sent": 0, "received": 0, "forwarded": 20,
                                                                    "dropped": {}}}},
    "apps": {
        "web": {"type": "tcp-server", "host": "server", "results": {"accepted": 3, "transfers": [
            {"conn": "a", "goodput_bps": 1000.0}, {"conn": "b", "goodput_bps": None}, {"conn": "c", "goodput_bps": 3000.0}]}},
        "users": {"type": "tcp-client", "host": "client", "results": {
            "connections_made": 3, "connections_failed": 1, "connect_times": [0.5, 1.5, 4.0],
            "goodput_bps": None,
            "errors": [{"t": 7.0, "errno": "ETIMEDOUT", "call": "connect"},
                       {"t": 2.5, "errno": "EADDRNOTAVAIL", "call": "connect"},
                       {"t": 3.5, "errno": "EADDRNOTAVAIL", "call": "connect"}]}},
    },
    "faults": {"lose-ack": {"matched": 4, "applied": 1}}, "expectations": [], "passed": True,
}
COUNTERS = {("server", "tcp:listen_drops"): 17, ("r1", "fwd"): 20}


def value(text: str) -> Any:
    return evaluate(compile_metric(text, SHAPE, "m"), SUMMARY, COUNTERS)


@pytest.mark.parametrize(("text", "expected"), [
    ("apps.users.results.connections_made", 3),
    ("apps.users.results.connect_times.1", 1.5),
    ("apps.users.results.connect_times[-1]", 4.0),
    ("apps.users.results.connect_times.7", None),                       # a path this run lacks: null
    ("hosts.client.counters.dropped.loss", 2),
    ("apps.users.results.connections_made / (apps.users.results.connections_made"
     " + apps.users.results.connections_failed)", 0.75),
    ("apps.users.results.goodput_bps * 8", None),                       # null propagates
    ("1 / (apps.users.results.connections_made - 3)", None),            # division by zero: null
    ("mean(apps.users.results.connect_times)", 2.0),
    ("median(apps.users.results.connect_times)", 1.5),
    ("max(apps.users.results.connect_times) - min(apps.users.results.connect_times)", 3.5),
    ("len(apps.users.results.errors)", 3),
    ("first_error('users', 'EADDRNOTAVAIL')", 2.5),
    ("first_error('users', 'ECONNRESET')", None),
    ("error_count('users', 'EADDRNOTAVAIL')", 2),
    ("counter('server', 'tcp:listen_drops')", 17),
    ("counter('client', 'tcp:listen_drops')", 0),
    ("peak('server', 'SYN_RECV')", 2),                                  # 1.0-1.5 and 1.2-2.0 overlap; 2.0 starts as one ends
    ("in_state('server', 'SYN-RECEIVED', 1.3)", 2),
    ("in_state('server', 'ESTABLISHED', 3)", 1),
    ("sum(pluck(apps.web.results.transfers, 'goodput_bps'))", 4000.0),
    ("len(where(apps.users.results.errors, 'errno', 'EADDRNOTAVAIL'))", 2),
    ("faults['lose-ack'].applied", 1),
    ("get('apps.users.results.connect_times.0')", 0.5),
    ("get('apps.users.results.nope', -1)", -1),
    ("coalesce(apps.users.results.goodput_bps, 0)", 0),
    ("params.rate * 2 if passed else 0", 100),
    ("apps.users.results.connections_failed > 0 and seed == 3", True),
    ("round(10 / 3, 2)", 3.33),
    ("'EADDRNOTAVAIL' in pluck(apps.users.results.errors, 'errno')", True),
    ("not passed", False),
    ("2 ** 10000", None),                                               # too large a power: null, not a hang
])
def test_metric_values(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("apps.user.results.requests", "unknown app 'user' (did you mean 'users'?"),
    ("apps.users.results.conect_times", "unknown result of a tcp-client app (see docs/summary.md) 'conect_times' "
                                        "(did you mean 'connect_times'?"),
    ("host.client.counters.sent", "unknown name 'host' (did you mean 'hosts'?"),
    ("hosts.client.counters.sent.x", "hosts.client.counters.sent is a plain value; it has no 'x'"),
    ("__import__('os').system('true')", "unknown function \"__import__('os').system\""),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("(lambda: 1)()", "unknown function 'lambda: 1'"),
    ("lambda: 1", "lambda is not allowed"),
    ("[x for x in apps]", "a list comprehension is not allowed"),
    ("apps.users.results.requests +", "not a valid expression: invalid syntax"),
    ("apps.__class__", "unknown app '__class__'"),
    ("peak('client', 'SYN_WAIT')", "peak(): unknown TCP state 'SYN_WAIT'"),
    ("peak('srv', 'SYN_RECV')", "peak(): unknown host 'srv'"),
    ("counter('r2', 'fwd')", "counter(): unknown node 'r2'"),
    ("mean()", "mean() takes 1 or more arguments, got 0"),
    ("round(1, ndigits=2)", "round(): give the arguments by position"),
    ("1 << 3", "operator << not allowed"),
    ("len", "len is a function; call it: len(...)"),
])
def test_bad_metrics_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        compile_metric(text, SHAPE, "m")
    assert message in str(err.value)


def test_trace_level_needed() -> None:
    assert compile_metric("apps.users.results.requests", SHAPE, "m").level == Level.COUNTERS
    assert compile_metric("len(hosts.server.connections)", SHAPE, "m").level == Level.STATES
    assert compile_metric("peak('server', 'SYN_RECV') + 1", SHAPE, "m").level == Level.STATES


def test_apply_sees_only_the_value() -> None:
    c = compile_apply('"40000 " + str(39999 + value)', "apply")
    assert evaluate(c, {}, names={"value": 10}) == "40000 40009"
    with pytest.raises(ExprError, match="unknown name 'apps'"):
        compile_apply("apps.x", "apply")
    with pytest.raises(ExprError, match="unknown function 'counter'"):
        compile_apply("counter('a', 'b')", "apply")


def test_result_keys_match_what_apps_report() -> None:
    """The table of result fields used to check metrics early is what the apps really return."""
    from tcpsim.scenario import load_text, run_scenario

    scn = load_text("""
name: every-app
until: 3s
hosts: {a: {}, b: {}}
links: [{a: a, b: b, delay: 1ms}]
apps:
  - {type: ping, host: a, dst: b, count: 1}
  - {type: traceroute, host: a, dst: b}
  - {type: tcp-server, name: web, host: b}
  - {type: sink, name: sink, host: b}
  - {type: tcp-client, host: a, dst: b}
  - {type: bulk, host: a, dst: b, bytes: 1000}
  - {type: syn-flood, host: a, dst: b, count: 2}
  - {type: port-scan, host: a, dst: b, ports: 80}
  - {type: churn, host: a, dst: b, connections: 2}
  - {type: vanishing-client, host: a, dst: b, after: 1s, down_for: 1s}
""")
    summary = run_scenario(scn).summary()
    seen = set()
    for app in summary["apps"].values():
        assert set(app["results"]) == set(APP_RESULT_KEYS[app["type"]]), app["type"]
        seen.add(app["type"])
    assert seen == set(APP_RESULT_KEYS)


def test_student_t_quantiles_and_interval() -> None:
    # Two-sided 95% quantiles from statistical tables.
    for df, t in ((1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045), (200, 1.972)):
        assert t_quantile(df) == pytest.approx(t, abs=5e-4)
    m, h, n = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert (m, n) == (2.5, 4)
    assert h == pytest.approx(3.182446 * (1.2909944 / 2), rel=1e-5)
    assert mean_ci([5.0]) == (5.0, 0.0, 1)
