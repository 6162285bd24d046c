"""The declared transition table: every edge is taken by some core test, and no undeclared one is.

This runs the rest of the core suite once more in-process with a recorder on
``Connection._set_state`` / ``Listener._set_state``, so it fails the moment an
edge stops being exercised.
"""

from __future__ import annotations

import pathlib

import pytest

from tcpsim.tcp import TRANSITIONS, State
from tcpsim.tcp.connection import Connection
from tcpsim.tcp.listener import Listener
from tcpsim.tcp.state import TransitionError

HERE = pathlib.Path(__file__).parent


def test_every_declared_edge_is_exercised(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: set[tuple[State, State]] = set()
    orig_c = Connection._set_state
    orig_l = Listener._set_state

    def rec_c(self: Connection, new: State, cause: str, rfc: str = "") -> None:
        seen.add((self.state, new))
        orig_c(self, new, cause, rfc)

    def rec_l(self: Listener, new: State, cause: str, rfc: str) -> None:
        seen.add((self.state, new))
        orig_l(self, new, cause, rfc)

    monkeypatch.setattr(Connection, "_set_state", rec_c)
    monkeypatch.setattr(Listener, "_set_state", rec_l)
    files = sorted(str(p) for p in HERE.glob("test_*.py") if p.name != "test_transitions.py")
    rc = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--no-header", *files])
    assert rc == 0
    missing = sorted((a.value, b.value) for a, b in set(TRANSITIONS) - seen)
    assert not missing, f"edges of the transition table no test takes: {missing}"


def test_undeclared_edge_raises() -> None:
    from tests.tcp.helpers import T

    t = T().established_active()
    with pytest.raises(TransitionError):
        t.c._set_state(State.LISTEN, "not an edge")


def test_table_has_every_state() -> None:
    states = {s for edge in TRANSITIONS for s in edge}
    assert states == set(State)
