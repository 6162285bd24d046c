"""The README's first command, run as a newcomer would: a fresh venv, install, run a built-in scenario."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

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
    # The one-liner of the Python API, in the same fresh install.
    one = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import tcpsim; print(tcpsim.run('handshake-and-close').ok)"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert (one.returncode, one.stdout) == (0, "True\n"), one.stderr[-2000:]


def test_readme_test_command_is_the_one_ci_runs() -> None:
    second = readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert second in ci


def test_readme_from_python_example_prints_what_it_shows(tmp_path: pathlib.Path) -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## From Python"):]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    shown = re.search(r"```text\n(.*?)```", section, flags=re.S)
    assert code is not None and shown is not None
    # Run from a scratch directory (it writes runs/ and ladder.png), the sweep file named from the repository.
    source = code.group(1).replace('"scenarios/sweeps/', f'"{ROOT}/scenarios/sweeps/')
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == shown.group(1)
    assert (tmp_path / "ladder.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "runs" / "handshake-and-close" / "summary.json").is_file()
