"""tcpsim sweep-plot: the figures of a sweep's table, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

from tcpsim.sweep import load_sweep, run_sweep

from .conftest import LOSSY, invoke, write


def test_sweep_plot_writes_a_line_plot_and_a_heatmap_per_metric(in_tmp: Path) -> None:
    run_sweep(load_sweep(write(in_tmp, LOSSY)), in_tmp / "out", jobs=2)
    result = invoke("sweep-plot", "out", "--metric", "setup,made")
    assert result.exit_code == 0, result.output
    names = ["plot-setup.png", "plot-setup.svg", "plot-setup-heatmap.png", "plot-setup-heatmap.svg",
             "plot-made.png", "plot-made.svg", "plot-made-heatmap.png", "plot-made-heatmap.svg"]
    assert result.stdout.splitlines() == [str(Path("out") / n) for n in names]
    for n in names:
        data = (in_tmp / "out" / n).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n" if n.endswith(".png") else b"<?xml")
    # Same table, same figure: nothing in the files depends on the day or the machine.
    first = (in_tmp / "out" / "plot-setup.png").read_bytes()
    result = invoke("sweep-plot", "out", "--metric", "setup", "--x", "profile", "--group", "loss", "--format", "png",
                    "--out", "again", "--prefix", "p-", "--no-heatmap")
    assert result.exit_code == 0 and result.stdout.splitlines() == [str(Path("again") / "p-setup.png")]
    invoke("sweep-plot", "out", "--metric", "setup", "--format", "png", "--out", "third", "--no-heatmap")
    assert (in_tmp / "third" / "plot-setup.png").read_bytes() == first
    result = invoke("sweep-plot", "out", "--metric", "setup", "--where", "profile=linux", "--format", "png",
                    "--out", "linux")
    assert result.exit_code == 0 and result.stdout.splitlines() == [str(Path("linux") / "plot-setup.png")]


def test_sweep_plot_errors_are_one_line(in_tmp: Path) -> None:
    run_sweep(load_sweep(write(in_tmp, LOSSY)), in_tmp / "out", jobs=2)
    cases = [
        (("out", "--x", "lost"), "--x lost: not a parameter of this sweep (parameters: loss, profile)\n"),
        (("out", "--metric", "speed"), "--metric speed: not a metric of this sweep (metrics: setup, made, lost)\n"),
        (("out", "--x", "loss", "--group", "loss"), "--group loss: the same parameter as --x\n"),
        (("out", "--where", "profile=bsd"), "no finished run matches --where; nothing to plot\n"),
        (("nowhere",), "nowhere: not a sweep directory (no sweep.json and results.parquet; make one with "
                       "'tcpsim sweep SWEEP.yaml --out nowhere')\n"),
    ]
    for args, message in cases:
        result = invoke("sweep-plot", *args)
        assert (result.exit_code, result.stderr) == (2, message), args
