"""The example sweeps of scenarios/sweeps: each loads, runs in seconds, and shows what its comment says."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tcpsim.sweep import load_sweep, read_results, run_sweep

from .conftest import REPO

EXAMPLES = REPO / "scenarios" / "sweeps"


def run(name: str, tmp: Path) -> list[dict]:
    report = run_sweep(load_sweep(EXAMPLES / f"{name}.yaml"), tmp / name, jobs=2)
    assert report.failed == 0
    return read_results(tmp / name)


def test_every_example_loads_and_is_small() -> None:
    sizes = {p.stem: len(load_sweep(p).runs()) for p in sorted(EXAMPLES.glob("*.yaml"))}
    assert sizes == {"flood-backlog": 30, "keepalive-detection": 32, "loss-profile": 70, "port-exhaustion": 20}


def test_flood_backlog_cookies_keep_every_client_in(tmp_path: Path) -> None:
    rows = run("flood-backlog", tmp_path)
    ratio = {(r["syncookies"], r["backlog"], r["flood_rate"]): r["success_ratio"] for r in rows}
    assert {v for (c, _, _), v in ratio.items() if c == 1} == {1.0}
    for backlog in (16, 64, 256):
        line = [ratio[(0, backlog, rate)] for rate in (25, 50, 100, 200, 400)]
        assert line == sorted(line, reverse=True)  # faster flood, fewer get in
        assert line[-1] == 0.0
    assert ratio[(0, 256, 50)] == 1.0 and ratio[(0, 16, 25)] == 0.0
    peaks = {(r["syncookies"], r["backlog"], r["flood_rate"]): r["peak_syn_recv"] for r in rows}
    assert peaks[(0, 16, 400)] == 16 and peaks[(1, 256, 400)] == 256  # the SYN queue is the backlog


def test_keepalive_detection_is_idle_plus_interval_times_count(tmp_path: Path) -> None:
    for r in run("keepalive-detection", tmp_path):
        assert r["detect_time"] == pytest.approx(r["keepidle"] + r["keepintvl"] * r["keepcnt"] + 0.02, abs=1e-9)
        assert r["beyond_formula"] == pytest.approx(0.02, abs=1e-9)
        assert r["probes"] == r["keepcnt"] + 1


def test_ports_run_out_after_ports_over_rate_seconds(tmp_path: Path) -> None:
    for r in run("port-exhaustion", tmp_path):
        assert r["exhausted_at"] == pytest.approx(r["ports"] / r["rate"], abs=1e-9)
        assert r["made"] == r["ports"]
        assert r["refused"] == 60 * r["rate"] - r["ports"]


def test_loss_slows_connect_more_under_the_longer_timeout(tmp_path: Path) -> None:
    means: dict[tuple[float, str], list[float]] = defaultdict(list)
    for r in run("loss-profile", tmp_path):
        means[(r["loss"], r["profile"])].append(r["setup_time"])
    avg = {k: sum(v) / len(v) for k, v in means.items()}
    assert avg[(0.0, "linux")] == pytest.approx(0.0501, abs=1e-3)  # one round trip of 2 x 25 ms
    assert avg[(0.0, "windows-xp")] == pytest.approx(0.0501, abs=1e-3)
    for loss in (0.1, 0.2, 0.3):
        assert avg[(loss, "linux")] < avg[(loss, "windows-xp")]
    assert avg[(0.3, "linux")] > avg[(0.1, "linux")] > avg[(0.0, "linux")]


def test_the_sweep_file_in_the_docs_is_the_flood_example(tmp_path: Path) -> None:
    """docs/sweeps.md shows a whole sweep file: it loads, and it is scenarios/sweeps/flood-backlog.yaml."""
    import re

    text = (REPO / "docs" / "sweeps.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if b.startswith("name:"))
    path = tmp_path / "flood-backlog.yaml"
    path.write_text(block.replace("scenario: ../syn-flood.yaml", "scenario: syn-flood"))
    documented = load_sweep(path)
    example = load_sweep(EXAMPLES / "flood-backlog.yaml")
    assert [(r.run_id, r.seed) for r in documented.runs()] == [(r.run_id, r.seed) for r in example.runs()]
    assert [m.label for m in documented.metrics] == [m.label for m in example.metrics]
