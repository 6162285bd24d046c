"""``type: script`` apps, per-socket IP_TTL, error expectations naming the call, and the smaller
gaps of issue #16: start_delay, on_error: continue, connections of an app killed in connect(),
durations exact to the nanosecond."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tcpsim.cli import cli
from tcpsim.scenario import ScenarioError, build, load_text, run_scenario
from tcpsim.scenario.loader import parse, validate
from tcpsim.scenario.units import duration_ns, parse_duration
from tcpsim.trace.narrate import narrate
from tcpsim.trace.records import PKT, SEND
from tcpsim.wire.segment import flags_text

TOPO = "name: t\nuntil: 10s\nhosts:\n  c: {}\n  s: {}\nlinks:\n  - {a: c, b: s, delay: 10ms}\napps:\n"

SERVER = ("  - {type: script, name: srv, host: s, steps: [{call: socket, fd: l}, {call: bind, fd: l, port: 80},"
          " {call: listen, fd: l}, {call: accept, fd: l, as: a}, {at: 5s, call: close, fd: a}]}\n")


def run(text: str) -> tuple[object, dict[str, dict[str, object]]]:
    built = run_scenario(load_text(text, "t.yaml")).built
    return built, {a.name: a.results() for a in built.apps}


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        doc = parse(text, "t.yaml")
        build(validate(doc), doc=doc)
    assert "\n" not in str(info.value)
    return str(info.value)


# -- calls, their results and their checks ------------------------------------------------------


def test_calls_return_what_linux_returns_and_are_listed_with_their_times() -> None:
    text = TOPO + SERVER + (
        "  - name: c\n    type: script\n    host: c\n    steps:\n"
        "      - {call: socket, fd: s}\n"
        "      - {call: connect, fd: s, to: 's:80', expect: ok}\n"
        "      - {after: 1s, call: send, fd: s, bytes: 100, expect: 100}\n"
        "      - {at: 6s, call: recv, fd: s, bytes: 100, expect: ECONNRESET}\n"
        "      - {call: send, fd: s, data: 'hello', expect: EPIPE}\n"
        "      - {call: close, fd: s, expect: 0}\n")
    built, res = run(text)
    calls = res["c"]["calls"]
    assert [(c["text"], c["start"], c["t"], c.get("result", c.get("errno")), c.get("ok")) for c in calls] == [
        ("socket(s)", 0.0, 0.0, 3, None),
        ("connect(s, 192.0.2.2:80)", 0.0, 0.02, 0, True),
        ("send(s, 100)", 1.02, 1.02, 100, True),
        ("recv(s, 100)", 6.0, 6.0, "ECONNRESET", True),
        ("send(s, 5)", 6.0, 6.0, "EPIPE", True),
        ("close(s)", 6.0, 6.0, 0, True),
    ]
    assert res["c"]["errors"] == [{"t": 6.0, "errno": "ECONNRESET", "call": "recv"},
                                  {"t": 6.0, "errno": "EPIPE", "call": "send"}]
    assert res["c"]["bytes_sent"] == 100 and res["c"]["failed_expectations"] == 0
    assert res["srv"]["calls"][3]["result"] == 4  # accept: the lowest free descriptor
    outcomes = [(o.text, o.passed, o.observed) for o in built.outcomes]  # type: ignore[attr-defined]
    assert outcomes[0] == ("c: step 2, connect(s, 192.0.2.2:80) gives ok", True, "0 at 0.02 s")
    assert outcomes[2] == ("c: step 4, recv(s, 100) gives ECONNRESET", True, "ECONNRESET at 6 s")
    # The server's close() with 100 bytes unread is a RST (with ACK, window 0), not a FIN.
    last = [r for r in built.sim.trace.records if r[1] == PKT and r[3] == SEND and r[2] == "s"][-1]  # type: ignore[attr-defined]
    assert (last[0], flags_text(last[4].payload.flags), last[4].payload.window) == (5.0, "R.", 0)


def test_a_mismatch_fails_like_any_expectation_and_stop_on_error_stops(tmp_path: Path) -> None:
    body = ("  - name: c\n    type: script\n    host: c\n{stop}    steps:\n"
            "      - {{call: socket, fd: s}}\n"
            "      - {{call: connect, fd: s, to: 's:81', expect: ok}}\n"
            "      - {{call: socket, fd: t, expect: 4}}\n")
    built, res = run(TOPO + SERVER + body.format(stop=""))
    failed = [(o.text, o.observed) for o in built.outcomes if not o.passed]  # type: ignore[attr-defined]
    assert failed == [("c: step 2, connect(s, 192.0.2.2:81) gives ok", "ECONNREFUSED at 0.02 s")]
    assert len(res["c"]["calls"]) == 3 and res["c"]["failed_expectations"] == 1
    built, res = run(TOPO + SERVER + body.format(stop="    stop_on_error: true\n"))
    failed = [(o.text, o.observed) for o in built.outcomes if not o.passed]  # type: ignore[attr-defined]
    assert failed[1] == ("c: step 3, socket(t) gives 4",
                         "the call never ran (the script stopped or the run ended at 10 s)")
    assert res["c"]["stopped_at_step"] == 1 and len(res["c"]["calls"]) == 2
    path = tmp_path / "t.yaml"
    path.write_text(TOPO + SERVER + body.format(stop=""))
    out = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "o"), "--no-plots"])
    assert out.exit_code == 1 and "FAIL  c: step 2, connect(s, 192.0.2.2:81) gives ok" in out.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["apps"]["c"]["results"]["calls"][1]["errno"] == "ECONNREFUSED"
    trace = [json.loads(line) for line in (tmp_path / "o" / "trace.jsonl").read_text().splitlines()]
    calls = [r for r in trace if r["kind"] == "app" and r["what"] == "step" and r["app"] == "c"]
    assert [c["detail"]["text"] for c in calls] == ["socket(s)", "connect(s, 192.0.2.2:81)", "socket(t)"]


def test_a_call_still_blocked_at_the_end_fails_its_expectation() -> None:
    text = TOPO + ("  - {type: script, name: c, host: c, steps: [{call: socket, fd: l}, {call: listen, fd: l},"
                   " {call: accept, fd: l, as: a, expect: ok}]}\n")
    built, res = run(text)
    assert res["c"]["calls"][-1]["blocked"] is True
    assert [(o.passed, o.observed) for o in built.outcomes] == [(False, "it never returned (called at 0 s)")]  # type: ignore[attr-defined]


def test_kill_step_dies_with_its_sockets_open_and_the_host_closes_them() -> None:
    text = TOPO + SERVER + ("  - {type: script, name: c, host: c, steps: [{call: socket, fd: s},"
                            " {call: connect, fd: s, to: 's:80'}, {at: 1s, call: kill}, {call: socket, fd: t}]}\n")
    built, res = run(text)
    assert [c["call"] for c in res["c"]["calls"]] == ["socket", "connect", "kill"]
    assert res["c"]["kills"] == 1
    fins = [r for r in built.sim.trace.records if r[1] == PKT and r[3] == SEND and r[2] == "c"  # type: ignore[attr-defined]
            and r[4].payload.flags & 1]
    assert [r[0] for r in fins] == [1.0]


def test_nonblocking_socket_and_so_error_read_once() -> None:
    text = TOPO + SERVER + ("  - {type: script, name: c, host: c, steps: [{call: socket, fd: s, nonblocking: true},"
                   " {call: connect, fd: s, to: 's:81', expect: EINPROGRESS}, {call: recv, fd: s, expect: EAGAIN},"
                   " {after: 50ms, call: getsockopt, fd: s, opt: SO_ERROR, expect: ECONNREFUSED},"
                   " {call: getsockopt, fd: s, opt: SO_ERROR, expect: 0}]}\n")
    built, res = run(text)
    assert [c.get("result", c.get("errno")) for c in res["c"]["calls"]] == [3, "EINPROGRESS", "EAGAIN", "ECONNREFUSED", 0]
    assert all(o.passed for o in built.outcomes)  # type: ignore[attr-defined]


def test_socket_options_set_and_read_back() -> None:
    text = TOPO + ("  - name: c\n    type: script\n    host: c\n    steps:\n      - {call: socket, fd: s}\n" + "".join(
        f"      - {{call: setsockopt, fd: s, opt: {o}, value: {v}}}\n      - {{call: getsockopt, fd: s, opt: {o}, expect: {e}}}\n"
        for o, v, e in [("SO_REUSEADDR", 1, 1), ("SO_KEEPALIVE", 1, 1), ("SO_LINGER", "{onoff: 1, linger: 5}",
                        "{onoff: 1, linger: 5}"), ("SO_SNDBUF", 4096, 8192), ("SO_RCVBUF", 4096, 8192),
                        ("TCP_NODELAY", 1, 1), ("TCP_MAXSEG", 536, 536), ("TCP_SYNCNT", 2, 2),
                        ("TCP_USER_TIMEOUT", 2000, 2000), ("TCP_KEEPIDLE", 10, 10), ("TCP_KEEPINTVL", 2, 2),
                        ("TCP_KEEPCNT", 3, 3), ("IP_TTL", 9, 9), ("IP_TTL", -1, 64)])
        + "      - {call: getsockopt, fd: s, opt: SO_ERROR, expect: 0}\n")
    built, _ = run(text)
    assert [(o.text, o.observed) for o in built.outcomes if not o.passed] == []  # type: ignore[attr-defined]
    assert len(built.outcomes) == 15  # type: ignore[attr-defined]


def test_ip_ttl_is_per_socket_and_a_listener_passes_it_on() -> None:
    text = TOPO + (
        "  - {type: script, name: srv, host: s, steps: [{call: socket, fd: l},"
        " {call: setsockopt, fd: l, opt: IP_TTL, value: 33}, {call: bind, fd: l, port: 80}, {call: listen, fd: l},"
        " {call: accept, fd: l, as: a}, {call: send, fd: a, bytes: 10}]}\n"
        "  - {type: script, name: c, host: c, steps: [{call: socket, fd: s}, {call: setsockopt, fd: s, opt: IP_TTL,"
        " value: 7}, {call: connect, fd: s, to: 's:80'}, {call: socket, fd: t}, {call: connect, fd: t, to: 's:80'}]}\n")
    built, _ = run(text)
    sent = [(r[2], r[4].payload.sport, r[4].ttl) for r in built.sim.trace.records if r[1] == PKT and r[3] == SEND]  # type: ignore[attr-defined]
    by_port: dict[tuple[str, int], set[int]] = {}
    for node, port, ttl in sent:
        by_port.setdefault((node, port), set()).add(ttl)
    client_ports = sorted(p for n, p in by_port if n == "c")
    assert [by_port[("c", p)] for p in client_ports] == [{7}, {64}]
    assert by_port[("s", 80)] == {33}  # SYN-ACKs and data of both accepted connections


# -- expectations on errors -------------------------------------------------------------------


def test_error_expectations_name_the_call_and_take_a_tolerance() -> None:
    text = TOPO + SERVER + (
        "  - {type: script, name: c, host: c, steps: [{call: socket, fd: s}, {call: connect, fd: s, to: 's:80'},"
        " {call: send, fd: s, bytes: 10}, {at: 6s, call: recv, fd: s}, {call: send, fd: s, bytes: 1}]}\n"
        "expect:\n"
        "  - {app: c, call: recv, error: ECONNRESET, at: 6s ± 10ms}\n"
        "  - {app: c, call: recv, error: ECONNRESET, at: '6.005s +- 1ms'}\n"
        "  - {app: c, call: send, error: ECONNRESET}\n"
        "  - {app: c, call: send, error: EPIPE, at: 6s, within: 1ms, count: 1}\n")
    built, _ = run(text)
    assert [(o.text, o.passed, o.observed) for o in built.outcomes[:4]] == [  # type: ignore[attr-defined]
        ("c sees ECONNRESET from recv() at 6 s (± 10 ms)", True, "1 time(s), first at 6 s"),
        ("c sees ECONNRESET from recv() at 6.005 s (± 1 ms)", False,
         "0 matching; ECONNRESET from recv() seen 1 time(s) at 6 s"),
        ("c sees ECONNRESET from send()", False, "saw ECONNRESET from recv() at 6 s, EPIPE from send() at 6 s"),
        ("c sees EPIPE from send() at 6 s (± 1 ms): 1 time(s)", True, "1 time(s), first at 6 s"),
    ]


@pytest.mark.parametrize(("line", "expected"), [
    ("{app: c, call: recv, error: ECONNRESET, at: 5s ± soon}",
     "t.yaml:11: expect[0].at: expected a time with a tolerance such as 5s ± 10ms: expected a duration such as "
     "5ms, 1.5s or 2min (a bare number is seconds; units: us, ms, s, min, h), got 'soon'"),
    ("{app: c, call: Recv, error: ECONNRESET}",
     "t.yaml:11: expect[0].call: expected one of: socket, bind, listen, accept, connect, send, recv, shutdown, close, "
     "setsockopt, getsockopt, sleep, kill; got 'Recv'"),
    ("{app: c, error: ECONNRESET, at: 5s ± 1ms, within: 1ms}",
     "t.yaml:11: expect[0]: expected the tolerance once: in at ('5s ± 10ms') or in within, not both"),
    ("{app: c, error: ECONNRESET, within: 1ms}", "t.yaml:11: expect[0]: within: goes with at:"),
])
def test_bad_error_expectations(line: str, expected: str) -> None:
    text = TOPO + "  - {type: script, name: c, host: c, steps: [{call: socket, fd: s}]}\nexpect:\n  - " + line + "\n"
    assert error_of(text) == expected


# -- one located line per bad spelling ---------------------------------------------------------

_S = "{type: script, host: c, steps: [{call: socket, fd: s}, "
BAD = [
    ("{type: script, host: c, steps: [{call: sockit, fd: s}]}",
     "steps[0].call: unknown call 'sockit' (expected one of: socket, bind, listen, accept, connect, send, recv, "
     "shutdown, close, setsockopt, getsockopt, sleep, kill)"),
    ("{type: script, host: c, steps: [{call: socket}]}", "steps[0].fd: missing required key"),
    ("{type: script, host: c, steps: [{call: socket, fd: s, nonblock: true}]}",
     "steps[0].nonblock: unknown key 'nonblock' (did you mean 'nonblocking'? expected one of: after, at, call, expect, "
     "fd, nonblocking)"),
    (_S + "{call: connect, fd: x, to: 's:80'}]}", "steps[1].fd: unknown fd 'x' (expected one named by an earlier step: s)"),
    (_S + "{call: connect, fd: s, to: 's'}]}",
     "steps[1].to: expected 'HOST:PORT' (e.g. 'server:80' or '198.51.100.1:80'), got 's'"),
    (_S + "{call: connect, fd: s, to: 'q:80'}]}",
     "steps[1].to: unknown node 'q' (expected a host or router name, one of: c, s; or an IPv4 address)"),
    (_S + "{call: send, fd: s}]}", "steps[1]: expected exactly one of bytes (a count) and data (a text)"),
    (_S + "{call: recv, fd: s, bytes: 0}]}", "steps[1].bytes: expected a value >= 1, got 0"),
    (_S + "{call: shutdown, fd: s, how: SHUT_WRITE}]}",
     "steps[1].how: expected one of: SHUT_RD, SHUT_WR, SHUT_RDWR; got 'SHUT_WRITE'"),
    (_S + "{call: setsockopt, fd: s, opt: SO_KEEPALIV, value: 1}]}",
     "steps[1].opt: unknown socket option 'SO_KEEPALIV' (expected one of: IP_TTL, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, "
     "SO_REUSEADDR, SO_SNDBUF, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG, TCP_NODELAY, TCP_SYNCNT, "
     "TCP_USER_TIMEOUT)"),
    (_S + "{call: setsockopt, fd: s, opt: IP_TTL, value: 256}]}",
     "steps[1].value: expected a TTL 1..255 (or -1: the default), got 256"),
    (_S + "{call: setsockopt, fd: s, opt: TCP_KEEPCNT, value: 0}]}", "steps[1].value: expected an integer >= 1 and <= 127, got 0"),
    (_S + "{call: setsockopt, fd: s, opt: SO_ERROR, value: 1}]}", "steps[1].opt: SO_ERROR can only be read (getsockopt)"),
    (_S + "{call: getsockopt, fd: s, opt: TCP_NODELY}]}",
     "steps[1].opt: unknown socket option 'TCP_NODELY' (expected one of: IP_TTL, SO_ERROR, SO_KEEPALIVE, SO_LINGER, "
     "SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG, TCP_NODELAY, "
     "TCP_SYNCNT, TCP_USER_TIMEOUT)"),
    (_S + "{call: recv, fd: s, expect: reset}]}",
     "steps[1].expect: expected ok, a return value (an integer >= 0) or an errno name such as ECONNRESET, got 'reset'"),
    (_S + "{call: getsockopt, fd: s, opt: SO_LINGER, expect: {on: 1}}]}",
     "steps[1].expect: expected ok, an errno name (ECONNREFUSED...), the value read (an integer, or {onoff: 0|1, "
     "linger: seconds}), got a mapping"),
    ("{type: script, host: c, steps: [{call: socket, fd: s, at: 1s, after: 1s}]}",
     "steps[0]: expected at most one of at (an absolute time) and after (a delay)"),
    ("{type: script, host: c, steps: [{call: socket, fd: s, after: soon}]}",
     "steps[0].after: expected a duration such as 5ms, 1.5s or 2min (a bare number is seconds; units: us, ms, s, min, "
     "h), got 'soon'"),
    ("{type: script, host: c, steps: [{call: sleep, duration: 0}]}", "steps[0].duration: expected a duration > 0, got 0"),
    ("{type: script, host: c, steps: [{call: socket, fd: l}, {call: accept, fd: l}]}", "steps[1].as: missing required key"),
    ("{type: script, host: c, steps: [{call: socket, fd: l}, {call: bind, fd: l, port: 65536}]}",
     "steps[1].port: expected a value <= 65535, got 65536"),
    ("{type: script, host: c, steps: [{call: socket, fd: l}, {call: listen, fd: l, backlog: -1}]}",
     "steps[1].backlog: expected a value >= 0, got -1"),
    ("{type: script, host: c, steps: []}", "steps: expected at least 1 entry, got none"),
    ("{type: script, host: c, steps: [{call: kill, fd: s}]}",
     "steps[0].fd: unknown key 'fd' (expected one of: after, at, call, expect)"),
    ("{type: script, host: c, stop_on_error: 1, steps: [{call: kill}]}", "stop_on_error: expected true or false, got 1"),
    ("{type: tcp-client, host: c, dst: s, start_delay: later}",
     "start_delay: expected a duration such as 5ms, 1.5s or 2min (a bare number is seconds; units: us, ms, s, min, h), "
     "got 'later'"),
    ("{type: tcp-client, host: c, dst: s, on_error: retry}", "on_error: expected one of: stop, continue; got 'retry'"),
    ("{type: bulk, host: c, dst: s, bytes: 1, start_delay: -1s}", "start_delay: expected a duration >= 0, got '-1s'"),
]


@pytest.mark.parametrize(("app", "expected"), BAD, ids=[e.split(":")[0] + f"-{i}" for i, (_, e) in enumerate(BAD)])
def test_bad_spellings_are_one_located_line(app: str, expected: str) -> None:
    assert error_of(TOPO + "  - " + app + "\n") == "t.yaml:9: apps[0]." + expected


def test_a_bad_spelling_exits_2_from_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TOPO + "  - {type: script, host: c, steps: [{call: socket, fd: s}, {call: recv, fd: t}]}\n")
    out = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2
    assert out.output.strip().endswith(
        f"{path}:9: apps[0].steps[1].fd: unknown fd 't' (expected one named by an earlier step: s)")
    assert not (tmp_path / "o").exists()


# -- narration ------------------------------------------------------------------------------------


def test_narration_tells_each_call_in_english_and_chinese() -> None:
    text = TOPO + SERVER + ("  - {type: script, name: c, host: c, steps: [{call: socket, fd: s},"
                            " {call: connect, fd: s, to: 's:80'}, {call: send, fd: s, bytes: 10},"
                            " {at: 6s, call: recv, fd: s, bytes: 100, expect: 0}]}\n")
    built, _ = run(text)
    records = built.sim.trace.records  # type: ignore[attr-defined]
    en = [line for line in narrate(records) if "recv(" in line]
    zh = [line for line in narrate(records, "zh") if "recv(" in line]
    assert en == ["6.000s c c: recv(s, 100) \u2192 ECONNRESET (Connection reset by peer)  [expected 0]"]
    assert zh == ["6.000s c c: recv(s, 100) \u2192 ECONNRESET（连接被对端重置）  [预期 0]"]


# -- start_delay, on_error, app of a connection killed in connect() ---------------------------------


def test_start_delay_waits_between_connecting_and_the_first_send() -> None:
    text = TOPO + ("  - {type: tcp-server, name: web, host: s}\n"
                   "  - {type: tcp-client, name: u, host: c, dst: s, start_delay: 2s}\n"
                   "  - {type: bulk, name: b, host: c, dst: s, port: 80, bytes: 1000, start_delay: 1.5s}\n")
    built, _ = run(text)
    data = [(r[0], r[4].payload.sport) for r in built.sim.trace.records  # type: ignore[attr-defined]
            if r[1] == PKT and r[3] == SEND and r[2] == "c" and r[4].payload.payload]
    firsts = sorted({port: t for t, port in reversed(data)}.values())
    assert firsts == [1.52, 2.02]


def test_on_error_continue_connects_again_for_the_requests_left() -> None:
    for on_error, failures in (("stop", 1), ("continue", 3)):
        _, res = run(TOPO + SERVER + f"  - {{type: tcp-client, name: u, host: c, dst: s, port: 81, requests: 3, on_error: {on_error}}}\n")
        assert res["u"]["connections_failed"] == failures
        assert [e["errno"] for e in res["u"]["errors"]] == ["ECONNREFUSED"] * failures
        assert [e["t"] for e in res["u"]["errors"]] == pytest.approx([0.02, 0.04, 0.06][:failures], abs=1e-9)


def test_a_connection_killed_in_connect_still_belongs_to_its_app() -> None:
    text = TOPO + ("  - {type: tcp-client, name: u, host: c, dst: s}\n"
                   "  - {type: script, name: k, host: c, steps: [{call: socket, fd: s}, {call: connect, fd: s, to: 's:80'}]}\n"
                   "faults:\n  - {from: c, flags: S, action: drop}\n"
                   "events:\n  - {at: 0.5s, kill: u}\n  - {at: 0.5s, kill: k}\n"
                   "expect:\n  - {host: c, app: u, sequence: [SYN_SENT, CLOSED]}\n"
                   "  - {host: c, app: k, sequence: [SYN_SENT, CLOSED]}\n"
                   "  - {packet: {app: u, flags: S}, count: 1}\n  - {packet: {app: k, flags: S}, count: 1}\n")
    built, res = run(text)
    assert [(o.text, o.observed) for o in built.outcomes if not o.passed] == []  # type: ignore[attr-defined]
    assert len(res["u"]["connections"]) == 1 and len(res["k"]["connections"]) == 1
    assert res["k"]["calls"][-1]["interrupted"] is True


# -- durations exact to the nanosecond ------------------------------------------------------------


def test_durations_are_whole_nanoseconds_and_add_up_as_written() -> None:
    assert duration_ns(parse_duration("1ms")) == 1_000_000
    assert duration_ns(parse_duration("0.9765625ms")) == 976_562  # half a nanosecond rounds to even
    assert duration_ns(parse_duration("0.0009765635")) == 976_564
    assert parse_duration("1ms") == 0.001 and parse_duration("2.5us") == 0.0000025
    assert sum(duration_ns(parse_duration("0.1s")) for _ in range(10)) == 1_000_000_000
    with pytest.raises(ValueError, match="expected a duration between 1e-06 s and"):
        parse_duration("0.0000000001s", positive=True)


def test_script_times_add_up_exactly() -> None:
    steps = "[{at: 1ms, call: socket, fd: s}" + ", {after: 1ms, call: sleep, duration: 0.9765625ms}" + \
        ", {after: 1ms, call: socket, fd: t}" * 8 + "]"
    _, res = run(TOPO + f"  - {{type: script, name: c, host: c, steps: {steps}}}\n")
    times = [c["t"] for c in res["c"]["calls"]]
    # 1 ms, then 1 ms + 0.976562 ms of sleep, then steps 1 ms apart: each time the float nearest the decimal.
    assert times[:2] == [0.001, 0.002976562]
    assert times[2:] == [(2_976_562 + k * 1_000_000) / 1e9 for k in range(1, 9)]
    assert times[2:] == [0.003976562, 0.004976562, 0.005976562, 0.006976562, 0.007976562, 0.008976562,
                         0.009976562, 0.010976562]
