"""Running a scenario and writing what it produced.

A run directory holds ``trace.jsonl`` (every record), ``packets.txt`` (the
tcpdump view) and ``summary.json`` (the documented digest). It is written
all-or-nothing: files go to a temporary sibling directory that replaces the
target only once everything is written, so a crash or a full disk never leaves
a half-written run that a later script would mistake for a real one.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpsim.scenario.build import Built, build
from tcpsim.scenario.errors import Document
from tcpsim.scenario.model import Scenario
from tcpsim.trace.summary import build_summary
from tcpsim.trace.tcpdump import tcpdump_lines

__all__ = ["OUTPUT_FILES", "OutputError", "RunResult", "run_scenario", "write_run_dir"]

# What a run directory may contain. An existing directory holding anything
# else is not ours, and is never replaced (think ``--out ~``).
OUTPUT_FILES = ("trace.jsonl", "packets.txt", "summary.json")

# The views written after a run (figures, pcaps, report.html: tcpsim.viz.views) are listed
# in this file of the run directory; what it lists is ours to replace too.
VIEWS_MANIFEST = ".tcpsim-views"


def _ours(out_dir: Path) -> set[str]:
    names = set(OUTPUT_FILES)
    manifest = out_dir / VIEWS_MANIFEST
    if manifest.is_file():
        names.add(VIEWS_MANIFEST)
        names.update(n for n in manifest.read_text(encoding="utf-8").split("\n") if n and "/" not in n)
    return names


class OutputError(Exception):
    """The run directory cannot be written: ``refused`` when it is not ours to replace
    (bad input), otherwise the operating system said no."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass
class RunResult:
    """A finished run: the built simulation and views of its trace."""

    built: Built
    variant: str | None = None

    @property
    def scenario(self) -> Scenario:
        return self.built.scenario

    def summary(self) -> dict[str, Any]:
        b = self.built
        return build_summary(
            b.sim.trace,
            scenario=b.scenario.name,
            seed=b.seed,
            end_time=b.sim.now,
            hosts=b.plan.hosts,
            routers=b.router_addresses,
            apps={a.name: {"type": a.type, "host": a.host, "results": a.results()} for a in b.apps},
            extra={
                "variant": self.variant,
                "params": dict(b.scenario.params),
                "faults": b.faults.results() if b.faults is not None else {},
                "rules": b.rule_results(),
                "expectations": [o.to_json() for o in b.outcomes or []],
                "passed": b.passed,
            },
        )

    def packet_lines(self, *, absolute: bool = False) -> list[str]:
        trace = self.built.sim.trace
        if not trace.keep_packets:
            level = trace.level.name.lower()
            return [f"# trace level '{level}' keeps no packets; set trace: packets (or full) to see them here"]
        return list(tcpdump_lines(trace.records, absolute=absolute))

    def files(self) -> dict[str, str]:
        """File name -> full text, for every output file."""
        trace_text = io.StringIO()
        self.built.sim.trace.write_jsonl(trace_text)
        lines = self.packet_lines()
        return {
            "trace.jsonl": trace_text.getvalue(),
            "packets.txt": "\n".join(lines) + ("\n" if lines else ""),
            "summary.json": json.dumps(self.summary(), indent=2, allow_nan=False) + "\n",
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write every output file into ``out_dir`` atomically; returns their paths."""
        return write_run_dir(Path(out_dir), self.files())


def run_scenario(scenario: Scenario, *, seed: int | None = None, until: float | None = None,
                 doc: Document | None = None, variant: str | None = None) -> RunResult:
    """Build and run ``scenario`` (expectations checked); ``seed``/``until`` override the file's values.

    ``variant`` only labels the result: the scenario was loaded with its values already.
    """
    return RunResult(build(scenario, seed=seed, until=until, doc=doc).run(), variant)


def write_run_dir(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Replace ``out_dir`` by a directory holding exactly ``files``, all at once.

    The new directory is complete before it is renamed into place; the old
    one (if any) is moved aside first and deleted last. Refuses to replace a
    directory holding anything but earlier run outputs.
    """
    if out_dir.exists():
        if not out_dir.is_dir():
            raise OutputError(f"{out_dir}: exists and is not a directory", refused=True)
        ours = _ours(out_dir)
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in ours)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputError(
                f"{out_dir}: refusing to replace a directory holding files tcpsim did not write ({shown})",
                refused=True,
            )
    parent = out_dir.parent
    tag = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp = parent / f".{out_dir.name}.{tag}.tmp"
    old = parent / f".{out_dir.name}.{tag}.old"
    moved_old = False
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()  # mode 0o777 & ~umask, like any directory the user makes
        for name, text in files.items():
            with open(tmp / name, "w", encoding="utf-8", newline="\n") as fp:
                fp.write(text)
                fp.flush()
                os.fsync(fp.fileno())
        if out_dir.exists():
            out_dir.rename(old)
            moved_old = True
        tmp.rename(out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if moved_old and not out_dir.exists():
            old.rename(out_dir)  # put the previous run back
            moved_old = False
        if isinstance(exc, OSError):
            raise OutputError(f"{out_dir}: cannot write: {exc.strerror or exc}") from None
        raise
    finally:
        if moved_old:
            shutil.rmtree(old, ignore_errors=True)
    return [out_dir / name for name in files]
