"""A sweep's directory: the per-run record, the manifest, and the results table.

``DIR/runs.jsonl`` is append-only, one line per finished run (done or
failed), keyed by the run's id. The id is a digest of everything that
decides the run's result (the base scenario's data, the values, the seed,
the trace level, the metrics, tcpsim's version), so a rerun of the same
sweep finds its finished runs and skips them, and a changed sweep redoes
exactly the runs whose result could differ. A line cut short by a crash is
ignored; the last line of an id wins.

``DIR/sweep.json`` says what the sweep was (parameters, metrics, labels);
its presence is also what makes ``DIR`` ours: a directory holding anything
else is never written into.

``DIR/results.csv`` and ``DIR/results.parquet``: one row per run, sorted by
run index, written to a temporary file and renamed into place, so a reader
never sees half a table.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST", "RECORDS", "StoreError", "check_dir", "column_types", "read_manifest", "read_records",
    "read_results", "table_rows", "write_atomic", "write_tables",
]

RECORDS = "runs.jsonl"
MANIFEST = "sweep.json"
CSV = "results.csv"
PARQUET = "results.parquet"


class StoreError(Exception):
    """DIR cannot be used: ``refused`` when it is not ours (bad input), else the system said no."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


def check_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty directory some other program wrote."""
    if not out.exists():
        return
    if not out.is_dir():
        raise StoreError(f"--out {out}: exists and is not a directory", refused=True)
    if (out / MANIFEST).is_file():
        return
    try:
        foreign = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        raise StoreError(f"--out {out}: cannot read: {exc.strerror or exc}") from None
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise StoreError(f"--out {out}: refusing to write into a directory that holds files of something else "
                         f"({shown}); give a new or empty directory, or one an earlier sweep wrote", refused=True)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fp:
            fp.write(data)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_records(out: Path) -> dict[str, dict[str, Any]]:
    """run id -> its latest record; lines that do not parse (a crash mid-write) are skipped."""
    path = out / RECORDS
    found: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return found
    with open(path, encoding="utf-8") as fp:
        for line in fp:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("run_id"), str):
                found[rec["run_id"]] = rec
    return found


def read_manifest(out: Path) -> dict[str, Any]:
    with open(out / MANIFEST, encoding="utf-8") as fp:
        data = json.load(fp)
    if not isinstance(data, dict):
        raise ValueError("not a sweep manifest")
    return data


# -- the table -------------------------------------------------------------------------------------


def table_rows(runs: Sequence[Any], columns: Sequence[str], metrics: Sequence[str],
               records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run, in run order; a run without a record is ``pending``."""
    rows = []
    for run in runs:
        rec = records.get(run.run_id)
        row: dict[str, Any] = {"run": run.index, "run_id": run.run_id}
        params = dict(run.params)
        for c in columns:
            row[c] = params.get(c)
        row["replication"] = run.replication
        row["seed"] = run.seed
        got = (rec or {}).get("metrics") or {}
        for m in metrics:
            row[m] = got.get(m)
        row["status"] = rec["status"] if rec else "pending"
        row["error"] = rec.get("error") if rec else None
        row["wall_time"] = rec.get("wall_time") if rec else None
        rows.append(row)
    return rows


def column_types(rows: Sequence[dict[str, Any]], names: Iterable[str]) -> dict[str, str]:
    """Column -> ``int``, ``float``, ``bool`` or ``string``, from the values (nulls do not count)."""
    out: dict[str, str] = {}
    for name in names:
        kinds = set()
        for r in rows:
            v = r.get(name)
            if v is None:
                continue
            kinds.add("bool" if isinstance(v, bool) else "int" if isinstance(v, int) else
                      "float" if isinstance(v, float) else "string")
        if not kinds or kinds == {"int"}:
            out[name] = "int" if kinds else "float"
        elif kinds <= {"int", "float"}:
            out[name] = "float"
        elif kinds == {"bool"}:
            out[name] = "bool"
        else:
            out[name] = "string"
    return out


def _cast(v: Any, kind: str) -> Any:
    if v is None:
        return None
    if kind == "float":
        f = float(v)
        return f if math.isfinite(f) else None
    if kind == "string":
        return v if isinstance(v, str) else json.dumps(v)
    return v


def _csv_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_tables(out: Path, rows: Sequence[dict[str, Any]], order: Sequence[str]) -> list[Path]:
    """``results.csv`` and ``results.parquet``, each written whole then renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = column_types(rows, order)
    arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "string": pa.string()}
    schema = pa.schema([(name, arrow[kinds[name]]) for name in order])
    table = pa.table({name: [_cast(r.get(name), kinds[name]) for r in rows] for name in order}, schema=schema)
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    write_atomic(out / PARQUET, buf.getvalue().to_pybytes())

    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(order)
    for r in rows:
        w.writerow([_csv_text(_cast(r.get(name), kinds[name])) for name in order])
    write_atomic(out / CSV, text.getvalue().encode("utf-8"))
    return [out / CSV, out / PARQUET]


def read_results(out: Path) -> list[dict[str, Any]]:
    """The rows of ``results.parquet``."""
    import pyarrow.parquet as pq

    return list(pq.read_table(out / PARQUET).to_pylist())
