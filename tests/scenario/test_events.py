"""Timed events: each action does what the format says, and bad targets are located errors."""

from __future__ import annotations

import pytest

from tcpsim.scenario import ScenarioError, load_text, run_scenario
from tcpsim.scenario.build import Built
from tcpsim.trace.records import NODE

TOPO = """\
name: ev
until: 30s
hosts:
  client: {address: 192.0.2.1}
  server: {address: 192.0.2.2}
routers: [r1]
links:
  - {a: client, b: r1, name: access, delay: 5ms}
  - {a: r1, b: server, name: core, delay: 5ms}
"""


def run(text: str) -> Built:
    return run_scenario(load_text(TOPO + text, "ev.yaml")).built


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_text(TOPO + text, "ev.yaml")
    return str(info.value)


def node_events(b: Built) -> list[tuple[float, str, str]]:
    return [(r[0], r[2], r[3]) for r in b.sim.trace.records if r[1] == NODE]


def test_crash_and_reboot_restart_only_the_apps_asked_for() -> None:
    b = run("""\
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-server, name: ssh, host: server, port: 22}
events:
  - {at: 2s, crash: server}
  - {at: 4s, reboot: server, restart_apps: [web]}
""")
    assert (2.0, "server", "crash") in node_events(b) and (4.0, "server", "reboot") in node_events(b)
    assert b.app("web").results()["starts"] == 2
    assert b.app("ssh").results()["starts"] == 1
    assert b.app("web").app.running and not b.app("ssh").app.running


def test_reboot_of_a_running_host_is_a_crash_then_a_boot() -> None:
    b = run("apps:\n  - {type: tcp-server, name: web, host: server}\n"
            "events:\n  - {at: 2s, reboot: server, restart_apps: true}\n")
    assert [e for e in node_events(b) if e[1] == "server"] == [(2.0, "server", "crash"), (2.0, "server", "reboot")]
    assert b.app("web").app.running


def test_kill_closes_with_fin_or_with_rst_when_data_is_unread() -> None:
    # The slow server reads the first 100 bytes (a request), then sits on it; the
    # next 100, held back by a fault, arrive later and stay unread.
    b = run("""\
apps:
  - {type: tcp-server, name: slow, host: server, delay: 100s}
  - {type: tcp-client, name: c, host: client, dst: server, send: 100, requests: 1, finish: hold}
  - {type: tcp-server, name: idle, host: server, port: 81}
  - {type: tcp-client, name: d, host: client, dst: server, port: 81, requests: 0, finish: hold}
events:
  - {at: 2s, kill: slow}
  - {at: 2s, kill: idle}
faults:
  - {action: delay, delay: 500ms, from: client, data: true, app: c, nth: 2}
expect:
  - {packet: {flags: R., from: server, app: slow}, count: 1}
  - {packet: {flags: "+F", from: server, app: idle}, count: 1}
  - {app: c, error: ECONNRESET, count: 1}
""")
    assert b.passed, [(o.text, o.observed) for o in b.outcomes or [] if not o.passed]
    assert b.app("slow").results()["kills"] == 1


def test_start_restarts_a_server_and_bind_may_fail() -> None:
    b = run("""\
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: c, host: client, dst: server, finish: hold}
events:
  - {at: 2s, kill: web}
  - {at: 3s, start: web}
""")
    errors = b.app("web").results()["errors"]
    assert [(e["t"], e["errno"], e["call"]) for e in errors] == [(3.0, "EADDRINUSE", "bind")]


def test_shutdown_kills_apps_then_powers_off_after_grace() -> None:
    b = run("""\
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: c, host: client, dst: server, finish: hold}
events:
  - {at: 2s, shutdown: server, grace: 500ms}
expect:
  - {app: c, error: ECONNRESET, count: 0}
  - {packet: {flags: "+F", from: server}, count: 1}
  - {at: 3s, host: client, state: CLOSED, count: 1}
""")
    assert (2.5, "server", "crash") in node_events(b)
    assert b.passed, [(o.text, o.observed) for o in b.outcomes or [] if not o.passed]


def test_link_events_and_partition() -> None:
    b = run("""\
apps:
  - {type: ping, name: p, host: client, dst: server, count: 10, interval: 1s, timeout: 1s}
events:
  - {at: 1.5s, link_down: core}
  - {at: 2.5s, link_up: core}
  - {at: 4.5s, partition: [access, core]}
  - {at: 6.5s, heal: [access, core]}
  - {at: 7.5s, link: core, set: {delay: 100ms}, direction: a_to_b}
""")
    replies = {r["seq"]: r["rtt"] for r in b.app("p").results()["replies"]}
    # Echo requests leave at 0, 1, ..., 9 s as seq 1..10: the one at 2 s meets the cut
    # link, those at 5 and 6 s the partition; from 7.5 s the way there is 95 ms longer.
    assert sorted(replies) == [1, 2, 4, 5, 8, 9, 10]
    assert replies[4] == pytest.approx(0.02) and replies[9] == pytest.approx(0.115)
    assert b.sim.link("core").ab.params.delay == 0.1 and b.sim.link("core").ba.params.delay == 0.005


def test_sysctl_at_run_time_reaches_an_existing_listener() -> None:
    b = run("""\
hosts_extra: null
""".replace("hosts_extra: null\n", "") + """\
apps:
  - {type: tcp-server, name: web, host: server, backlog: 2}
  - {type: syn-flood, name: f, host: client, dst: server, rate: 100, count: 20, start: 2s}
  - {type: tcp-client, name: c, host: client, dst: server, start: 3s}
events:
  - {at: 1s, sysctl: server, set: {net.ipv4.tcp_syncookies: 2}}
expect:
  - {app: web, result: listener.cookies_sent, value: ">= 20"}
  - {app: c, result: connect_times.0, value: "< 0.1"}
""")
    assert b.passed, [(o.text, o.observed) for o in b.outcomes or [] if not o.passed]
    assert (1.0, "server", "sysctl") in node_events(b)


@pytest.mark.parametrize(("events", "expected"), [
    ("  - {at: 1s, crash: nowhere}\n", "ev.yaml:13: events[0].crash: unknown node 'nowhere' (expected one of: client, r1, server)"),
    ("  - {at: 1s, kill: p}\n", "ev.yaml:13: events[0].kill: 'p' is a ping app; only TCP apps can be killed or started"),
    ("  - {at: 1s, start: ghost}\n", "ev.yaml:13: events[0].start: unknown app 'ghost' (expected one of: p)"),
    ("  - {at: 1s, link_down: wan}\n", "ev.yaml:13: events[0].link_down: unknown link 'wan' (expected one of: access, core)"),
    ("  - {at: 1s, partition: [core, wan]}\n", "ev.yaml:13: events[0].partition[1]: unknown link 'wan' (expected one of: access, core)"),
    ("  - {at: 1s, shutdown: r1}\n", "ev.yaml:13: events[0].shutdown: unknown host 'r1' (expected one of: client, server)"),
    ("  - {at: 1s, sysctl: server, set: {tcp_syncookie: 1}}\n",
     "ev.yaml:13: events[0].set.tcp_syncookie: unknown setting 'tcp_syncookie' (did you mean 'tcp_syncookies'? "
     "see docs/profiles.md for the knobs and their real names)"),
    ("  - {at: 1s, link: core, set: {}}\n", "ev.yaml:13: events[0]: set: expected at least one link key to change (loss, delay, bandwidth, ...)"),
    ("  - {at: 40s, crash: server}\n", "ev.yaml:13: events[0].at: at 40 s is not before the end of the run (until: 30 s); the event would never happen"),
    ("  - {at: 1s}\n", "ev.yaml:13: events[0]: expected a mapping with at: and exactly one action: crash, reboot, shutdown, kill, start, link_down, link_up, partition, heal, link, sysctl, set_rules, inject"),
    ("  - {at: 1s, crash: server, kill: p}\n", "ev.yaml:13: events[0]: expected a mapping with at: and exactly one action: crash, reboot, shutdown, kill, start, link_down, link_up, partition, heal, link, sysctl, set_rules, inject"),
    ("  - {at: 1s, crash: server, grace: 1s}\n", "ev.yaml:13: events[0].grace: unknown key 'grace' (expected one of: at, crash)"),
    ("  - {at: 1s, reboot: server, restart_apps: [p]}\n", "ev.yaml:13: events[0].restart_apps[0]: 'p' is not a TCP app on server (none defined)"),
])
def test_bad_events_are_one_located_line(events: str, expected: str) -> None:
    text = "apps:\n  - {type: ping, name: p, host: client, dst: server}\nevents:\n" + events
    assert error_of(text) == expected
