"""Running a sweep's runs on a Dask cluster (``--dask tcp://HOST:8786`` or ``--dask local:N``).

The plan is sent to every worker once (``scatter(..., broadcast=True)``);
each task is a chunk of runs and returns their outcomes, metrics only. A run
that raises is a failed outcome like in a local sweep. A run that kills its
worker process makes Dask retry the task elsewhere, and after the scheduler's
``allowed-failures`` give up with ``KilledWorker``: a chunk that ends so is
split into single runs, and a single run that ends so is recorded as failed.
Results are the same as a local sweep's: each run depends only on its values
and its seed, never on the process that made it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tcpsim import __version__
from tcpsim.sweep.spec import Plan, RunSpec
from tcpsim.sweep.worker import Outcome, execute_chunk

__all__ = ["DaskAddressError", "dask_client", "run_dask"]

_LOCAL = re.compile(r"^local(?::(\d+))?$")


class DaskAddressError(ValueError):
    """A ``--dask`` address that is neither ``local[:N]`` nor a scheduler address."""


@contextmanager
def dask_client(address: str, *, processes: bool = True) -> Iterator[Any]:
    """A ``distributed.Client``: a fresh LocalCluster for ``local:N``, else a connection to a scheduler."""
    m = _LOCAL.match(address)
    if m is None and "://" not in address and ":" not in address:
        raise DaskAddressError(f"--dask {address}: expected a scheduler address such as tcp://HOST:8786, "
                               "or local:N for N local workers")
    from distributed import Client, LocalCluster

    if m is not None:
        n = int(m.group(1) or 0) or None
        if n is not None and n < 1:
            raise DaskAddressError(f"--dask {address}: expected at least 1 worker")
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
    else:
        with Client(address, timeout="20s") as client:
            yield client


def _chunks(runs: list[RunSpec], workers: int) -> list[list[RunSpec]]:
    size = max(1, min(16, len(runs) // max(1, workers * 8)))
    return [runs[i:i + size] for i in range(0, len(runs), size)]


def run_dask(plan: Plan, runs: list[RunSpec], client: Any, on_outcome: Callable[[RunSpec, Outcome], None], *,
             keep: bool = False) -> None:
    """Make ``runs`` on the cluster behind ``client``; ``on_outcome`` is called here as each one ends."""
    if not runs:
        return
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    shared = client.scatter(plan, broadcast=True)
    pending: dict[Any, list[RunSpec]] = {}
    for chunk in _chunks(runs, workers):
        fut = client.submit(execute_chunk, shared, chunk, keep, __version__, pure=False)
        pending[fut] = chunk
    done = as_completed(list(pending))
    for fut in done:
        chunk = pending.pop(fut)
        try:
            outcomes = fut.result()
        except KilledWorker:
            if len(chunk) > 1:
                for run in chunk:
                    f = client.submit(execute_chunk, shared, [run], keep, __version__, pure=False)
                    pending[f] = [run]
                    done.add(f)
                continue
            outcomes = [Outcome(chunk[0].index, chunk[0].run_id, "failed",
                                error="the worker process died during this run (Dask KilledWorker)")]
        except Exception as exc:  # noqa: BLE001 - a lost task is a failed run, not a failed sweep
            message = " ".join(f"{type(exc).__name__}: {exc}".split())
            outcomes = [Outcome(r.index, r.run_id, "failed", error=f"the cluster lost this run ({message})")
                        for r in chunk]
        for run, outcome in zip(chunk, outcomes, strict=True):
            on_outcome(run, outcome)
