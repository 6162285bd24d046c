"""Parameters: ${name} substitution, --set, variants, and the errors they can cause."""

from __future__ import annotations

import pytest

from tcpsim.scenario import ScenarioError, load_text
from tcpsim.scenario.params import parse_set

BASE = """\
name: p
params:
  rate: 100
  port: 80
  profile: linux
variants:
  fast: {rate: 1000}
  xp: {profile: windows-xp, port: 8080}
hosts:
  a: {profile: "${profile}"}
  b: {}
apps:
  - {type: tcp-server, name: web, host: b, port: "${port}"}
  - {type: syn-flood, name: f, host: a, dst: b, port: "${port}", rate: "${rate}", count: 10}
faults:
  - {name: fw, conn: "*:*>b:${port}", flags: S}
"""


def error_of(text: str, **kw: object) -> str:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "p.yaml", **kw)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    return str(info.value)


def test_whole_values_keep_their_type_and_embedded_ones_become_text() -> None:
    s = load_text(BASE)
    assert s.apps[1].rate == 100.0 and s.apps[0].port == 80  # type: ignore[union-attr]
    assert s.faults[0].conn == "*:*>b:80"
    assert s.params == {"rate": 100, "port": 80, "profile": "linux"}


def test_variants_and_set_override_in_that_order() -> None:
    s = load_text(BASE, variant="xp", overrides={"port": 9000})
    assert s.hosts["a"].profile == "windows-xp"
    assert s.apps[0].port == 9000  # type: ignore[union-attr]
    assert load_text(BASE, variant="fast").apps[1].rate == 1000.0  # type: ignore[union-attr]


def test_escaped_dollar_is_literal() -> None:
    s = load_text("name: x\ndescription: cost $${rate}\nparams: {rate: 1}\nhosts:\n  a: {}\n")
    assert s.description == "cost ${rate}"


def test_unknown_parameter_is_located() -> None:
    text = BASE.replace('port: "${port}", rate', 'port: "${prot}", rate')
    assert error_of(text) == "p.yaml:14: apps[1].port: unknown parameter 'prot' in '${prot}' (defined: rate, port, profile)"


def test_bad_value_names_the_parameter() -> None:
    assert error_of(BASE, overrides={"rate": "fast"}) == (
        "p.yaml:14: apps[1].rate: expected a rate in SYNs per second, got 'fast' (from ${rate} = 'fast')")


def test_unknown_set_and_variant() -> None:
    assert error_of(BASE, overrides={"nope": 1}) == "p.yaml: --set nope: unknown parameter (defined: rate, port, profile)"
    assert error_of(BASE, variant="slow") == "p.yaml: --variant slow: no such variant (the scenario has: fast, xp)"
    assert error_of("name: x\nhosts:\n  a: {}\n", overrides={"x": 1}) == (
        "p.yaml: --set x: unknown parameter (the scenario defines no params)")


def test_variant_naming_an_undeclared_parameter() -> None:
    text = BASE.replace("fast: {rate: 1000}", "fast: {speed: 1000}")
    assert error_of(text) == "p.yaml:7: variants.fast.speed: unknown parameter 'speed' (defined: rate, port, profile)"


def test_params_must_be_a_mapping_of_names() -> None:
    assert error_of("name: x\nparams: [1]\nhosts:\n  a: {}\n").startswith("p.yaml:2: params: expected a mapping")
    assert "expected a parameter name" in error_of("name: x\nparams: {1x: 2}\nhosts:\n  a: {}\n")


def test_a_list_cannot_go_inside_a_string() -> None:
    text = "name: x\nparams: {l: [1, 2]}\ndescription: 'a ${l}'\nhosts:\n  a: {}\n"
    assert "parameter 'l' is a list; it cannot go inside a string" in error_of(text)


def test_parse_set() -> None:
    assert parse_set("rate=5000") == ("rate", 5000)
    assert parse_set("d=10ms") == ("d", "10ms")
    assert parse_set("b=true") == ("b", True)
    assert parse_set("s=") == ("s", "")
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        parse_set("rate")
    with pytest.raises(ValueError, match=r"^--set x=\[1,: invalid YAML: "):
        parse_set("x=[1,")
