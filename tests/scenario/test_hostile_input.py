"""Hostile and careless input: one minimal file per class of problem, each refused with one exact line.

The files are in ``tests/scenario/hostile/``. Each is run through ``tcpsim
validate`` (click's runner; one of them through a real process too) and must
give exit status 2 and exactly the line below on stderr: the file, the line,
the YAML path and what was expected; never a traceback, a hang or a memory
blow-up (the alias bomb would expand to a billion values).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tcpsim
from tcpsim.cli import cli
from tcpsim.scenario import load_text
from tcpsim.scenario.model import Scenario
from tcpsim.scenario.ranges import numeric_fields, ranges_markdown
from tcpsim.scenario.run import run_scenario

REPO = Path(tcpsim.__file__).resolve().parent.parent
HOSTILE = Path(__file__).parent / "hostile"

DUR = "a duration such as 5ms, 1.5s or 2min (a bare number is seconds; units: us, ms, s, min, h)"
TAGS = "(expected no tag, or one of !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)"

# file -> the line after "FILE:"
CASES = {
    # YAML itself
    "deep-nesting.yaml": "5: links" + "[0]" * 31 + ": nested more than 32 levels deep (expected at most 32)",
    "alias-bomb.yaml": "8: params.l4[0]: aliases expand to more than 10000 values "
                       "(expected at most 10000; write the values out)",
    "recursive-alias.yaml": "3: hosts.a.b: alias *h refers to a node that contains it (expected no cycles)",
    "tag-wrong-kind.yaml": "2: hosts: tag !!map on a list (expected a mapping after it)",
    "empty-int-tag.yaml": "2: seed: expected an integer after !!int, got ''",
    "timestamp-tag.yaml": f"2: seed: unsupported tag '!!timestamp' {TAGS}",
    "python-tag.yaml": f"3: description: unsupported tag '!!python/object/apply:os.system' {TAGS}",
    "invalid-date.yaml": "2: seed: expected an integer, got '2024-13-45'",
    "odd-plain-scalar.yaml": "2: seed: expected an integer, got '0b_'",
    "huge-integer.yaml": "2: seed: an integer of 5000 digits (expected at most 4300)",
    "non-printable-raw.yaml": "2: non-printable character U+0007 (expected printable text)",
    "non-printable-escape.yaml": "2: description: non-printable character U+0007 in 'bell\\x07here' "
                                 "(expected printable text)",
    "param-key-not-a-name.yaml": "3: params[1.5]: expected a parameter name (letters, digits, '_'), got 1.5",
    "list-as-key.yaml": "4: params: a list as a mapping key (expected a name or a number)",
    "long-value-cut.yaml": "3: routing: expected one of: delay, hops; got '" + "z" * 40 + "'... (100000 characters)",
    "not-utf8.yaml": "3: not UTF-8 text (invalid continuation byte at byte 39)",
    # YAML 1.2 floats are numbers: 1e9 is a valid bandwidth, and -1.5E3 a (negative) rate, not a string
    "yaml12-floats.yaml": "8: apps[0].rate: expected a rate in SYNs per second > 0 and <= 1000000, got -1500.0",
    # Numbers: finite, in the field's range, the error at the field's own path
    "duration-1e308.yaml": "2: until: expected a duration between 1e-06 s and 10000000 s, got 1e+308",
    "duration-inf.yaml": f"6: links[0].delay: expected {DUR}, got inf",
    "duration-huge-int.yaml": "6: links[0].delay: expected a duration between 0 s and 10000000 s, "
                              "got an integer of 30 digits",
    "duration-whitespace.yaml": f"2: until: expected {DUR}, got '1 '... (100002 characters)",
    "interval-tiny.yaml": "4: apps[0].interval: expected a duration between 1e-06 s and 10000000 s, got 1e-300",
    "probability-nan.yaml": "6: links[0].loss: expected a probability between 0 and 1, got nan",
    "rate-inf.yaml": "6: apps[0].rate: expected a rate in connections per second (a finite number), got inf",
    "range-1e999.yaml": "4: expect[0].value: expected a number or a range such as 3, '>= 3', '< 10' or '2..5', "
                        "with numbers between -1e+15 and 1e+15, got '>= 1e999'",
    "sysctl-nan.yaml": "3: hosts.a.sysctl['net.ipv4.tcp_fin_timeout']: expected a finite number, got nan",
    "seed-huge.yaml": "2: seed: expected a value <= 9223372036854775807, got 18446744073709551616",
    "port-huge.yaml": "6: apps[0].port: expected a value <= 65535, got 100000000000000000000",
    "port-scan-range-huge.yaml": "6: apps[0].ports: expected ports such as '20-25,80' (each 1..65535), "
                                 "got '1-99999999999'",
    "bandwidth-too-high.yaml": "6: links[0].bandwidth: expected a bandwidth between 1 and 1000000000000 bit/s, "
                               "got 1000000000000000.0",
    "mtu-too-small.yaml": "6: links[0].mtu: expected a size between 68 and 65535 bytes, got 67",
    # Knobs that used to pass and then stall or livelock a connection
    "tcp-rmem-negative.yaml": "3: hosts.a.sysctl['net.ipv4.tcp_rmem']: expected 3 values each >= 4096 and "
                              "<= 2147483647, got '-1 -1 -1'",
    "tcp-wmem-zero.yaml": "3: hosts.a.sysctl['net.ipv4.tcp_wmem']: expected 3 integers, got 0",
    "tcp-wmem-zeros.yaml": "3: hosts.a.sysctl['net.ipv4.tcp_wmem']: expected 3 values each >= 4096 and "
                           "<= 2147483647, got '0 0 0'",
    "mss-zero.yaml": "3: hosts.a.sysctl.mss: expected a value >= 88 and <= 65495, got 0",
    "initcwnd-zero.yaml": "3: hosts.a.sysctl.initcwnd: expected a value >= 1 and <= 65535, got 0",
    "keepalive-time-zero.yaml": "3: hosts.a.sysctl['net.ipv4.tcp_keepalive_time']: expected a value >= 1 and "
                                "<= 10000000, got 0",
}


def validate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args], prog_name="tcpsim")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("traceback") from result.exception
    return result.exit_code, result.stdout, result.stderr


def test_every_file_has_a_case() -> None:
    assert sorted(CASES) == sorted(p.name for p in HOSTILE.glob("*.yaml") if p.name != "params.yaml")


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_is_one_line_exit_2(name: str) -> None:
    path = HOSTILE / name
    code, out, err = validate(str(path))
    assert (code, out, err) == (2, "", f"{path}:{CASES[name]}\n")


def test_through_a_real_process() -> None:
    """The alias bomb as a user meets it: a real ``python -m tcpsim``, exit 2, one line, no traceback."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    path = HOSTILE / "alias-bomb.yaml"
    proc = subprocess.run([sys.executable, "-m", "tcpsim", "validate", str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"{path}:{CASES['alias-bomb.yaml']}\n")


def test_yaml12_floats_are_numbers() -> None:
    text = "name: x\nhosts: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b, bandwidth: 1e9, delay: 2.5E-3}\n"
    link = load_text(text).links[0]
    assert (link.bandwidth, link.delay) == (1e9, 0.0025)


# -- --set and --out --------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("inf", "apps[1].rate: expected a rate in SYNs per second, got 'inf' (from ${flood_rate} = 'inf')"),
    (".inf", "apps[1].rate: expected a rate in SYNs per second (a finite number), got inf "
             "(from ${flood_rate} = inf)"),
    ("!!str", "apps[1].rate: expected a rate in SYNs per second, got '' (from ${flood_rate} = '')"),
])
def test_set_errors_name_the_flag(value: str, expected: str) -> None:
    path = HOSTILE / "params.yaml"
    code, out, err = validate(str(path), "--set", f"flood_rate={value}")
    assert (code, out, err) == (2, "", f"--set flood_rate={value}: {path}:10: {expected}\n")


@pytest.mark.parametrize(("value", "expected"), [
    ("!!int", "--set tag=!!int: expected an integer after !!int, got ''"),
    ("[", "--set tag=[: invalid YAML: while parsing a flow node did not find expected node content"),
    ("&a [*a]", "--set tag=&a [*a]: alias *a refers to a node that contains it (expected no cycles)"),
    ("[" * 40 + "]" * 40, "--set tag=" + "[" * 40 + "...: nested more than 32 levels deep (expected at most 32)"),
])
def test_bad_set_values_are_one_line(value: str, expected: str) -> None:
    code, out, err = validate(str(HOSTILE / "params.yaml"), "--set", f"tag={value}")
    assert (code, out, err) == (2, "", expected + "\n")


def test_out_under_a_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = CliRunner().invoke(cli, ["run", "handshake-and-close", "-q", "--out", str(tmp_path / "afile" / "sub")],
                                prog_name="tcpsim")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"--out {tmp_path}/afile/sub: is inside {tmp_path}/afile, which is a file, "
                             "not a directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# -- ranges: one definition, in the schema and in the docs ------------------------------------------


def test_every_numeric_key_has_a_range_in_the_schema() -> None:
    schema = Scenario.model_json_schema()
    fields = list(numeric_fields(schema))
    assert len(fields) > 100
    missing = [(m, f) for m, f, num in fields
               if "maximum" not in num or ("minimum" not in num and "exclusiveMinimum" not in num)]
    assert missing == []


def test_tcpsim_schema_carries_the_bounds() -> None:
    result = CliRunner().invoke(cli, ["schema"], prog_name="tcpsim")
    schema = json.loads(result.stdout)
    link = schema["$defs"]["LinkSpec"]["properties"]
    assert link["mtu"]["anyOf"][0] == {"type": "number", "maximum": 65535, "minimum": 68}
    assert link["delay"]["anyOf"][0] == {"type": "number", "maximum": 10_000_000.0, "minimum": 0.0}
    flood = schema["$defs"]["SynFloodSpec"]["properties"]["rate"]
    assert (flood["exclusiveMinimum"], flood["maximum"]) == (0, 1_000_000.0)


def test_the_docs_table_is_the_schemas() -> None:
    text = (REPO / "docs" / "scenario-format.md").read_text()
    start = text.index("<!-- ranges: generated by `tcpsim schema --ranges` -->\n")
    table = text[text.index("\n", start) + 1:text.index("<!-- /ranges -->")]
    assert table == ranges_markdown(Scenario.model_json_schema())
    result = CliRunner().invoke(cli, ["schema", "--ranges"], prog_name="tcpsim")
    assert result.stdout == table


# -- the MSS follows the path's MTU ---------------------------------------------------------------

MTU_SCENARIO = """
name: small-mtu
until: 120s
hosts: {client: {}, server: {}}
routers: [r1]
links:
  - {a: client, b: r1, delay: 1ms, mtu: 576}
  - {a: r1, b: server, delay: 1ms, mtu: MTU}
apps:
  - {type: sink, host: server, port: 5001}
  - {type: bulk, host: client, dst: server, port: 5001, bytes: 20000}
"""


@pytest.mark.parametrize(("mtu", "mss"), [(576, 536), (68, 28)])
def test_transfer_over_a_small_mtu_completes(mtu: int, mss: int) -> None:
    """The SYN announces the path MTU - 40 and every IP packet fits the links: nothing is dropped for size."""
    result = run_scenario(load_text(MTU_SCENARIO.replace("MTU", str(mtu))))
    assert result.built.app("sink1").results()["bytes_received"] == 20000
    lines = list(result.packet_lines())
    assert [line for line in lines if line.startswith("# drop")] == []
    syn = next(line for line in lines if "Flags [S]," in line)
    assert f"options [mss {mss}," in syn
