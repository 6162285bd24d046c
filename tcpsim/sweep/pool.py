"""Running a sweep's runs on local worker processes.

Why not ``concurrent.futures.ProcessPoolExecutor``: when one of its workers
dies (a segfault, the OOM killer, ``os._exit``) the whole pool is broken and
every pending future fails, with no way to tell which run killed it. Here
each worker is a long-lived process fed chunks of runs over its own pipe and
sending back one outcome per run, so the parent always knows which run a
worker was busy with: when a worker dies, that run is recorded as failed
("the worker process died"), the rest of its chunk goes back to the queue,
and a fresh worker takes its place.

Workers are forked where the platform allows it (they start in milliseconds
and inherit the loaded plan: no YAML is parsed again, no module imported
again), spawned elsewhere. Chunks shrink as the queue empties so that the
last runs spread over all workers.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from tcpsim.sweep.spec import Plan, RunSpec
from tcpsim.sweep.worker import Outcome, execute

__all__ = ["run_local"]

MAX_CHUNK = 16


def _context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def _worker_main(conn: Connection, plan: Plan, keep: bool) -> None:
    # Ctrl-C is for the parent: it stops the workers itself, after recording what finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for run in chunk:
            conn.send(execute(plan, run, keep))


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    busy: deque[RunSpec] = field(default_factory=deque)


def _died(run: RunSpec, code: int | None) -> Outcome:
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return Outcome(run.index, run.run_id, "failed", error=f"the worker process died during this run ({how})")


def run_local(plan: Plan, runs: list[RunSpec], jobs: int, on_outcome: Callable[[RunSpec, Outcome], None], *,
              keep: bool = False) -> None:
    """Make ``runs`` on ``jobs`` worker processes; ``on_outcome`` is called in the parent as each one ends."""
    if not runs:
        return
    ctx = _context()
    queue: deque[RunSpec] = deque(runs)
    workers: list[_Worker] = []

    def start() -> _Worker:
        here, there = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_worker_main, args=(there, plan, keep), daemon=True)
        proc.start()
        there.close()
        return _Worker(proc, here)

    def feed(w: _Worker) -> None:
        size = max(1, min(MAX_CHUNK, len(queue) // (jobs * 4)))
        chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
        if chunk:
            w.busy.extend(chunk)
            w.conn.send(chunk)

    try:
        for _ in range(min(jobs, len(queue))):
            w = start()
            workers.append(w)
            feed(w)
        while workers:
            ready = set(wait([w.conn for w in workers] + [w.proc.sentinel for w in workers]))
            for w in list(workers):
                if w.conn not in ready and w.proc.sentinel not in ready:
                    continue
                dead = False
                try:
                    while w.conn.poll():
                        outcome = w.conn.recv()
                        run = w.busy.popleft()
                        on_outcome(run, outcome)
                except (EOFError, OSError):
                    dead = True
                if dead or not w.proc.is_alive():
                    w.proc.join()
                    workers.remove(w)
                    if w.busy:
                        culprit = w.busy.popleft()
                        on_outcome(culprit, _died(culprit, w.proc.exitcode))
                        queue.extendleft(reversed(w.busy))
                    w.conn.close()
                    if queue:
                        nw = start()
                        workers.append(nw)
                        feed(nw)
                elif not w.busy:
                    if queue:
                        feed(w)
                    else:
                        w.conn.send(None)
                        w.proc.join()
                        w.conn.close()
                        workers.remove(w)
    finally:
        for w in workers:
            if w.proc.is_alive():
                w.proc.terminate()
        for w in workers:
            w.proc.join()
            w.conn.close()
