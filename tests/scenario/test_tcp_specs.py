"""Validation of the TCP app types, socket options, and host profiles and settings."""

from __future__ import annotations

import pytest

from tcpsim.scenario import ScenarioError, build, load_text
from tcpsim.scenario.loader import parse, validate
from tcpsim.scenario.tcpapps import sockopt_problem

TOPO = "name: t\nhosts:\n  c: {}\n  s: {}\nlinks:\n  - {a: c, b: s}\napps:\n"


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        doc = parse(text, "t.yaml")
        build(validate(doc), doc=doc)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(("app", "expected"), [
    ("{type: bulk, host: c, dst: s}", "t.yaml:8: apps[0]: expected exactly one of bytes and duration"),
    ("{type: bulk, host: c, dst: s, bytes: 1MB, duration: 1s}", "t.yaml:8: apps[0]: expected exactly one of bytes and duration"),
    ("{type: syn-flood, host: c, dst: s, rate: 10}", "t.yaml:8: apps[0]: expected exactly one of duration and count"),
    ("{type: syn-flood, host: c, dst: s, count: 1, spoof: 10.0.0.0/33}",
     "t.yaml:8: apps[0].spoof: expected an IPv4 prefix such as 100.64.0.0/10 or an address, got '10.0.0.0/33'"),
    ("{type: syn-flood, host: c, dst: s, count: 1, rate: 0}", "t.yaml:8: apps[0].rate: expected a rate in SYNs per second > 0 and <= 1000000, got 0"),
    ("{type: churn, host: c, dst: s}", "t.yaml:8: apps[0]: expected exactly one of duration and connections"),
    ("{type: port-scan, host: c, dst: s, ports: '10-5'}", "t.yaml:8: apps[0].ports: port range '10-5' goes backwards"),
    ("{type: port-scan, host: c, dst: s, ports: [80, 0]}", "t.yaml:8: apps[0].ports: ports are 1..65535, got 0"),
    ("{type: tcp-client, host: c, dst: nowhere}",
     "t.yaml:8: apps[0].dst: unknown node 'nowhere' (expected a host or router name, one of: c, s; or an IPv4 address)"),
    ("{type: tcp-client, host: c, dst: s, count: 2, local_port: 5000}", "t.yaml:8: apps[0]: local_port: needs count: 1 (one local port, one connection)"),
    ("{type: tcp-client, host: c, dst: s, finish: slam}", "t.yaml:8: apps[0].finish: expected one of: close, shutdown, linger0, hold; got 'slam'"),
    ("{type: tcp-server, host: s, behaviour: chatty}",
     "t.yaml:8: apps[0].behaviour: expected one of: echo, sink, respond, close-after-response, never-close; got 'chatty'"),
    ("{type: tcp-server, host: s, port: 70000}", "t.yaml:8: apps[0].port: expected a value <= 65535, got 70000"),
    ("{type: tcp-server, host: s, sockopts: {SO_KEEPALVE: 1}}",
     "t.yaml:8: apps[0].sockopts.SO_KEEPALVE: unknown socket option 'SO_KEEPALVE' (expected one of: IP_TTL, SO_KEEPALIVE, "
     "SO_LINGER, SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG, "
     "TCP_NODELAY, TCP_SYNCNT, TCP_USER_TIMEOUT)"),
    ("{type: tcp-server, host: s, sockopts: {TCP_KEEPIDLE: 0}}",
     "t.yaml:8: apps[0].sockopts.TCP_KEEPIDLE: expected a number of seconds >= 1 and <= 32767 (as setsockopt takes it), got 0"),
    ("{type: vanishing-client, host: c, dst: s, vanish: unplug, link: wan}",
     "t.yaml:8: apps[0].link: unknown link 'wan' (expected one of: c-s)"),
])
def test_bad_tcp_apps(app: str, expected: str) -> None:
    assert error_of(TOPO + "  - " + app + "\n") == expected


def test_a_build_time_refusal_is_located() -> None:
    text = ("name: t\nhosts:\n  c: {}\n  s: {}\n  t: {}\nlinks:\n  - {a: c, b: s}\n  - {a: c, b: t}\n"
            "apps:\n  - {type: vanishing-client, host: c, dst: s, vanish: unplug}\n")
    assert error_of(text) == "t.yaml:10: apps[0]: host 'c' has 2 links: say which one to unplug (link:)"


@pytest.mark.parametrize(("host", "expected"), [
    ("{profile: bsd}", "t.yaml:3: hosts.c.profile: unknown profile 'bsd' (expected one of: linux, linux-classic, windows-xp, rfc9293, classroom)"),
    ("{sysctl: {net.ipv4.tcp_synack_retrie: 2}}",
     "t.yaml:3: hosts.c.sysctl['net.ipv4.tcp_synack_retrie']: unknown setting 'net.ipv4.tcp_synack_retrie' "
     "(did you mean 'net.ipv4.tcp_synack_retries'? see docs/profiles.md for the knobs and their real names)"),
    ("{sysctl: {net.ipv4.tcp_syn_retries: -1}}", "t.yaml:3: hosts.c.sysctl['net.ipv4.tcp_syn_retries']: expected a value >= 0, got -1"),
    ("{sysctl: {net.ipv4.ip_local_port_range: '5 1'}}",
     "t.yaml:3: hosts.c.sysctl['net.ipv4.ip_local_port_range']: expected 'low high' with 0 < low <= high <= 65535, got '5 1'"),
    ("{sysctl: {net.ipv4.icmp_echo_ignore_all: 2}}", "t.yaml:3: hosts.c.sysctl['net.ipv4.icmp_echo_ignore_all']: expected 0 or 1, got 2"),
])
def test_bad_host_settings(host: str, expected: str) -> None:
    assert error_of(TOPO.replace("  c: {}", "  c: " + host)) == expected


def test_good_host_settings_reach_the_stack() -> None:
    from tcpsim.net.tcp_layer import stack_of

    b = build(load_text(TOPO.replace("  c: {}", "  c: {profile: windows-xp, sysctl: {TcpTimedWaitDelay: 30, "
                                              "tcp_syncookies: 0, net.ipv4.ip_local_port_range: '40000 40009'}}")))
    cfg = stack_of(b.sim.host("c")).cfg
    assert (cfg.profile, cfg.time_wait, cfg.syncookies, cfg.local_port_range) == ("windows-xp", 30.0, 0, (40000, 40009))


def test_sockopt_values() -> None:
    assert sockopt_problem("SO_LINGER", 0) is None
    assert sockopt_problem("SO_LINGER", {"onoff": 1, "linger": 0}) is None
    assert sockopt_problem("SO_LINGER", {"onoff": 2}) is not None
    assert sockopt_problem("SO_LINGER", {"linger": 3}) is not None
    assert sockopt_problem("TCP_USER_TIMEOUT", 3000) is None
    assert sockopt_problem("TCP_USER_TIMEOUT", -1) is not None
    assert sockopt_problem("SO_REUSEADDR", True) is None
    assert sockopt_problem("TCP_KEEPCNT", 2.5) is not None
