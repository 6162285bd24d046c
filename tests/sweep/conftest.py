"""Small sweeps written into a temporary directory, and a way to call the CLI, shared by the sweep tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import tcpsim
from tcpsim.cli import cli

REPO = Path(tcpsim.__file__).resolve().parent.parent
BASES = REPO / "scenarios" / "sweeps" / "bases"

# Keepalive against a crashed server: ETIMEDOUT at exactly idle + interval x count after the last
# segment heard (0.02 s). No randomness: a good oracle.
KEEPALIVE = """\
scenario: peer-crash-keepalive
until: 200s
grid:
  keepidle: [10, 30]
  keepcnt: [1, 4]
metrics:
  detect: first_error('probed', 'ETIMEDOUT')
  probes: counter('client', 'timer:keepalive')
"""

# Random loss: the table depends on every run's seed, so it shows any nondeterminism.
LOSSY = f"""\
scenario: {BASES / 'lossy-connect.yaml'}
seed: 7
replications: 2
set:
  apps.users.count: 10
grid:
  links.access.loss: {{values: [0.1, 0.3], as: loss}}
  profile: [linux, windows-xp]
metrics:
  setup: mean(apps.users.results.connect_times)
  made: apps.users.results.connections_made
  lost: counter('client', 'drop:loss') + counter('server', 'drop:loss')
"""


def write(tmp: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="tcpsim")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
