"""The built-in scenario library: the repository's top-level ``scenarios/*.yaml``.

A built-in scenario is named by its file name without ``.yaml``; that name is
also what ``name:`` says inside (a test keeps them equal), so ``tcpsim run
ping-ttl`` and the ``runs/ping-ttl`` it writes agree.
"""

from __future__ import annotations

from pathlib import Path

import tcpsim
from tcpsim.scenario.errors import ScenarioError

__all__ = ["builtin_dirs", "builtin_scenarios", "resolve"]


def builtin_dirs() -> list[Path]:
    """Where built-in scenarios live: the source tree's ``scenarios/``, then packaged data."""
    package = Path(tcpsim.__file__).resolve().parent
    candidates = [package.parent / "scenarios", package / "data" / "scenarios"]
    return [d for d in candidates if d.is_dir()]


def builtin_scenarios() -> dict[str, Path]:
    """Name -> file for every built-in scenario, sorted by name (first directory wins)."""
    found: dict[str, Path] = {}
    for d in builtin_dirs():
        for path in sorted(d.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def resolve(spec: str) -> Path:
    """A scenario argument -> its file: an existing path, else a built-in's name."""
    path = Path(spec)
    if path.exists():
        return path
    builtins = builtin_scenarios()
    name = spec[:-5] if spec.endswith(".yaml") and "/" not in spec else spec
    if name in builtins:
        return _display(builtins[name])
    known = ", ".join(builtins) or "none found"
    raise ScenarioError(spec, "", f"no such file or built-in scenario (built-ins: {known})")


def _display(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (shorter errors)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
