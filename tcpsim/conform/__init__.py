"""Conformance: packetdrill-style scripts run against the simulated stack.

A script plays the remote peer of one simulated host: it injects segments,
makes system calls on the host's sockets, and states the exact segments the
host must send and when. ``run_file`` parses and runs one script and returns
an :class:`Outcome` whose message names the first mismatch (line, what was
expected, what happened instead, and when). The ``tcpsim conform`` command
(``tcpsim.conform.cli``) runs many. ``docs/conformance.md`` lists the syntax.
"""

from __future__ import annotations

from pathlib import Path

from tcpsim.conform.runner import LOCAL_ADDR, REMOTE_ADDR, Outcome, run_script
from tcpsim.conform.script import Script, ScriptError, parse_file, parse_script

__all__ = [
    "LOCAL_ADDR", "REMOTE_ADDR", "Outcome", "Script", "ScriptError",
    "parse_file", "parse_script", "run_file", "run_script",
]


def run_file(path: str | Path, profile: str = "linux", verbose: bool = False) -> Outcome:
    """Parse and run one script; raises :class:`ScriptError` if it cannot be parsed."""
    return run_script(parse_file(path), profile=profile, verbose=verbose)
