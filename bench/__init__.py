"""tcpsim's benchmark suite: speed and memory figures beside their targets.

``python -m bench`` (from the repository root) runs every benchmark, each in
a fresh subprocess, prints a table of figures and writes
``bench/results.json``. See ``docs/performance.md`` for what each benchmark
measures and the figures of a full run; ``python -m bench --help`` for the
options.

Benchmarks are not tests: nothing here asserts a speed. The one test
(``tests/bench``) runs the quick mode and checks that every figure was
produced.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["BENCHMARKS", "load", "resolve"]

#: Module names, in the order they run (the letters are issue #10's).
BENCHMARKS = ("hops", "lifecycles", "synflood", "memory", "tracecost", "longrun")
LETTERS = dict(zip("abcdef", BENCHMARKS, strict=True))


def load(name: str) -> ModuleType:
    """The module of benchmark ``name`` (it defines NAME, LETTER, TITLE, TIMED and run())."""
    if name not in BENCHMARKS:
        raise KeyError(name)
    return importlib.import_module(f"bench.{name}")


def resolve(spec: str) -> str:
    """A benchmark name from a name or its letter (``b`` or ``lifecycles``)."""
    spec = spec.strip().lower()
    if spec in LETTERS:
        return LETTERS[spec]
    if spec in BENCHMARKS:
        return spec
    known = ", ".join(f"{name} ({letter})" for letter, name in LETTERS.items())
    raise ValueError(f"unknown benchmark {spec!r} (known: {known})")
