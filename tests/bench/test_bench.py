"""The benchmark suite runs end to end in quick mode and produces every figure.

Benchmarks are measurements, not tests: nothing here looks at a speed or a
memory figure, only that each benchmark ran (in its own subprocess), checked
its own work and reported finite, positive figures beside their targets.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from bench import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "hops": {"hop_rate_counters", "hop_rate_packets"},
    "lifecycles": {"rate_500", "rate_2000", "flatness"},
    "synflood": {"wall", "peak_rss", "clients_connected", "mean_connect"},
    "memory": {"half_open", "established", "time_wait"},
    "tracecost": {"slowdown_states", "slowdown_packets", "slowdown_full"},
    "longrun": {"growth"},
}


def test_quick_mode_runs_every_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.exists()
    doc = json.loads(out.read_text())

    assert doc["mode"] == "quick"
    assert doc["machine"]["python"] and doc["machine"]["cpu_count"] >= 1
    assert doc["bare_simpy_rate"] > 0 and doc["nominal_bare_rate"] > 0
    assert set(doc["benchmarks"]) == set(BENCHMARKS) == set(EXPECTED)
    assert doc["summary"]["failed"] == []
    for name, bench in doc["benchmarks"].items():
        assert bench["ok"], (name, bench.get("error"))
        assert set(bench["figures"]) == EXPECTED[name], name
        if bench["timed"]:
            assert bench["bare_rate"] > 0, name
        for key, fig in bench["figures"].items():
            where = f"{name}.{key}"
            assert fig["error"] is None, where
            assert isinstance(fig["value"], int | float) and math.isfinite(fig["value"]) and fig["value"] > 0, where
            assert isinstance(fig["target"], int | float) and fig["target"] > 0, where
            assert fig["op"] in (">=", "<=", "<") and isinstance(fig["met"], bool), where
            compared = {"raw": fig["value"], "ratio": fig["ratio"], "normalized": fig["normalized"]}[fig["basis"]]
            assert isinstance(compared, int | float) and math.isfinite(compared) and compared > 0, where
    # The table names every benchmark.
    for name in BENCHMARKS:
        assert name in proc.stdout
