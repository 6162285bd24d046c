"""The core is pure: no simpy, no clock, no global random; same inputs, same outputs."""

import ast
import pathlib
import subprocess
import sys

import tcpsim.tcp
from tests.tcp.helpers import REMOTE_ISS, T, seg

CORE = pathlib.Path(tcpsim.tcp.__file__).parent
FORBIDDEN = {"simpy", "time", "random", "datetime", "tcpsim.net", "tcpsim.scenario"}


def test_core_sources_import_nothing_impure() -> None:
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                root = n.split(".")[0]
                assert root not in FORBIDDEN and not any(n.startswith(f) for f in FORBIDDEN), f"{path.name} imports {n}"


def test_importing_the_core_does_not_load_simpy() -> None:
    code = "import sys, tcpsim.tcp; print('simpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def run_script() -> list[tuple[object, ...]]:
    t = T().established_passive()
    t.send(seg("P.", REMOTE_ISS + 1, 10001, data=b"x" * 3000))
    t.app_send(b"y" * 5000)
    t.close()
    t.run_timers(5)
    return [(w, s.flags, s.seq, s.ack, s.window, bytes(s.payload)) for w, s in t.sent] + t.transitions  # type: ignore[operator]


def test_same_inputs_same_outputs() -> None:
    assert run_script() == run_script()
