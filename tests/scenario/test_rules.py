"""Filter rules, crafted segments and packet-field expectations in scenarios: errors and behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tcpsim.scenario import ScenarioError, load_text, run_scenario

TOPO = "name: x\nhosts:\n  client: {}\n  server: {}\nrouters:\n  r1:\n    rules:\n"

BAD = [
    ('action', TOPO + "      - {match: {dport: 81}, action: refuse}\n",
     "bad.yaml:8: routers.r1.rules[0].action: expected one of: accept, drop, reject; got 'refuse'"),
    ('with-no-reject', TOPO + "      - {match: {dport: 81}, action: drop, with: tcp-reset}\n",
     'bad.yaml:8: routers.r1.rules[0]: with: only goes with action: reject, not drop'),
    ('bad-with', TOPO + "      - {match: {dport: 81}, action: reject, with: port-unreach}\n",
     "bad.yaml:8: routers.r1.rules[0].with: expected one of: net-unreachable, host-unreachable, proto-unreachable, port-unreachable, net-prohibited, host-prohibited, admin-prohibited, tcp-reset; got 'port-unreach'"),
    ('reset-non-tcp', TOPO + "      - {match: {src: client}, action: reject, with: tcp-reset}\n",
     'bad.yaml:8: routers.r1.rules[0]: with: tcp-reset needs a match on TCP (proto: tcp, a port or flags), as iptables refuses it for other protocols'),
    ('cidr', TOPO + "      - {match: {src: 10.0.0.0/33}, action: drop}\n",
     "bad.yaml:8: routers.r1.rules[0].match.src: expected an IPv4 address, a network such as 203.0.113.0/24, or a host or router name, got '10.0.0.0/33'"),
    ('ports', TOPO + "      - {match: {dport: 90-80}, action: drop}\n",
     "bad.yaml:8: routers.r1.rules[0].match.dport: expected a port 1..65535 or a range such as '1000-2000', got '90-80'"),
    ('node', TOPO + "      - {match: {dst: srv}, action: drop}\n",
     "bad.yaml:8: routers.r1.rules[0].match.dst: unknown node 'srv' (expected an IPv4 address, a network such as 203.0.113.0/24, or a host or router name; nodes: client, r1, server)"),
    ('dup', TOPO + "      - {name: a, action: drop}\n      - {name: a, action: accept}\n",
     "bad.yaml:9: routers.r1.rules[1].name: duplicate rule name 'a' (rule 1 has it)"),
    ('icmp-port', TOPO + "      - {match: {proto: icmp, dport: 1}, action: drop}\n",
     'bad.yaml:8: routers.r1.rules[0].match: proto: icmp cannot be combined with dport (those are TCP criteria)'),
    ('match-key', TOPO + "      - {match: {port: 80}, action: drop}\n",
     "bad.yaml:8: routers.r1.rules[0].match.port: unknown key 'port' (did you mean 'sport'? expected one of: dport, dst, flags, proto, sport, src)"),
    ('set_rules-router', TOPO + "      []\nevents:\n  - {at: 1s, set_rules: {router: r2, rules: []}}\n",
     "bad.yaml:10: events[0].set_rules.router: unknown router 'r2' (expected one of: r1)"),
    ('set_rules-both', TOPO + "      []\nevents:\n  - {at: 1s, set_rules: {router: r1, host: client, rules: []}}\n",
     'bad.yaml:10: events[0].set_rules: expected exactly one of router: and host: (whose rules change)'),
    ('inject-none', TOPO + "      []\nevents:\n  - {at: 1s, inject: {from: client, flags: A}}\n",
     'bad.yaml:10: events[0].inject: expected exactly one of to: (an address and port) and conn: (an existing connection)'),
    ('inject-word', TOPO + "      []\nevents:\n  - {at: 1s, inject: {from: client, to: 'server:80', flags: R, seq: next}}\n",
     "bad.yaml:10: events[0].inject: seq: 'next' needs conn: (the connection it is relative to)"),
    ('inject-target', TOPO + "      []\nevents:\n  - {at: 1s, inject: {from: client, to: server, flags: R}}\n",
     "bad.yaml:10: events[0].inject.to: expected HOST:PORT or ADDRESS:PORT, e.g. 'server:80', got 'server'"),
    ('inject-flags', TOPO + "      []\nevents:\n  - {at: 1s, inject: {from: client, to: 'server:80', flags: '=R'}}\n",
     "bad.yaml:10: events[0].inject.flags: expected the flags to set, without '=' or '+', got '=R'"),
    ('inject-from', TOPO + "      []\nevents:\n  - {at: 1s, inject: {from: r1, to: 'server:80', flags: R}}\n",
     "bad.yaml:10: events[0].inject.from: unknown host 'r1' (expected one of: client, server)"),
    ('inject-seqword', TOPO + "      []\nevents:\n  - {at: 1s, inject: {conn: 'client:*>server:80', from: client, flags: R, seq: nxt}}\n",
     "bad.yaml:10: events[0].inject.seq: expected a number, or with conn: next, una, next+N, next-N, una+N or una-N, got 'nxt'"),
    ('at', TOPO + "      []\nexpect:\n  - {packet: {flags: R, at: '1s ~ 5ms'}, count: 1}\n",
     "bad.yaml:10: expect[0].packet.at: expected a time such as 1.028s, or with a tolerance: '1.028s ± 25ms' (or '1.028s +- 25ms'), got '1s ~ 5ms'"),
    ('options', TOPO + "      []\nexpect:\n  - {packet: {flags: S, options: [mss, window]}}\n",
     "bad.yaml:10: expect[0].packet.options: expected TCP options in tcpdump's form, e.g. 'mss 1460,sackOK,TS,nop,wscale 7', or a list of option names to require, from: mss, sackOK, TS, nop, wscale, sack, eol; got a list"),
    ('nth', TOPO + "      []\nexpect:\n  - {packet: {flags: S}, nth: 2}\n",
     'bad.yaml:10: expect[0]: nth: needs a field to check in packet: (seq, ack, abs_seq, abs_ack, win, len, ttl, options, to_port, from_port, at)'),
    ('times-count', TOPO + "      []\nexpect:\n  - {packet: {flags: S}, times: [0, 1], count: 2}\n",
     'bad.yaml:10: expect[0]: times: compares every matching packet; it goes without count: and nth:'),
    ('seq-neg', TOPO + "      []\nexpect:\n  - {packet: {flags: R, seq: -1}}\n",
     'bad.yaml:10: expect[0].packet.seq: expected a value >= 0, got -1'),
    ('queue-none', TOPO + "      []\nexpect:\n  - {at: 2s, host: server, listener: 80}\n",
     'bad.yaml:10: expect[0]: expected syn_queue:, accept_queue: or both (the lengths to check)'),
    ('queue-port', TOPO + "      []\nexpect:\n  - {at: 2s, host: server, listener: 0, syn_queue: 1}\n",
     'bad.yaml:10: expect[0].listener: expected a value >= 1, got 0'),
    ('queue-host', TOPO + "      []\nexpect:\n  - {at: 2s, host: srv, listener: 80, syn_queue: 1}\n",
     "bad.yaml:10: expect[0].host: unknown node 'srv' (expected one of: client, r1, server)"),
    ('recvq-conn', TOPO + "      []\nexpect:\n  - {at: 2s, host: server, conn: '*:80', recv_q: 1}\n",
     "bad.yaml:10: expect[0].conn: expected a connection such as 'client:*>server:80' or 'client:*->server:80' (host name or address, ':', port; '*' for any; '*:80<-*' names the remote end second), got '*:80'"),
    ('recvq-range', TOPO + "      []\nexpect:\n  - {at: 2s, host: server, conn: '*:80<-*', send_q: 'lots'}\n",
     "bad.yaml:10: expect[0].send_q: expected a number or a range such as 3, '>= 3', '< 10' or '2..5', got 'lots'"),
    ('recvq-at', TOPO + "      []\nexpect:\n  - {host: server, conn: '*:80<-*', recv_q: 1}\n",
     'bad.yaml:10: expect[0].at: missing required key'),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_spellings_are_one_located_line(name: str, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "bad.yaml")
    assert str(info.value) == expected


def test_validate_exits_2_with_the_located_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD[0][1])
    proc = subprocess.run([sys.executable, "-m", "tcpsim", "validate", str(path)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(BAD[0][2].split(":", 1)[1]) and "Traceback" not in proc.stderr


NET = """
name: t
until: 5s
hosts:
  client: {address: 192.0.2.1}
  server: {address: 198.51.100.1}
routers:
  r1: {}
links:
  - {a: client, b: r1, delay: 5ms}
  - {a: r1, b: server, delay: 5ms}
"""


def run(text: str) -> object:
    return run_scenario(load_text(NET + text, "t.yaml"))


def outcomes(result: object) -> list[tuple[bool, str, str]]:
    return [(o.passed, o.text, o.observed) for o in result.built.outcomes]  # type: ignore[attr-defined]


def test_set_rules_changes_the_verdict_from_its_time_on_and_hits_are_counted() -> None:
    result = run("""
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: early, host: client, dst: server, start: 0.5s}
  - {type: tcp-client, name: late, host: client, dst: server, start: 1.5s}
events:
  - {at: 1s, set_rules: {router: r1, rules: [{name: web, match: {dport: 80, flags: "=S"}, action: reject, with: tcp-reset}]}}
expect:
  - {app: early, result: connections_made, value: 1}
  - {app: late, error: ECONNREFUSED, at: 1.51s}
""")
    assert all(ok for ok, _, _ in outcomes(result))
    summary = result.summary()  # type: ignore[attr-defined]
    assert summary["rules"] == {"r1": {"web": {"rule": "tcp dport 80 flags [=S] -> reject with tcp-reset", "hits": 1}}}
    assert summary["routers"]["r1"]["counters"]["dropped"] == {"rule web: reject tcp-reset": 1}
    events = [r for r in result.built.sim.trace.records if r[1] == "node" and r[3] == "set-rules"]  # type: ignore[attr-defined]
    assert [(r[0], r[2], r[4]) for r in events] == [(1.0, "r1", "web: tcp dport 80 flags [=S] -> reject with tcp-reset")]


def test_host_rules_drop_what_arrives_for_the_host() -> None:
    text = (NET + """
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: user, host: client, dst: server}
expect:
  - {app: user, result: connections_made, value: 0}
""").replace("  server: {address: 198.51.100.1}",
             "  server: {address: 198.51.100.1, rules: [{match: {src: client}, action: drop}]}")
    result = run_scenario(load_text(text, "t.yaml"))
    assert all(o.passed for o in result.built.outcomes or [])
    # The SYN at 0 and its retransmissions at 1, 2, 3 and 4 s, each dropped on arrival.
    assert result.built.sim.trace.counters[("server", "rule:1")] == 5
    assert result.built.sim.host("server").dropped == {"rule 1: drop": 5}


def _sent_by(result: object, node: str, after: float) -> list[object]:
    return [r[4] for r in result.built.sim.trace.records  # type: ignore[attr-defined]
            if r[1] == "pkt" and r[3] == "send" and r[2] == node and r[0] >= after]


def test_inject_numbers_relative_to_the_connection() -> None:
    result = run("""
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: user, host: client, dst: server, finish: hold}
events:
  - {at: 2s, inject: {conn: "client:*->server:80", from: client, flags: "A", seq: 1, ack: 1, win: 7}}
  - {at: 3s, inject: {conn: "server:80<-client:*", from: client, flags: "A", seq: "next-1", ack: "next+5"}}
  - {at: 4s, inject: {conn: "client:*>server:80", from: server, flags: "PA", seq: una, len: 3}}
""")
    sim = result.built.sim  # type: ignore[attr-defined]
    cstack, sstack = sim.host("client").tcp, sim.host("server").tcp
    [c] = list(cstack.conns.values())
    [s] = [x for x in sstack.conns.values()]
    a, b, d = (p.payload for p in _sent_by(result, "client", 2.0)[:1] + _sent_by(result, "client", 3.0)[:1]
               + _sent_by(result, "server", 4.0)[:1])
    assert (a.seq, a.ack, a.window, a.flags) == ((c.iss + 1) % 2**32, (c.irs + 1) % 2**32, 7, 0x10)
    # RCV.NXT moved on by the 3 bytes injected at 4 s.
    assert (b.seq, b.ack, b.window) == ((c.snd_nxt - 1) % 2**32, (c.rcv_nxt - 3 + 5) % 2**32, 65535)
    assert (d.sport, d.seq, d.payload) == (80, s.snd_una, b"xxx")


def test_inject_to_no_connection_sends_nothing_and_says_so() -> None:
    result = run("""
events:
  - {at: 1s, inject: {conn: "client:*->server:80", from: client, flags: "R"}}
""")
    assert _sent_by(result, "client", 0.0) == []
    notes = [r[4] for r in result.built.sim.trace.records if r[1] == "node" and r[3] == "inject"]  # type: ignore[attr-defined]
    assert notes == ["no connection matches client:*->server:80: nothing sent"]


def test_packet_fields_pass_and_a_failure_shows_both_values() -> None:
    result = run("""
apps:
  - {type: tcp-server, name: web, host: server}
  - {type: tcp-client, name: user, host: client, dst: server}
expect:
  - {packet: {from: client, flags: "=S", options: "mss 1460,sackOK,TS,nop,wscale 7", ttl: 63, at: 0}, count: 1}
  - {packet: {from: server, flags: "S.", options: [mss, wscale], win: 64240, to_port: 54606}}
  - {packet: {from: client, flags: "=.", ack: 1, len: 0, at: "20ms ± 1ms"}, nth: 1}
  - {packet: {from: client, flags: "P.", seq: 1, len: 100, win: 502}}
  - {packet: {from: client, flags: "=."}, times: [0.02, 0.04, 0.06]}
  - {packet: {from: client, flags: "=.", win: 1}, nth: 1}
  - {packet: {from: client, flags: "=.", win: 1}, nth: 9}
  - {packet: {from: client, flags: "P."}, times: [0.03], tolerance: 5ms}
  - {packet: {from: client, flags: "=S", options: "mss 1460,TS,nop,wscale 7"}, count: 1}
""")
    got = outcomes(result)
    for ok, text, observed in got[:5]:
        assert ok, (text, observed)
    assert got[5][:2] == (False, "the 1st packet flags [=.] from client has win 1")
    assert got[5][2].startswith("win 502 (0.020 192.0.2.1.54606 > 198.51.100.1.80 [.])")
    assert got[6] == (False, "the 9th packet flags [=.] from client has win 1", "only 3 such packet(s) sent")
    assert got[7] == (False, "packets flags [P.] from client sent at 0.03 s (± 5 ms)", "1 sent, at 0.02 s")
    assert got[8][0] is False and "the first without the fields had options [mss 1460,sackOK,TS val 0 ecr 0" in got[8][2]


QUEUES = """
apps:
  - {type: tcp-server, name: web, host: server, backlog: 8, worker_limit: 1, delay: 10s}
  - {type: tcp-client, name: users, host: client, dst: server, count: 3, finish: hold}
"""


def test_queue_samples_are_recorded_only_when_an_expectation_reads_them() -> None:
    plain = run(QUEUES)
    assert [r for r in plain.built.sim.trace.records if r[1] == "sample"] == []  # type: ignore[attr-defined]
    result = run(QUEUES + """expect:
  - {at: 1s, host: server, listener: 80, syn_queue: 0, accept_queue: 2}
  - {at: 1s, host: server, conn: "*:80<-*", recv_q: 200}
  - {at: 1s, host: server, conn: "*:80<-*", recv_q: 300}
  - {at: 0.012s, host: server, listener: 80, syn_queue: 3, accept_queue: 0}
""")
    got = outcomes(result)
    assert [ok for ok, _, _ in got] == [True, True, False, True]
    assert got[2][1:] == ("at 1 s, server's connections matching *:80<-* have Recv-Q 300 bytes",
                          "Recv-Q 200 (3 connection(s) seen)")
    lst = [(r[0], r[4]) for r in result.built.sim.trace.records  # type: ignore[attr-defined]
           if r[1] == "sample" and r[3].endswith(">0.0.0.0:*")]
    assert lst[:2] == [(0.01, {"syn_queue": 1, "accept_queue": 0}), (0.01, {"syn_queue": 2, "accept_queue": 0})]
