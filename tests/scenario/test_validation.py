"""Scenario validation: defaults, accepted forms, and one located line per error.

These tests need only the loader, not the network layer.
"""

from __future__ import annotations

import json

import pytest

from tcpsim.scenario import Scenario, ScenarioError, load, load_text
from tcpsim.scenario.errors import format_path

MINIMAL = "name: tiny\nhosts:\n  a: {}\n"


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "bad.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_minimal_scenario_and_defaults() -> None:
    s = load_text(MINIMAL)
    assert (s.name, s.description, s.lesson, s.seed, s.until, s.routing, s.trace, s.trace_level) == (
        "tiny", "", None, 1, 60.0, "delay", None, "packets"
    )
    assert s.hosts["a"].profile == "linux" and s.hosts["a"].address is None and s.hosts["a"].sysctl == {}
    assert (s.router_names, s.links, s.apps) == ([], [], [])


def test_name_defaults_to_the_file_stem(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "my-lab.yaml"
    path.write_text("hosts:\n  a: {}\n")
    assert load(path).name == "my-lab"


def test_the_briefs_example_is_valid() -> None:
    s = load_text(
        """
name: ping-ttl
description: one line shown by `tcpsim list`
lesson: |
  optional longer text
seed: 1
until: 30s
routing: delay
trace: packets
hosts:
  client: {address: 192.0.2.1, profile: linux, sysctl: {net.ipv4.ip_default_ttl: 64}}
  server: {}
routers: [r1, r2]
links:
  - {a: client, b: r1, delay: 5ms, bandwidth: 10Mbit, loss: 0.01, queue: 100}
  - {a: r1, b: r2, delay: 1ms}
  - {a: r2, b: server, delay: 5ms, a_to_b: {loss: 0.3}, b_to_a: {}}
apps:
  - {type: ping, name: p1, host: client, dst: server, count: 4, interval: 1s, ttl: 64, start: 0s}
  - {type: traceroute, host: client, dst: server}
"""
    )
    assert s.until == 30.0
    assert s.links[0].bandwidth == 10e6 and s.links[0].delay == 0.005 and s.links[0].queue == 100
    assert s.app_names() == ["p1", "traceroute1"]
    assert s.hosts["client"].sysctl == {"net.ipv4.ip_default_ttl": 64}


def test_routers_as_a_mapping_and_null_hosts() -> None:
    s = load_text("name: x\nhosts:\n  a:\n  b:\nrouters:\n  r1: {}\n  r2:\n")
    assert s.router_names == ["r1", "r2"]
    assert list(s.hosts) == ["a", "b"]


def test_direction_overrides_replace_only_the_keys_written() -> None:
    s = load_text(
        "name: x\nhosts:\n  a: {}\n  b: {}\n"
        "links:\n  - {a: a, b: b, delay: 10ms, loss: 1%, bandwidth: 1Mbit, a_to_b: {loss: 0.3}, b_to_a: {bandwidth: null}}\n"
    )
    link = s.links[0]
    ab, ba = link.params(link.a_to_b), link.params(link.b_to_a)
    assert (ab["delay"], ab["loss"], ab["bandwidth"]) == (0.01, 0.3, 1e6)
    assert (ba["delay"], ba["loss"], ba["bandwidth"]) == (0.01, 0.01, None)
    assert link.params(None) == link.params(link.b_to_a) | {"bandwidth": 1e6}


def test_default_app_names_skip_taken_names() -> None:
    s = load_text(
        "name: x\nhosts:\n  a: {}\napps:\n"
        "  - {type: ping, host: a, dst: a}\n  - {type: ping, name: ping1, host: a, dst: a}\n"
        "  - {type: traceroute, host: a, dst: 192.0.2.77}\n"
    )
    assert s.app_names() == ["ping2", "ping1", "traceroute1"]


def test_json_schema_is_printable() -> None:
    schema = Scenario.model_json_schema()
    text = json.dumps(schema)
    assert schema["title"] == "tcpsim scenario"
    assert schema["additionalProperties"] is False
    assert {"hosts", "routers", "links", "apps"} <= set(schema["properties"])
    assert "ping" in text and "traceroute" in text


def test_format_path() -> None:
    assert format_path(("links", 1, "b")) == "links[1].b"
    assert format_path(("hosts", "a", "sysctl", "net.ipv4.ip_default_ttl")) == "hosts.a.sysctl['net.ipv4.ip_default_ttl']"
    assert format_path(()) == ""


# -- errors: FILE:LINE: PATH: what was expected ---------------------------------------------

TWO_HOSTS = "name: x\nhosts:\n  a: {}\n  b: {}\n"

BAD = [
    # The eight kinds the brief names.
    ("invalid yaml", "name: x\nhosts:\n  a: {}\n links: [\n",
     "bad.yaml:4: invalid YAML: while parsing a block mapping did not find expected key"),
    ("unknown key", TWO_HOSTS + "links:\n  - {a: a, b: b, dealy: 5ms}\n",
     "bad.yaml:6: links[0].dealy: unknown key 'dealy' (did you mean 'delay'? expected one of: a, a_to_b, addr_a, "
     "addr_b, b, b_to_a, bandwidth, corrupt, delay, duplicate, gilbert, jitter, loss, mtu, name, queue, queue_bytes, "
     "reorder, reorder_delay)"),
    ("unknown host in link",
     "name: x\nhosts:\n  client: {}\n  server: {}\nrouters: [r1]\nlinks:\n  - {a: client, b: r1}\n  - {a: r1, b: srv}\n",
     "bad.yaml:8: links[1].b: unknown node 'srv' (expected one of: client, r1, server)"),
    ("negative delay", TWO_HOSTS + "links:\n  - a: a\n    b: b\n    delay: -5ms\n",
     "bad.yaml:8: links[0].delay: expected a duration >= 0, got '-5ms'"),
    ("loss above 1", TWO_HOSTS + "links:\n  - {a: a, b: b, loss: 1.5}\n",
     "bad.yaml:6: links[0].loss: expected a probability between 0 and 1, got 1.5"),
    ("duplicate address", "name: x\nhosts:\n  a: {address: 192.0.2.9}\n  b:\n    address: 192.0.2.9\n",
     "bad.yaml:5: hosts.b.address: duplicate address 192.0.2.9 (already used by hosts.a)"),
    ("bad duration", "name: x\nuntil: 30 seconds\nhosts:\n  a: {}\n",
     "bad.yaml:2: until: unknown unit 'seconds' in '30 seconds'; expected a duration such as 5ms, 1.5s or 2min "
     "(a bare number is seconds; units: us, ms, s, min, h)"),
    ("bad bandwidth unit", TWO_HOSTS + "links:\n  - {a: a, b: b, bandwidth: 10Mbyte}\n",
     "bad.yaml:6: links[0].bandwidth: unknown unit 'Mbyte' in '10Mbyte'; expected a bandwidth such as 10Mbit or 1.5Gbit "
     "(a bare number is bit/s; units: bit, kbit, Mbit, Gbit, kbps, Mbps, Gbps, all in bits)"),
    # And the rest of what the loader checks.
    ("tab", "name: x\nhosts:\n\ta: {}\n",
     "bad.yaml:3: invalid YAML: while scanning for the next token found character that cannot start any token ('\\t'; indent with spaces)"),
    ("two documents", "name: x\n---\nname: y\n",
     "bad.yaml:2: invalid YAML: expected a single document in the stream but found another document"),
    ("empty file", "", "bad.yaml:1: empty file; expected a mapping with at least name and hosts"),
    ("not a mapping", "- a\n- b\n", "bad.yaml:1: expected a mapping (name:, hosts:, links:, ...) at the top, got a list"),
    ("duplicate key", "name: x\nhosts:\n  a: {}\n  a: {}\n", "bad.yaml:4: hosts.a: duplicate key 'a' (first given on line 3)"),
    ("duplicate key in flow", "name: x\nhosts:\n  a: {address: 192.0.2.1, address: 192.0.2.2}\n",
     "bad.yaml:3: hosts.a.address: duplicate key 'address' (first given on line 3)"),
    ("typo beats the missing key it causes", "name: x\nhost:\n  a: {}\n",
     "bad.yaml:2: host: unknown key 'host' (did you mean 'hosts'? expected one of: apps, description, events, "
     "expect, faults, hosts, lesson, links, name, params, routers, routing, seed, trace, until, variants)"),
    ("missing hosts", "name: x\n", "bad.yaml:1: hosts: missing required key"),
    ("missing app host", "name: x\nhosts:\n  a: {}\napps:\n  - type: ping\n    dst: a\n",
     "bad.yaml:5: apps[0].host: missing required key"),
    ("unknown app type", "name: x\nhosts:\n  a: {}\napps:\n  - {type: pong, host: a}\n",
     "bad.yaml:5: apps[0].type: unknown type 'pong' (expected one of: "
     "ping, traceroute, tcp-server, sink, tcp-client, bulk, syn-flood, port-scan, churn, vanishing-client, script)"),
    ("app without type", "name: x\nhosts:\n  a: {}\napps:\n  - {host: a}\n",
     "bad.yaml:5: apps[0].type: missing required key (expected one of: "
     "ping, traceroute, tcp-server, sink, tcp-client, bulk, syn-flood, port-scan, churn, vanishing-client, script)"),
    ("unknown key in an app", "name: x\nhosts:\n  a: {}\napps:\n  - {type: ping, host: a, dst: a, cout: 3}\n",
     "bad.yaml:5: apps[0].cout: unknown key 'cout' (did you mean 'count'? expected one of: count, dst, host, interval, "
     "name, size, start, timeout, ttl, type)"),
    ("app on a router", "name: x\nhosts:\n  a: {}\nrouters: [r1]\napps:\n  - {type: ping, host: r1, dst: a}\n",
     "bad.yaml:6: apps[0].host: 'r1' is a router; applications run on hosts (expected one of: a)"),
    ("unknown app host", "name: x\nhosts:\n  a: {}\napps:\n  - {type: ping, host: z, dst: a}\n",
     "bad.yaml:5: apps[0].host: unknown host 'z' (expected one of: a)"),
    ("unknown destination", "name: x\nhosts:\n  a: {}\napps:\n  - {type: traceroute, host: a, dst: srv}\n",
     "bad.yaml:5: apps[0].dst: unknown node 'srv' (expected a host or router name, one of: a; or an IPv4 address)"),
    ("duplicate app names", "name: x\nhosts:\n  a: {}\napps:\n  - {type: ping, name: p, host: a, dst: a}\n"
     "  - {type: ping, name: p, host: a, dst: a}\n",
     "bad.yaml:6: apps[1].name: duplicate app name 'p' (apps[0] has it)"),
    ("link to itself", "name: x\nhosts:\n  a: {}\nlinks:\n  - {a: a, b: a}\n",
     "bad.yaml:5: links[0].b: a link cannot connect 'a' to itself (expected another node)"),
    ("two links between two nodes", TWO_HOSTS + "links:\n  - {a: a, b: b}\n  - {a: b, b: a, name: other}\n",
     "bad.yaml:7: links[1]: b and a are already joined by links[0] (one link per pair of nodes)"),
    ("duplicate link names", "name: x\nhosts:\n  a: {}\n  b: {}\n  c: {}\nlinks:\n  - {a: a, b: b, name: l}\n"
     "  - {a: b, b: c, name: l}\n",
     "bad.yaml:8: links[1].name: duplicate link name 'l' (links[0] has it; set name:)"),
    ("duplicate router", "name: x\nhosts:\n  a: {}\nrouters: [r1, r2, r1]\n",
     "bad.yaml:4: routers[2]: duplicate router name 'r1'"),
    ("router named like a host", "name: x\nhosts:\n  a: {}\nrouters:\n  a: {}\n",
     "bad.yaml:5: routers.a: duplicate name 'a': already used by a host"),
    ("routers not a list", "name: x\nhosts:\n  a: {}\nrouters: r1\n",
     "bad.yaml:4: routers: expected a list of router names or a mapping of name -> {}"),
    ("router keys", "name: x\nhosts:\n  a: {}\nrouters:\n  r1: {x: 1}\n",
     "bad.yaml:5: routers.r1.x: unknown key 'x' (expected one of: rules)"),
    ("bad host name", "name: x\nhosts:\n  1a: {}\n",
     "bad.yaml:3: hosts['1a']: expected a name of letters, digits, '_', '-' and '.', starting with a letter or '_', got '1a'"),
    ("bad address", "name: x\nhosts:\n  a: {address: 300.1.1.1}\n",
     "bad.yaml:3: hosts.a.address: expected an IPv4 address such as 192.0.2.1, got '300.1.1.1'"),
    ("host address on a link", TWO_HOSTS + "links:\n  - {a: a, b: b, addr_a: 192.0.2.50}\n",
     "bad.yaml:6: links[0].addr_a: 'a' is a host; set its address in hosts.a.address"),
    ("interface address taken", "name: x\nhosts:\n  a: {address: 203.0.113.5}\nrouters: [r1]\n"
     "links:\n  - {a: a, b: r1, addr_b: 203.0.113.5}\n",
     "bad.yaml:6: links[0].addr_b: duplicate address 203.0.113.5 (already used by hosts.a)"),
    ("string where an integer goes", "name: x\nhosts:\n  a: {}\napps:\n  - {type: ping, host: a, dst: a, count: '4'}\n",
     "bad.yaml:5: apps[0].count: expected an integer, got '4'"),
    ("ttl out of range", "name: x\nhosts:\n  a: {}\napps:\n  - {type: ping, host: a, dst: a, ttl: 0}\n",
     "bad.yaml:5: apps[0].ttl: expected a value >= 1, got 0"),
    ("unknown routing", "name: x\nrouting: fastest\nhosts:\n  a: {}\n",
     "bad.yaml:2: routing: expected one of: delay, hops; got 'fastest'"),
    ("bad override", TWO_HOSTS + "links:\n  - a: a\n    b: b\n    a_to_b: {loss: 2}\n",
     "bad.yaml:8: links[0].a_to_b.loss: expected a probability between 0 and 1, got 2"),
    ("bad sysctl value", "name: x\nhosts:\n  a: {sysctl: {net.ipv4.ip_default_ttl: [1]}}\n",
     "bad.yaml:3: hosts.a.sysctl['net.ipv4.ip_default_ttl']: expected a number or a string, got a list"),
    ("gilbert needs r", TWO_HOSTS + "links:\n  - {a: a, b: b, gilbert: {p: 0.1}}\n",
     "bad.yaml:6: links[0].gilbert.r: missing required key"),
    ("yes is not a delay", TWO_HOSTS + "links:\n  - {a: a, b: b, delay: yes}\n",
     "bad.yaml:6: links[0].delay: expected a duration such as 5ms, 1.5s or 2min (a bare number is seconds; "
     "units: us, ms, s, min, h), got true"),
    ("hosts as a list", "name: x\nhosts: [a, b]\n", "bad.yaml:2: hosts: expected a mapping, got a list"),
    ("no hosts", "name: x\nhosts: {}\n", "bad.yaml:2: hosts: expected at least 1 entry, got none"),
    ("zero interval", "name: x\nhosts:\n  a: {}\napps:\n  - {type: ping, host: a, dst: a, interval: 0}\n",
     "bad.yaml:5: apps[0].interval: expected a duration > 0, got 0"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD], ids=[c[0] for c in BAD])
def test_errors_are_one_located_line(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_the_first_error_in_the_file_wins() -> None:
    text = TWO_HOSTS + "links:\n  - {a: a, b: b, loss: 7}\napps:\n  - {type: ping, host: a, dst: a, count: 0}\n"
    assert error_of(text).startswith("bad.yaml:6: links[0].loss:")


def test_missing_file() -> None:
    with pytest.raises(ScenarioError) as info:
        load("does/not/exist.yaml")
    assert str(info.value) == "does/not/exist.yaml: no such file"
