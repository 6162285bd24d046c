"""The scenario library: every built-in scenario, and every variant of it, meets its own expectations.

Each scenario is a lesson and a regression test at once: its ``expect:``
block encodes what RFC 9293 and Linux do, so a change to the stack that
breaks a lesson fails here, with the expectation's own words.
"""

from __future__ import annotations

import pytest

from tcpsim.scenario import builtin_scenarios, load, run_scenario

LIBRARY = builtin_scenarios()

# The lessons the issue asked for; others may be added, none of these may go.
REQUIRED = {
    "handshake-and-close", "half-close", "simultaneous-open", "simultaneous-close", "lost-final-ack",
    "lost-final-ack-no-time-wait", "lost-handshake-ack", "syn-flood", "syn-flood-backlog",
    "syn-flood-syncookies", "syn-flood-windows", "unreachable-server", "port-scan", "connection-refused",
    "peer-crash-keepalive", "peer-reboot", "vanishing-clients", "vanishing-clients-close-wait",
    "time-wait-exhaustion", "server-restart", "killed-load-tester", "ping-ttl", "traceroute",
    "lossy-transfer", "keepalive-icmp-unreachable", "firewall-reject", "stray-segments",
}


# Lessons told call by call by ``type: script`` apps (issue #16).
SCRIPTED = {
    "close-with-unread-data", "half-close-script", "tcp-traceroute", "linger-zero-close", "connect-refused-script",
    "user-timeout-abort", "nonblocking-connect",
}


def _runs() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for name, path in LIBRARY.items():
        out.append((name, None))
        out.extend((name, v) for v in load(path).variants)
    return out


def test_the_library_has_every_lesson() -> None:
    assert set(LIBRARY) >= REQUIRED | SCRIPTED, sorted((REQUIRED | SCRIPTED) - set(LIBRARY))


def test_scripted_lessons_are_scripts_that_check_their_calls() -> None:
    for name in SCRIPTED:
        apps = load(LIBRARY[name]).apps
        scripts = [a for a in apps if a.type == "script"]
        assert scripts, name
        assert any(step.expect is not None for a in scripts for step in a.steps), name  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "variant"), _runs(), ids=lambda x: x if x else "")
def test_scenario_meets_its_expectations(name: str, variant: str | None) -> None:
    scenario = load(LIBRARY[name], variant=variant)
    assert scenario.description and scenario.lesson, "every scenario says what it shows and why"
    assert scenario.expect, "every scenario states what it must show"
    built = run_scenario(scenario, variant=variant).built
    failed = [f"{o.text}: {o.observed}" for o in built.outcomes or [] if not o.passed]
    assert failed == []


def test_unreachable_server_timeouts_per_profile() -> None:
    """The numbers the lesson quotes: 131 s (Linux), 127 s (older Linux), 21 s (Windows XP)."""
    path = LIBRARY["unreachable-server"]
    for variant, expected in ((None, 131.0), ("linux-classic", 127.0), ("windows-xp", 21.0)):
        results = run_scenario(load(path, variant=variant)).built.app("client").results()
        assert [e["errno"] for e in results["errors"]] == ["ETIMEDOUT"]
        assert results["errors"][0]["t"] == pytest.approx(expected, abs=0.01)
