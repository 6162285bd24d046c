"""The tcpsim command: run, validate, list, schema, --version, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import tcpsim
from tcpsim.cli import cli

REPO = Path(tcpsim.__file__).resolve().parent.parent


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="tcpsim")


def python_m(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tcpsim", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# -- run ----------------------------------------------------------------------------------


def test_run_ping_ttl_prints_readable_lines_and_writes_three_files(in_tmp: Path) -> None:
    result = invoke("run", "ping-ttl")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("ping-ttl: Ping across eight routers")
    assert "PING 198.51.100.1 (198.51.100.1) 56(84) bytes of data." in out
    assert out.count("ttl=56 time=") == 4
    assert "4 packets transmitted, 4 received, 0% packet loss" in out
    assert "packets per node:" in out and "client" in out and "r8" in out
    run_dir = in_tmp / "runs" / "ping-ttl"
    # The run's files, plus its views (tests/viz checks those): one pcap per host, the figures, the report.
    assert sorted(p.name for p in run_dir.iterdir()) == [".tcpsim-views", "client.pcap", "ladder.png", "ladder.svg",
                                                         "packets.txt", "report.html", "server.pcap",
                                                         "summary.json", "trace.jsonl"]
    for name in ("trace.jsonl", "packets.txt", "summary.json"):
        assert str(Path("runs") / "ping-ttl" / name) in out
    packets = (run_dir / "packets.txt").read_text().splitlines()
    assert packets[0] == "0.000000 IP 192.0.2.1 > 198.51.100.1: ICMP echo request, id 1, seq 1, length 64"
    assert len(packets) == 8
    for line in (run_dir / "trace.jsonl").read_text().splitlines():
        json.loads(line)
    assert result.stderr == ""


def test_run_summary_json_fields(in_tmp: Path) -> None:
    assert invoke("run", "ping-ttl", "--quiet").exit_code == 0
    summary = json.loads((in_tmp / "runs" / "ping-ttl" / "summary.json").read_text())
    assert summary["version"] == 1
    assert (summary["scenario"], summary["seed"], summary["end_time"], summary["trace_level"]) == (
        "ping-ttl", 1, 10.0, "packets"
    )
    assert summary["hosts"]["client"] == {
        "address": "192.0.2.1",
        "counters": {"sent": 4, "received": 4, "forwarded": 0, "dropped": {}},
        "connections": [],
        "peak_states": {},
        "end_states": {},
    }
    assert summary["hosts"]["server"]["address"] == "198.51.100.1"
    assert list(summary["routers"]) == [f"r{i}" for i in range(1, 9)]
    assert summary["routers"]["r1"]["counters"] == {"sent": 0, "received": 0, "forwarded": 8, "dropped": {}}
    assert len(summary["routers"]["r1"]["addresses"]) == 2
    ping = summary["apps"]["ping"]
    assert (ping["type"], ping["host"]) == ("ping", "client")
    assert ping["results"]["received"] == 4
    assert [r["ttl"] for r in ping["results"]["replies"]] == [56, 56, 56, 56]


def test_quiet_prints_nothing(in_tmp: Path) -> None:
    result = invoke("run", "ping-ttl", "-q", "--out", "x")
    assert (result.exit_code, result.output) == (0, "")
    assert (in_tmp / "x" / "summary.json").exists()


def test_same_seed_gives_a_byte_identical_trace(in_tmp: Path) -> None:
    assert invoke("run", "lossy-link", "-q", "--out", "one").exit_code == 0
    assert invoke("run", "lossy-link", "-q", "--out", "two").exit_code == 0
    for name in ("trace.jsonl", "packets.txt", "summary.json"):
        assert (in_tmp / "one" / name).read_bytes() == (in_tmp / "two" / name).read_bytes()


def test_seed_changes_a_lossy_run(in_tmp: Path) -> None:
    assert invoke("run", "lossy-link", "-q", "--out", "one").exit_code == 0
    assert invoke("run", "lossy-link", "-q", "--seed", "7", "--out", "seven").exit_code == 0
    assert (in_tmp / "one" / "trace.jsonl").read_bytes() != (in_tmp / "seven" / "trace.jsonl").read_bytes()
    assert json.loads((in_tmp / "seven" / "summary.json").read_text())["seed"] == 7


def test_until_overrides_the_end_time(in_tmp: Path) -> None:
    # Exit 1: cut short, the run misses the scenario's expectations (the files are written all the same).
    assert invoke("run", "ping-ttl", "-q", "--until", "1500ms").exit_code == 1
    summary = json.loads((in_tmp / "runs" / "ping-ttl" / "summary.json").read_text())
    assert summary["end_time"] == 1.5
    assert summary["apps"]["ping"]["results"]["transmitted"] == 2


def test_a_scenario_by_path(in_tmp: Path) -> None:
    (in_tmp / "mine.yaml").write_text(
        "hosts:\n  a: {}\n  b: {}\nlinks:\n  - {a: a, b: b, delay: 1ms}\n"
        "apps:\n  - {type: ping, host: a, dst: b, count: 1}\n"
    )
    result = invoke("run", "mine.yaml")
    assert result.exit_code == 0, result.output
    assert "== ping1: ping on a ==" in result.stdout
    assert (in_tmp / "runs" / "mine" / "trace.jsonl").exists()


def test_a_counters_only_run_still_has_counters(in_tmp: Path) -> None:
    (in_tmp / "cheap.yaml").write_text(
        "trace: counters\nhosts:\n  a: {}\n  b: {}\nlinks:\n  - {a: a, b: b, delay: 1ms}\n"
        "apps:\n  - {type: ping, host: a, dst: b, count: 3, interval: 10ms}\n"
    )
    assert invoke("run", "cheap.yaml", "-q").exit_code == 0
    run_dir = in_tmp / "runs" / "cheap"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["trace_level"] == "counters"
    assert summary["hosts"]["a"]["counters"]["sent"] == 3
    assert summary["apps"]["ping1"]["results"]["received"] == 3
    assert (run_dir / "packets.txt").read_text() == (
        "# trace level 'counters' keeps no packets; set trace: packets (or full) to see them here\n"
    )


# -- outputs are all-or-nothing -------------------------------------------------------------


def test_rerun_replaces_an_earlier_run(in_tmp: Path) -> None:
    assert invoke("run", "ping-ttl", "-q").exit_code == 0
    first = (in_tmp / "runs" / "ping-ttl" / "trace.jsonl").read_bytes()
    assert invoke("run", "ping-ttl", "-q", "--until", "1s").exit_code == 1  # expectations missed, files written
    assert (in_tmp / "runs" / "ping-ttl" / "trace.jsonl").read_bytes() != first
    assert sorted(p.name for p in (in_tmp / "runs").iterdir()) == ["ping-ttl"]


def test_refuses_to_replace_a_directory_it_did_not_write(in_tmp: Path) -> None:
    (in_tmp / "notes").mkdir()
    (in_tmp / "notes" / "thesis.tex").write_text("precious")
    result = invoke("run", "ping-ttl", "--out", "notes")
    assert result.exit_code == 2
    assert result.stderr == "notes: refusing to replace a directory holding files tcpsim did not write (thesis.tex)\n"
    assert (in_tmp / "notes" / "thesis.tex").read_text() == "precious"


def test_a_failed_write_leaves_nothing_half_written(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("run", "ping-ttl", "-q").exit_code == 0
    before = {p.name: p.read_bytes() for p in (in_tmp / "runs" / "ping-ttl").iterdir()}

    import tcpsim.scenario.run as run_module

    real_open = open
    calls = {"n": 0}

    def failing_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith("packets.txt"):
            calls["n"] += 1
            raise OSError(28, "No space left on device")
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(run_module, "open", failing_open, raising=False)
    result = invoke("run", "ping-ttl", "--until", "1s")
    assert calls["n"] == 1
    assert result.exit_code == 1
    assert result.stderr == "runs/ping-ttl: cannot write: No space left on device\n"
    after = {p.name: p.read_bytes() for p in (in_tmp / "runs" / "ping-ttl").iterdir()}
    assert after == before
    assert sorted(p.name for p in (in_tmp / "runs").iterdir()) == ["ping-ttl"]  # no temp dirs left


def test_a_bad_scenario_writes_nothing(in_tmp: Path) -> None:
    (in_tmp / "bad.yaml").write_text("name: bad\nhosts:\n  a: {}\nlinks:\n  - {a: a, b: zz}\n")
    assert invoke("run", "bad.yaml").exit_code == 2
    assert not (in_tmp / "runs").exists()


# -- bad scenario files: exit 2, one line on stderr ----------------------------------------

BAD_FILES = {
    "invalid-yaml": ("name: x\nhosts:\n  a: {}\n links: [\n",
                     "invalid-yaml.yaml:4: invalid YAML: while parsing a block mapping did not find expected key"),
    "unknown-key": ("name: x\nhosts:\n  a: {}\n  b: {}\nlinks:\n  - {a: a, b: b, delya: 1ms}\n",
                    "unknown-key.yaml:6: links[0].delya: unknown key 'delya' (did you mean 'delay'? expected one of: "
                    "a, a_to_b, addr_a, addr_b, b, b_to_a, bandwidth, corrupt, delay, duplicate, gilbert, jitter, loss, "
                    "mtu, name, queue, queue_bytes, reorder, reorder_delay)"),
    "unknown-host": ("name: x\nhosts:\n  client: {}\n  server: {}\nrouters: [r1]\nlinks:\n"
                     "  - {a: client, b: r1}\n  - {a: r1, b: srv}\n",
                     "unknown-host.yaml:8: links[1].b: unknown node 'srv' (expected one of: client, r1, server)"),
    "negative-delay": ("name: x\nhosts:\n  a: {}\n  b: {}\nlinks:\n  - a: a\n    b: b\n    delay: -5ms\n",
                       "negative-delay.yaml:8: links[0].delay: expected a duration >= 0, got '-5ms'"),
    "loss-above-1": ("name: x\nhosts:\n  a: {}\n  b: {}\nlinks:\n  - {a: a, b: b, loss: 1.01}\n",
                     "loss-above-1.yaml:6: links[0].loss: expected a probability between 0 and 1, got 1.01"),
    "duplicate-address": ("name: x\nhosts:\n  a: {address: 192.0.2.9}\n  b:\n    address: 192.0.2.9\n",
                          "duplicate-address.yaml:5: hosts.b.address: duplicate address 192.0.2.9 (already used by hosts.a)"),
    "bad-duration": ("name: x\nuntil: 30 secs\nhosts:\n  a: {}\n",
                     "bad-duration.yaml:2: until: unknown unit 'secs' in '30 secs'; expected a duration such as 5ms, "
                     "1.5s or 2min (a bare number is seconds; units: us, ms, s, min, h)"),
    "bad-bandwidth-unit": ("name: x\nhosts:\n  a: {}\n  b: {}\nlinks:\n  - {a: a, b: b, bandwidth: 10MB/s}\n",
                           "bad-bandwidth-unit.yaml:6: links[0].bandwidth: expected a bandwidth such as 10Mbit or 1.5Gbit "
                           "(a bare number is bit/s; units: bit, kbit, Mbit, Gbit, kbps, Mbps, Gbps, all in bits), "
                           "got '10MB/s'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_scenarios_exit_2_with_one_line(in_tmp: Path, case: str, command: str) -> None:
    text, expected = BAD_FILES[case]
    (in_tmp / f"{case}.yaml").write_text(text)
    result = invoke(command, f"{case}.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == expected + "\n"
    assert "Traceback" not in result.output


def test_bad_scenarios_through_a_real_subprocess(tmp_path: Path) -> None:
    for case, (text, _) in BAD_FILES.items():
        (tmp_path / f"{case}.yaml").write_text(text)
    for case, (_, expected) in sorted(BAD_FILES.items()):
        proc = python_m("run", f"{case}.yaml", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.splitlines() == [expected]
        assert "Traceback" not in proc.stderr


def test_real_subprocess_run_of_ping_ttl(tmp_path: Path) -> None:
    proc = python_m("run", "ping-ttl", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ttl=56" in proc.stdout
    assert {"trace.jsonl", "packets.txt", "summary.json", "report.html"} <= {p.name for p in (tmp_path / "out").iterdir()}


def test_unknown_scenario_name(in_tmp: Path) -> None:
    result = invoke("run", "no-such-lab")
    assert result.exit_code == 2
    assert result.stderr.startswith("no-such-lab: no such file or built-in scenario (built-ins: ")
    assert "ping-ttl" in result.stderr and len(result.stderr.splitlines()) == 1


# -- bad flags: click's exit 2, but one line ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "ping-ttl", "--bogus"],
         "Error: No such option '--bogus'. Did you mean '--out'? (see 'tcpsim run --help')"),
        (["run", "ping-ttl", "--seed", "minus"],
         "Error: Invalid value for '--seed': 'minus' is not a valid integer range. (see 'tcpsim run --help')"),
        (["run", "ping-ttl", "--until", "soon"],
         "Error: Invalid value for '--until': expected a duration such as 5ms, 1.5s or 2min (a bare number is "
         "seconds; units: us, ms, s, min, h), got 'soon' (see 'tcpsim run --help')"),
        (["run"], "Error: Missing argument 'SCENARIO'. (see 'tcpsim run --help')"),
        (["frobnicate"], "Error: No such command 'frobnicate'. (see 'tcpsim --help')"),
    ],
)
def test_bad_flags_are_one_line(in_tmp: Path, args: list[str], expected: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [expected]


def test_bad_flag_through_a_real_subprocess(tmp_path: Path) -> None:
    proc = python_m("run", "ping-ttl", "--seed", "-3", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "--seed" in proc.stderr


# -- validate, list, schema, version, help --------------------------------------------------


def test_validate_ok() -> None:
    result = invoke("validate", str(REPO / "scenarios" / "traceroute.yaml"))
    assert result.exit_code == 0
    assert result.stdout.endswith(": ok (traceroute: 2 hosts, 8 routers, 9 links, 1 app, 5 expectations)\n")


def test_validate_catches_what_only_the_network_layer_knows(in_tmp: Path) -> None:
    (in_tmp / "ttl.yaml").write_text("name: ttl\nhosts:\n  a: {sysctl: {net.ipv4.ip_default_ttl: 0}}\n")
    result = invoke("validate", "ttl.yaml")
    assert result.exit_code == 2
    assert result.stderr == "ttl.yaml:3: hosts.a.sysctl['net.ipv4.ip_default_ttl']: expected a value >= 1 and <= 255, got 0\n"


def test_list_shows_builtins_with_descriptions() -> None:
    result = invoke("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert {"lossy-link", "ping-ttl", "traceroute"} <= set(names)
    assert names == sorted(names)
    assert any(line.startswith("ping-ttl") and "TTL 64" in line for line in lines)


def test_schema_is_json() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "tcpsim scenario"


def test_version() -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"tcpsim {tcpsim.__version__}\n")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "--help"], ["list", "--help"],
                                  ["schema", "--help"], ["-h"]])
def test_help_everywhere(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: tcpsim")


def test_main_returns_the_exit_code(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tcpsim.cli import main

    assert main(["--version"]) == 0
    assert main(["run", "nope"]) == 2
    assert capsys.readouterr().err.startswith("nope: no such file")
