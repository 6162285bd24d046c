"""Building and running scenarios on the network layer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tcpsim.scenario import ScenarioError, build, builtin_scenarios, load, load_text, run_scenario
from tcpsim.scenario.build import plan_addresses
from tcpsim.scenario.loader import parse, validate

REPO = Path(__file__).resolve().parents[2]


def test_automatic_addresses_skip_explicit_ones_anywhere_in_the_file() -> None:
    s = load_text(
        "name: x\nhosts:\n  a: {}\n  b: {address: 192.0.2.1}\n  c: {}\nrouters: [r1, r2]\n"
        "links:\n  - {a: a, b: r1}\n  - {a: r1, b: r2, addr_b: 203.0.113.1}\n  - {a: r2, b: b}\n  - {a: r2, b: c}\n"
    )
    plan = plan_addresses(s)
    assert plan.hosts == {"a": "192.0.2.2", "b": "192.0.2.1", "c": "192.0.2.3"}
    assert plan.link_ends == [
        ("192.0.2.2", "203.0.113.2"),
        ("203.0.113.3", "203.0.113.1"),
        ("203.0.113.4", "192.0.2.1"),
        ("203.0.113.5", "192.0.2.3"),
    ]
    built = build(s)
    assert built.sim.host("a").address == "192.0.2.2"
    assert built.sim.nodes["r2"].addresses == ["203.0.113.1", "203.0.113.4", "203.0.113.5"]
    assert built.router_addresses == {"r1": ["203.0.113.2", "203.0.113.3"], "r2": ["203.0.113.1", "203.0.113.4", "203.0.113.5"]}


def test_link_parameters_reach_the_network_per_direction() -> None:
    s = load_text(
        "name: x\nhosts:\n  a: {}\n  b: {}\nlinks:\n"
        "  - {a: a, b: b, delay: 10ms, bandwidth: 1Mbit, queue: 7, mtu: 1400, gilbert: {p: 0.1, r: 0.5},"
        " a_to_b: {loss: 0.3}, b_to_a: {bandwidth: null, queue: null}}\n"
    )
    link = build(s).sim.links["a-b"]
    ab, ba = (d.params for d in link.directions)
    assert (ab.delay, ab.bandwidth, ab.loss, ab.queue_packets, ab.mtu) == (0.01, 1e6, 0.3, 7, 1400)
    assert ab.gilbert is not None
    assert (ab.gilbert.p, ab.gilbert.r, ab.gilbert.loss_good, ab.gilbert.loss_bad) == (0.1, 0.5, 0.0, 1.0)
    assert (ba.delay, ba.bandwidth, ba.loss, ba.queue_packets) == (0.01, None, 0.0, None)


def test_seed_and_until_overrides() -> None:
    s = load_text("name: x\nseed: 3\nuntil: 5s\nhosts:\n  a: {}\n")
    b = build(s, seed=9, until=2.0)
    assert (b.seed, b.until, b.sim.seed) == (9, 2.0, 9)
    assert run_scenario(s).built.sim.now == 5.0


def test_build_errors_from_the_network_layer_are_located() -> None:
    doc = parse("name: x\nhosts:\n  a:\n    sysctl: {net.ipv4.ip_default_ttl: 300}\n", "lab.yaml")
    with pytest.raises(ScenarioError) as info:
        build(validate(doc), doc=doc)
    assert str(info.value) == "lab.yaml:4: hosts.a.sysctl['net.ipv4.ip_default_ttl']: expected a value >= 1 and <= 255, got 300"


def test_a_router_without_links_has_no_address_to_ping() -> None:
    doc = parse("name: x\nhosts:\n  a: {}\nrouters: [r9]\napps:\n  - {type: ping, host: a, dst: r9}\n", "lab.yaml")
    with pytest.raises(ScenarioError) as info:
        build(validate(doc), doc=doc)
    assert str(info.value) == "lab.yaml:6: apps[0]: router 'r9' has no links, so no address"


def test_router_names_and_addresses_as_destinations() -> None:
    s = load_text(
        "name: x\nuntil: 10s\nhosts:\n  a: {}\nrouters: [r1]\nlinks:\n  - {a: a, b: r1, delay: 1ms}\n"
        "apps:\n  - {type: ping, host: a, dst: r1, count: 1}\n  - {type: ping, host: a, dst: 203.0.113.1, count: 1}\n"
    )
    apps = run_scenario(s).built.apps
    assert apps[0].app.dst == apps[1].app.dst == "203.0.113.1"
    assert apps[0].results()["received"] == 1


# -- the built-in scenarios ----------------------------------------------------------------


def test_builtins_are_found_next_to_the_package() -> None:
    found = builtin_scenarios()
    assert {"ping-ttl", "traceroute", "lossy-link"} <= set(found)
    assert all(p.parent == REPO / "scenarios" for p in found.values())


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_every_builtin_is_valid_named_after_its_file_and_described(name: str) -> None:
    s = load(builtin_scenarios()[name])
    assert s.name == name
    assert s.description and "\n" not in s.description
    assert s.lesson


def test_ping_ttl_arrives_as_56() -> None:
    result = run_scenario(load(REPO / "scenarios" / "ping-ttl.yaml"))
    (app,) = result.built.apps
    replies = [line for line in app.lines if line.startswith("64 bytes from 198.51.100.1")]
    assert len(replies) == 4 and all("ttl=56" in line for line in replies)
    assert app.results()["received"] == 4


def test_traceroute_lists_the_eight_routers_then_the_server() -> None:
    result = run_scenario(load(REPO / "scenarios" / "traceroute.yaml"))
    (app,) = result.built.apps
    hops = [line.split()[1] for line in app.lines[1:]]
    routers = result.built.router_addresses
    assert hops == [routers[f"r{i}"][0] for i in range(1, 9)] + ["198.51.100.1"]
    assert app.results()["reached"] is True


def test_lossy_link_loses_pings_and_shows_drops() -> None:
    result = run_scenario(load(REPO / "scenarios" / "lossy-link.yaml"))
    res = result.built.apps[0].results()
    assert res["transmitted"] == 50 and 0 < res["received"] < 50
    drops = [line for line in result.packet_lines() if line.startswith("# drop")]
    assert drops and all(re.search(r"\(loss\): IP ", line) for line in drops)


# -- the examples in docs/scenario-format.md ------------------------------------------------


def doc_examples() -> list[str]:
    text = (REPO / "docs" / "scenario-format.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, flags=re.S | re.M)
    return [b for b in blocks if b.startswith("name:")]


def test_the_doc_has_examples() -> None:
    assert len(doc_examples()) >= 20


@pytest.mark.parametrize("block", doc_examples(), ids=lambda b: b.split("\n", 1)[0][6:])
def test_doc_examples_validate_and_build(block: str) -> None:
    """Every example is valid; one that states expectations is run and must meet them."""
    scenario = load_text(block, "docs/scenario-format.md")
    if not scenario.expect:
        build(scenario)
        return
    outcomes = run_scenario(scenario).built.outcomes or []
    assert [(o.text, o.observed) for o in outcomes if not o.passed] == []


def test_every_construct_has_a_doc_example() -> None:
    """Every app type, behaviour, finish, event action, fault action, moment and expectation
    kind appears in at least one checked example of docs/scenario-format.md."""
    import yaml

    from tcpsim.scenario.events import ACTIONS
    from tcpsim.scenario.packets import MOMENTS

    docs = [yaml.safe_load(b) for b in doc_examples()]
    apps = [a for d in docs for a in d.get("apps") or []]
    events = [e for d in docs for e in d.get("events") or []]
    faults = [f for d in docs for f in d.get("faults") or []]
    expects = [e for d in docs for e in d.get("expect") or []]
    moments = {f.get("moment") for f in faults} | {e["packet"].get("moment") for e in expects if "packet" in e}
    app_types = ("ping", "traceroute", "tcp-server", "sink", "tcp-client", "bulk", "syn-flood", "port-scan", "churn",
                 "vanishing-client", "script")
    assert set(app_types) <= {a["type"] for a in apps}
    assert {"echo", "respond", "never-close"} <= {a.get("behaviour", "respond") for a in apps if a["type"] == "tcp-server"}
    assert {"close", "shutdown", "linger0", "hold"} <= {a.get("finish", "close") for a in apps if a["type"] == "tcp-client"}
    assert set(ACTIONS) <= {k for e in events for k in e}
    assert {"drop", "delay", "duplicate", "corrupt"} <= {f.get("action", "drop") for f in faults}
    assert set(MOMENTS) <= moments
    assert {"state", "sequence", "error", "counter", "result", "packet", "listener", "recv_q", "send_q"} <= {
        k for e in expects for k in e}
    from tcpsim.net.firewall import REJECT_WITH
    from tcpsim.scenario.expect import FIELD_KEYS

    rules = [r for d in docs for spec in (d["routers"].values() if isinstance(d.get("routers"), dict) else [])
             for r in (spec or {}).get("rules") or []]
    rules += [r for e in events if "set_rules" in e for r in e["set_rules"]["rules"]]
    assert set(REJECT_WITH) <= {r.get("with") for r in rules} and {"accept", "drop", "reject"} <= {r["action"] for r in rules}
    fields = {k for e in expects if "packet" in e for k in e["packet"]}
    assert set(FIELD_KEYS) - {"from_port"} <= fields
    assert any("times" in e for e in expects) and any("nth" in e for e in expects)
    assert any("lasted" in e for e in expects) and any("params" in d for d in docs) and any("variants" in d for d in docs)


def test_every_script_construct_has_a_doc_example() -> None:
    """Issue #16: every call, every socket option, every step key, start_delay, on_error, and an error
    expectation naming its call with 'at: T ± TOL' appear in a checked example."""
    import yaml

    from tcpsim.scenario.script import CALLS, GETSOCKOPTS

    docs = [yaml.safe_load(b) for b in doc_examples()]
    apps = [a for d in docs for a in d.get("apps") or []]
    steps = [st for a in apps if a["type"] == "script" for st in a["steps"]]
    assert set(CALLS) <= {st["call"] for st in steps}
    assert set(GETSOCKOPTS) - {"SO_ERROR"} <= {st["opt"] for st in steps if st["call"] == "setsockopt"}
    assert "SO_ERROR" in {st["opt"] for st in steps if st["call"] == "getsockopt"}
    keys = {k for st in steps for k in st}
    assert {"at", "after", "expect", "fd", "as", "to", "bytes", "data", "how", "opt", "value", "port", "backlog",
            "duration", "nonblocking", "waitall"} <= keys
    assert {type(st.get("expect")) for st in steps} >= {str, int, dict}
    assert any("start_delay" in a for a in apps if a["type"] == "tcp-client")
    assert any("start_delay" in a for a in apps if a["type"] == "bulk")
    assert any(a.get("on_error") == "continue" for a in apps)
    assert any(a.get("stop_on_error") for a in apps if a["type"] == "script")
    expects = [e for d in docs for e in d.get("expect") or []]
    assert any("call" in e and "±" in str(e.get("at", "")) for e in expects if "error" in e)
