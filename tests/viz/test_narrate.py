"""Narration: one sentence per state change, in English or Chinese, live or from a trace."""

from __future__ import annotations

import re
from pathlib import Path

import tcpsim
from tcpsim.net import Simulation
from tcpsim.trace.narrate import (
    _ZH_EDGES,
    _ZH_EXACT,
    format_time,
    narrate,
    narrate_record,
    translate_cause,
    watching,
)
from tcpsim.trace.records import Trace

REC = (3.021, "state", "server", "198.51.100.1:80>192.0.2.1:40000", "SYN_RECV", "ESTABLISHED",
       "ACK of our SYN-ACK received: handshake complete", "RFC 9293 §3.10.7.4")


def test_one_plain_line_per_change() -> None:
    assert narrate_record(REC) == ("3.021s server 198.51.100.1:80 SYN_RECV \u2192 ESTABLISHED: "
                                   "ACK of our SYN-ACK received: handshake complete (RFC 9293 §3.10.7.4)")
    assert format_time(0.0458256) == "0.045826s" and format_time(60.0) == "60.000s"


def test_chinese_by_cause_by_pattern_and_by_transition() -> None:
    assert narrate_record(REC, "zh") == ("3.021s server 198.51.100.1:80 SYN_RECV \u2192 ESTABLISHED："
                                         "收到对我方 SYN-ACK 的确认：三次握手完成（RFC 9293 §3.10.7.4）")
    assert translate_cause("RST received in FIN_WAIT1", "FIN_WAIT1", "CLOSED", "zh") == "在 FIN_WAIT1 状态收到 RST"
    assert translate_cause("keepalive: 9 probes unanswered", "ESTABLISHED", "CLOSED", "zh") == "保活：9 个探测报文无应答"
    # A cause nobody translated yet: the edge's meaning, then the English text.
    assert translate_cause("something new", "ESTABLISHED", "CLOSE_WAIT", "zh") == "收到 FIN，发送 ACK（something new）"
    assert translate_cause("something new", "X", "Y", "zh") == "something new"


def test_every_edge_of_the_table_has_a_chinese_meaning() -> None:
    from tcpsim.tcp.state import TRANSITIONS

    assert {(a.value, b.value) for a, b in TRANSITIONS} <= set(_ZH_EDGES)


def test_most_causes_in_the_core_have_a_translation() -> None:
    """A reminder, not a gate: the core gains causes faster than translators; fallback covers the rest."""
    root = Path(tcpsim.__file__).parent
    literals: set[str] = set()
    for sub in ("tcp", "net"):
        for path in (root / sub).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            literals.update(re.findall(r'_(?:set_state|delete|reset_and_close|enter_time_wait)\([^"]*"([^"{]+)"', text))
    assert literals, "found no cause literals: has the core's style changed?"
    covered = [c for c in literals if c in _ZH_EXACT]
    assert len(covered) >= 0.7 * len(literals), sorted(literals - set(_ZH_EXACT))


def test_narrate_a_whole_run_and_live_hooks(clean_run: Simulation) -> None:
    lines = list(narrate(clean_run.trace.records))
    assert len(lines) == sum(1 for r in clean_run.trace.records if r[1] == "state")
    assert lines[0].startswith("0.000s server 198.51.100.1:80 (listening) CLOSED \u2192 LISTEN")
    seen: list[tuple[object, ...]] = []
    with watching(seen.append):
        t = Trace()
        t.state(1.0, "h", "a:1>b:2", "CLOSED", "SYN_SENT", "c", "r")
    assert seen == [(1.0, "state", "h", "a:1>b:2", "CLOSED", "SYN_SENT", "c", "r")]
    assert Trace().state_hooks == []  # gone once the block ends
