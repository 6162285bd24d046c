"""The README's first command, run as a newcomer would: a fresh venv, install, run a built-in scenario."""

from __future__ import annotations

import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_readme_first_command_installs_and_runs_in_a_fresh_venv(tmp_path: pathlib.Path) -> None:
    first = readme_commands()[0]
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/tcpsim run ")
    assert "```sh" not in first
    # The same command, with the venv in a temporary directory so the suite's own venv is left alone.
    venv = tmp_path / "venv"
    cmd = first.replace(".venv/", f"{venv}/").replace("-m venv .venv", f"-m venv {venv}")
    cmd = cmd.replace("install -e .", f"install -q -e {ROOT}") + f" --out {tmp_path / 'run'}"
    out = subprocess.run(cmd, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TIME_WAIT" in out.stdout  # the lesson, in words a person reads
    assert "expectations: 15 of 15 passed" in out.stdout
    for name in ("trace.jsonl", "packets.txt", "summary.json", "timeline.png", "ladder.png", "report.html",
                 "client.pcap"):
        assert (tmp_path / "run" / name).stat().st_size > 0


def test_readme_test_command_is_the_one_ci_runs() -> None:
    second = readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert second in ci
