"""Running sweeps: exact tables, resume, failed and crashed runs, Dask, the tables on disk, determinism."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tcpsim.sweep import load_sweep, read_results, run_sweep
from tcpsim.sweep import worker as sweep_worker
from tcpsim.sweep.spec import RunSpec

from .conftest import KEEPALIVE, LOSSY, invoke, write


def without_wall_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]


def test_keepalive_sweep_gives_the_formula_for_every_run(tmp_path: Path) -> None:
    plan = load_sweep(write(tmp_path, KEEPALIVE))
    report = run_sweep(plan, tmp_path / "out", jobs=2)
    assert (report.total, report.done, report.failed, report.skipped) == (4, 4, 0, 0)
    rows = read_results(tmp_path / "out")
    assert [r["run"] for r in rows] == [0, 1, 2, 3]
    assert list(rows[0]) == ["run", "run_id", "keepidle", "keepcnt", "replication", "seed", "detect", "probes",
                             "status", "error", "wall_time"]
    # keepintvl stays at the scenario's 5 s: ETIMEDOUT at idle + 5 x count, after the last segment at 0.02 s.
    assert [(r["keepidle"], r["keepcnt"]) for r in rows] == [(10, 1), (10, 4), (30, 1), (30, 4)]
    assert [r["detect"] for r in rows] == pytest.approx([15.02, 30.02, 35.02, 50.02], abs=1e-9)
    assert [r["probes"] for r in rows] == [2, 5, 2, 5]  # the idle timer, then one per probe
    assert {r["status"] for r in rows} == {"done"} and {r["error"] for r in rows} == {None}
    assert all(r["wall_time"] > 0 for r in rows)
    manifest = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert manifest["trace"] == "counters"  # the cheapest level the metrics need
    assert [p["column"] for p in manifest["parameters"]] == ["keepidle", "keepcnt"]


def test_same_sweep_same_table_whatever_the_workers(tmp_path: Path) -> None:
    path = write(tmp_path, LOSSY)
    one = run_sweep(load_sweep(path), tmp_path / "one", jobs=1)
    two = run_sweep(load_sweep(path), tmp_path / "two", jobs=2)
    assert one.done == two.done == 8
    a, b = read_results(tmp_path / "one"), read_results(tmp_path / "two")
    assert without_wall_time(a) == without_wall_time(b)
    assert len({r["seed"] for r in a}) == 8  # every run its own seed
    assert len({r["setup"] for r in a}) > 4  # and the loss really differs between them


def test_dask_local_cluster_gives_the_local_table(tmp_path: Path) -> None:
    path = write(tmp_path, LOSSY)
    run_sweep(load_sweep(path), tmp_path / "local", jobs=2)
    result = invoke("sweep", str(path), "--out", str(tmp_path / "dask"), "--dask", "local:1")
    assert result.exit_code == 0, result.output
    assert "8 runs: 8 done, 0 failed, 0 skipped (done before)" in result.stdout
    assert "on Dask local:1" in result.stdout
    assert without_wall_time(read_results(tmp_path / "dask")) == without_wall_time(read_results(tmp_path / "local"))


def test_rerun_skips_every_finished_run_and_a_partial_one_does_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, LOSSY)
    out = tmp_path / "out"
    first = run_sweep(load_sweep(path), out, jobs=2)
    table = read_results(out)
    executed: list[int] = []
    again = run_sweep(load_sweep(path), out, jobs=2, progress=lambda o: executed.append(o.index))
    assert executed == [] and (again.done, again.failed, again.skipped) == (0, 0, 8)
    assert read_results(out) == table  # rewritten identically, wall times included
    # Keep the records of runs 0, 2, 4, 6 only, as if the sweep had been stopped.
    lines = (out / "runs.jsonl").read_text().splitlines()
    kept = [ln for ln in lines if json.loads(ln)["run"] % 2 == 0]
    (out / "runs.jsonl").write_text("\n".join(kept) + "\n" + '{"run_id": "cut sho')  # and a torn last line
    executed.clear()
    third = run_sweep(load_sweep(path), out, jobs=2, progress=lambda o: executed.append(o.index))
    assert sorted(executed) == [1, 3, 5, 7]
    assert (third.done, third.skipped) == (4, 4)
    assert without_wall_time(read_results(out)) == without_wall_time(table)
    assert first.done == 8


def _boom(run: RunSpec) -> None:
    params = dict(run.params)
    if params.get("keepidle") == 30 and params.get("keepcnt") == 1:
        raise RuntimeError("simulated failure in the model")


def _die(run: RunSpec) -> None:
    if dict(run.params).get("keepcnt") == 4 and dict(run.params).get("keepidle") == 10:
        os._exit(7)


def test_a_run_that_raises_is_recorded_and_the_others_finish(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(in_tmp, KEEPALIVE)
    monkeypatch.setattr(sweep_worker, "_test_hook", _boom)
    result = invoke("sweep", str(path), "--out", "out", "-j", "2")
    assert result.exit_code == 1  # a run failed; the table is written all the same
    assert result.stdout.startswith("sweep: 4 runs: 3 done, 1 failed, 0 skipped (done before)")
    rows = read_results(in_tmp / "out")
    assert [r["status"] for r in rows] == ["done", "done", "failed", "done"]
    assert rows[2]["error"].startswith("RuntimeError: simulated failure in the model (at test_run.py:")
    assert rows[2]["detect"] is None and rows[3]["detect"] == pytest.approx(50.02)
    records = [json.loads(ln) for ln in (in_tmp / "out" / "runs.jsonl").read_text().splitlines()]
    failed = [r for r in records if r["status"] == "failed"]
    assert [r["run"] for r in failed] == [2]
    assert failed[0]["detail"].startswith("Traceback (most recent call last):")
    # Resuming retries the failed run only; without the fault it now succeeds.
    monkeypatch.setattr(sweep_worker, "_test_hook", None)
    result = invoke("sweep", str(path), "--out", "out")
    assert result.exit_code == 0
    assert result.stdout.startswith("sweep: 4 runs: 1 done, 0 failed, 3 skipped (done before)")
    assert read_results(in_tmp / "out")[2]["detect"] == pytest.approx(35.02)


def test_a_worker_that_dies_is_recorded_and_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_worker, "_test_hook", _die)
    report = run_sweep(load_sweep(write(tmp_path, KEEPALIVE)), tmp_path / "out", jobs=2)
    assert (report.done, report.failed) == (3, 1)
    rows = read_results(tmp_path / "out")
    assert [r["status"] for r in rows] == ["done", "failed", "done", "done"]
    assert rows[1]["error"] == "the worker process died during this run (exit code 7)"
    assert rows[0]["detect"] == pytest.approx(15.02) and rows[3]["detect"] == pytest.approx(50.02)


def test_csv_and_parquet_hold_the_same_table(tmp_path: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    # A text metric with a comma and a double quote in it, to exercise CSV quoting.
    text = LOSSY + """  note: "'a, b' if apps.users.results.connections_made > 100 else 'c\\"d'"\n"""
    run_sweep(load_sweep(write(tmp_path, text)), tmp_path / "out", jobs=2)
    parquet = pq.read_table(tmp_path / "out" / "results.parquet")
    csv_table = pcsv.read_csv(tmp_path / "out" / "results.csv",
                              convert_options=pcsv.ConvertOptions(column_types=parquet.schema,
                                                                  strings_can_be_null=True))
    assert csv_table.to_pylist() == parquet.to_pylist()
    assert parquet.schema.field("loss").type == "double" and parquet.schema.field("made").type == "int64"
    assert parquet.column("note").to_pylist()[0] == 'c"d'
    assert parquet.column("error").to_pylist() == [None] * 8


def test_keep_runs_writes_each_run_directory(tmp_path: Path) -> None:
    text = KEEPALIVE.replace("  keepcnt: [1, 4]\n", "")
    plan = load_sweep(write(tmp_path, text))
    run_sweep(plan, tmp_path / "out", jobs=1, keep=True)
    runs = sorted(p.name for p in (tmp_path / "out" / "runs").iterdir())
    assert runs == sorted(r.run_id for r in plan.runs())
    summary = json.loads((tmp_path / "out" / "runs" / runs[0] / "summary.json").read_text())
    assert summary["trace_level"] == "counters" and summary["params"]["keepidle"] in (10, 30)


def test_out_that_is_not_ours_is_refused(in_tmp: Path) -> None:
    path = write(in_tmp, KEEPALIVE)
    (in_tmp / "mine").mkdir()
    (in_tmp / "mine" / "thesis.tex").write_text("x")
    result = invoke("sweep", str(path), "--out", "mine")
    assert result.exit_code == 2
    assert result.stderr.startswith("--out mine: refusing to write into a directory that holds files of "
                                    "something else (thesis.tex)")
    assert sorted(p.name for p in (in_tmp / "mine").iterdir()) == ["thesis.tex"]


def test_seeds_are_stable_and_common_seeds_share_draws(tmp_path: Path) -> None:
    a = load_sweep(write(tmp_path, LOSSY)).runs()
    b = load_sweep(write(tmp_path, LOSSY, "again.yaml")).runs()
    assert [(r.run_id, r.seed) for r in a] == [(r.run_id, r.seed) for r in b]
    common = load_sweep(write(tmp_path, LOSSY.replace("seed: 7", "seed: 7\nseeds: common"), "c.yaml")).runs()
    assert len({r.seed for r in common if r.replication == 0}) == 1
    assert len({r.seed for r in common}) == 2
    other = load_sweep(write(tmp_path, LOSSY.replace("seed: 7", "seed: 8"), "d.yaml")).runs()
    assert not {r.seed for r in other} & {r.seed for r in a}
