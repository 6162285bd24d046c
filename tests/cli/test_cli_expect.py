"""The run/validate/list commands with the format's second part: expectations, --set, --variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tcpsim.cli import cli

SCENARIO = """\
name: tiny
description: one request
lesson: |
  Watch the TIME_WAIT.
until: 5s
params:
  requests: 1
variants:
  three: {requests: 3}
hosts:
  c: {}
  s: {}
links:
  - {a: c, b: s, delay: 10ms}
apps:
  - {type: tcp-server, name: web, host: s}
  - {type: tcp-client, name: user, host: c, dst: s, requests: "${requests}"}
expect:
  - {app: user, result: requests, value: 1}
  - {at: 1s, host: c, state: TIME_WAIT, count: 1}
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["run" if args[0] not in ("validate", "list") else args[0], *args[1:]]
                              if args[0] in ("validate", "list") else list(args), prog_name="tcpsim")


def test_passing_run_prints_header_and_expectations(in_tmp: Path) -> None:
    result = invoke("run", "tiny.yaml", "--no-plots")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("tiny: one request\nparams: requests=1\n\n  Watch the TIME_WAIT.\n")
    assert "expectations: 2 of 2 passed" in out
    assert "  PASS  user's result requests is 1" in out
    summary = json.loads((in_tmp / "runs" / "tiny" / "summary.json").read_text())
    assert summary["passed"] is True and summary["params"] == {"requests": 1} and summary["variant"] is None
    assert [e["passed"] for e in summary["expectations"]] == [True, True]


def test_failing_expectation_exits_1_and_says_what_happened(in_tmp: Path) -> None:
    result = invoke("run", "tiny.yaml", "--variant", "three", "--no-plots")
    assert result.exit_code == 1
    assert "  FAIL  user's result requests is 1 -- observed: it is 3\n" in result.stdout
    assert (in_tmp / "runs" / "tiny@three" / "summary.json").exists()
    summary = json.loads((in_tmp / "runs" / "tiny@three" / "summary.json").read_text())
    assert summary["passed"] is False and summary["variant"] == "three"


def test_quiet_prints_only_failures(in_tmp: Path) -> None:
    assert invoke("run", "tiny.yaml", "-q", "--no-plots").stdout == ""
    result = invoke("run", "tiny.yaml", "-q", "--set", "requests=2", "--no-plots")
    assert result.exit_code == 1
    assert result.stdout == "  FAIL  user's result requests is 1 -- observed: it is 2\n"


@pytest.mark.parametrize(("args", "expected"), [
    (["--set", "nope=1"], "tiny.yaml: --set nope: unknown parameter (defined: requests)\n"),
    (["--set", "requests"], "--set 'requests': expected NAME=VALUE, e.g. --set flood_rate=5000\n"),
    (["--set", "requests=lots"], "--set requests=lots: tiny.yaml:17: apps[1].requests: expected an integer, got 'lots' (from ${requests} = 'lots')\n"),
    (["--variant", "four"], "tiny.yaml: --variant four: no such variant (the scenario has: three)\n"),
])
def test_bad_parameters_are_one_line_exit_2(in_tmp: Path, args: list[str], expected: str) -> None:
    for command in ("run", "validate"):
        result = invoke(command, "tiny.yaml", *args)
        assert result.exit_code == 2
        assert result.stderr == expected
    assert not (in_tmp / "runs").exists()


def test_validate_counts_the_new_sections(in_tmp: Path) -> None:
    result = invoke("validate", "tiny.yaml", "--variant", "three")
    assert result.exit_code == 0
    assert result.stdout == "tiny.yaml: ok (tiny: 2 hosts, 1 link, 2 apps, 2 expectations)\n"


def test_list_shows_variants() -> None:
    result = invoke("list")
    assert result.exit_code == 0
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("unreachable-server "))
    assert line.endswith("[variants: linux-classic, windows-xp]")
