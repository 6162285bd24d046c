"""The conformance suite: every script under linux/, windows-xp/ and rfc9293/
runs against a fresh simulated host with the profile its directory names.

Each script encodes the behaviour of the real system (Linux, or the letter of
the RFC, or Windows XP's documented defaults), not whatever tcpsim happens to
do; docs/conformance.md says what each one checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpsim.conform import run_file

SUITE = Path(__file__).resolve().parent
PROFILES = ("linux", "windows-xp", "rfc9293")
CASES = [(profile, path) for profile in PROFILES for path in sorted((SUITE / profile).glob("*.pkt"))]

# Scripts of the other profiles that show a difference: each must fail under linux.
# time-wait-rst-challenge.pkt is left out: tcpsim answers an in-window RST in
# TIME_WAIT with a challenge ACK under every profile (see docs/conformance.md).
DIFFERENCES = [(p, path) for p, path in CASES if p != "linux" and path.name != "time-wait-rst-challenge.pkt"]


@pytest.mark.parametrize(("profile", "path"), CASES, ids=[f"{p}/{path.name}" for p, path in CASES])
def test_script(profile: str, path: Path) -> None:
    outcome = run_file(path, profile=profile)
    assert outcome.passed, outcome.message
    assert outcome.warnings == [], "\n".join(outcome.warnings)


@pytest.mark.parametrize(("profile", "path"), DIFFERENCES, ids=[f"{p}/{path.name}" for p, path in DIFFERENCES])
def test_profile_difference_shows_under_linux(profile: str, path: Path) -> None:
    assert not run_file(path, profile="linux").passed


def test_suite_covers_enough() -> None:
    counts = {p: sum(1 for q, _ in CASES if q == p) for p in PROFILES}
    assert counts["linux"] >= 40, counts
    assert counts["windows-xp"] >= 2 and counts["rfc9293"] >= 2, counts


def test_every_script_is_documented() -> None:
    doc = (SUITE.parents[1] / "docs" / "conformance.md").read_text(encoding="utf-8")
    missing = [f"{p}/{path.name}" for p, path in CASES if f"`{p}/{path.name}`" not in doc]
    assert not missing, f"not listed in docs/conformance.md: {missing}"
