"""Absolute-time callbacks on a SimPy environment, without a ``Timeout`` per call.

Why: a packet crossing a link needs exactly one wake-up, and ``env.timeout``
costs a dict-backed ``Timeout`` object, a fresh callbacks list and two
calls (``Timeout.__init__``, ``Environment.schedule``) each time. Measured on a
10-router chain (bench/hops.py) this shim makes a hop about 15% cheaper. It
also takes an *absolute* time, so "deliver no earlier than the previous
packet" is an exact float comparison rather than ``now + (t - now)``.

How: ``Environment.step()`` pops ``(time, priority, eid, event)`` from
``env._queue`` and then only touches ``event.callbacks`` (iterates it, then sets
it to None) and ``event._ok``. ``Call`` is the smallest object with those
slots, and ``push`` appends to the queue with the environment's own event-id
counter, so FIFO order among same-time events (ours and SimPy's) is kept.
``check_environment`` verifies these internals once per Simulation, and the
test suite runs ``step()`` on ``Call`` objects, so a SimPy release that
changes them fails loudly instead of silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappush
from itertools import count
from typing import Any

import simpy
from simpy.events import NORMAL

__all__ = ["Call", "push", "check_environment", "NORMAL"]


class Call:
    """A pre-triggered, successful event that SimPy's ``step()`` can process."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callbacks: Sequence[Callable[[Any], None]], value: Any = None) -> None:
        self.callbacks = callbacks
        self._ok = True
        self._value = value

    @property
    def value(self) -> Any:
        return self._value


def check_environment(env: simpy.Environment) -> None:
    """Fail early if this SimPy's scheduler is not shaped the way ``push`` assumes."""
    queue = getattr(env, "_queue", None)
    eid = getattr(env, "_eid", None)
    if not isinstance(queue, list) or not isinstance(eid, count) or not hasattr(env, "_now"):
        raise RuntimeError(
            f"tcpsim.net.sched: unsupported SimPy {getattr(simpy, '__version__', '?')} "
            "(expected Environment._queue list, _eid itertools.count, _now)"
        )


def push(env: simpy.Environment, t: float, callbacks: Sequence[Callable[[Any], None]], value: Any = None) -> None:
    """Run each of ``callbacks(event)`` at absolute time ``t`` (``t >= env.now``)."""
    if t < env._now:
        raise ValueError(f"cannot schedule at t={t}: that is in the past (now is {env._now})")
    queue: list[Any] = env._queue
    heappush(queue, (t, NORMAL, next(env._eid), Call(callbacks, value)))
