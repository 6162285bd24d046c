"""docs/notebooks/ run end to end in a Jupyter kernel, and say what they promise."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

import tcpsim

NOTEBOOKS = Path(tcpsim.__file__).resolve().parent.parent / "docs" / "notebooks"


def execute(name: str, cwd: Path) -> Any:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def cell(nb: Any, starts: str) -> Any:
    [found] = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    return found


def text(c: Any) -> str:
    return "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")


def is_png(c: Any) -> bool:
    pngs = [o["data"]["image/png"] for o in c.outputs if "image/png" in o.get("data", {})]
    return len(pngs) == 1 and base64.b64decode(pngs[0]).startswith(b"\x89PNG")


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == ["handshake-and-time-wait.ipynb",
                                                                  "syn-flood-study.ipynb"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_lesson_handshake_and_time_wait(tmp_path: Path) -> None:
    nb = execute("handshake-and-time-wait.ipynb", tmp_path)
    assert text(cell(nb, "%matplotlib inline")) == "True 15\n"
    packets = cell(nb, "p = run.packets").outputs[0]["data"]["text/plain"]
    assert "1.000000  send  192.0.2.1  54606  192.0.2.2     80     S  1918979296" in packets
    assert is_png(cell(nb, 'run.plot("ladder"'))
    assert text(cell(nb, 'print(" -> ".join(')) == (
        "SYN_SENT -> ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT -> CLOSED\n"
        "LISTEN -> SYN_RECV -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED\n")
    assert is_png(cell(nb, 'run.plot("timeline")'))
    assert text(cell(nb, 'c = s[s.host == "client"]')) == "TIME_WAIT lasted 60.000 s\n"
    netstat = text(cell(nb, "print(run.netstat(at=30.0))")).splitlines()
    assert netstat[0] == "== client at t=30 s =="
    assert netstat[3] == "tcp        0      0 192.0.2.1:54606         192.0.2.2:80            TIME_WAIT"
    assert netstat[-1] == "tcp        0      0 192.0.2.2:80            0.0.0.0:*               LISTEN"
    counts = cell(nb, "counts = run.counts")
    assert text(counts) == "seconds with a socket in TIME_WAIT: 60\n"
    assert is_png(counts)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_study_sweep_group_by_and_figure(tmp_path: Path) -> None:
    nb = execute("syn-flood-study.ipynb", tmp_path)
    assert text(cell(nb, "%matplotlib inline")) == "True 12\n"
    table = cell(nb, "results = sweep.results").outputs[0]["data"]["text/plain"].splitlines()
    assert table[0].split() == ["flood_rate", "backlog", "syncookies", "success_ratio", "peak_syn_recv"]
    assert len(table) == 13
    assert text(cell(nb, "table = results.groupby")).splitlines() == [
        "backlog     16     128",
        "syncookies            ",
        "0           0.0  0.367",
        "1           1.0  1.000",
    ]
    assert is_png(cell(nb, "fig, ax = plt.subplots"))
    assert is_png(cell(nb, 'sweep.plot("peak_syn_recv"'))
