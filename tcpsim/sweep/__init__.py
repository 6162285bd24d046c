"""Parameter sweeps: one scenario, many values, a tidy table of metrics (see docs/sweeps.md).

``tcpsim.sweep`` is also the Python API's sweep function: calling this package,
``tcpsim.sweep("scenarios/sweeps/flood-backlog.yaml", jobs=2)``, is
``tcpsim.api.sweep(...)`` and returns a ``tcpsim.api.Sweep`` (its ``results``
as a pandas DataFrame, its ``plot``). The package stays a package, so
``from tcpsim.sweep import load_sweep`` works as before.

Typical use::

    from tcpsim.sweep import load_sweep, run_sweep
    plan = load_sweep("scenarios/sweeps/flood-backlog.yaml")
    report = run_sweep(plan, Path("runs/flood-backlog"), jobs=2)
    print(report.line())

``load_sweep`` checks the sweep file and every run's scenario up front and
raises ``ScenarioError`` (one line, ``FILE:LINE: PATH: what was expected``);
``run_sweep`` makes the runs not already done in the directory, on local
worker processes or a Dask cluster, and writes ``results.csv`` and
``results.parquet``.
"""

import sys
import types
from typing import Any

from tcpsim.sweep.runner import SweepReport, run_sweep
from tcpsim.sweep.spec import Plan, RunSpec, load_sweep
from tcpsim.sweep.store import StoreError, read_results

__all__ = ["Plan", "RunSpec", "StoreError", "SweepReport", "load_sweep", "read_results", "run_sweep"]


class _CallablePackage(types.ModuleType):
    """This package, callable as ``tcpsim.api.sweep`` (see the module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from tcpsim.api import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
