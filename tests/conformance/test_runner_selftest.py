"""The runner checks itself: scripts that must fail do fail, with the message
a user needs (line, what was expected, what happened, when); scripts that
cannot be parsed are refused with one ``file:line: what was expected`` line;
and the ``tcpsim conform`` command maps all that to exit codes 0, 1 and 2.

Each script in selftest/ states its expected message in its first line:
``// expect-fail: TEXT`` or ``// expect-parse-error: TEXT``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tcpsim.conform import ScriptError, parse_script, run_file, run_script
from tcpsim.conform.cli import conform
from tcpsim.conform.script import TimeKind

HERE = Path(__file__).resolve().parent
SELFTEST = sorted((HERE / "selftest").glob("*.pkt"))
PASSING = HERE / "linux" / "syn-sent-connect.pkt"


def _expectation(path: Path) -> tuple[str, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    kind, _, text = first.removeprefix("// ").partition(": ")
    assert kind in ("expect-fail", "expect-parse-error"), f"{path.name}: first line must state the expectation"
    return kind, text


@pytest.mark.parametrize("path", SELFTEST, ids=[p.name for p in SELFTEST])
def test_selftest_script_fails_with_its_message(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)  # messages name the file as given
    kind, text = _expectation(path)
    if kind == "expect-parse-error":
        with pytest.raises(ScriptError) as info:
            run_file(path.name)
        assert text in str(info.value)
        assert "\n" not in str(info.value)
    else:
        outcome = run_file(path.name)
        assert not outcome.passed
        assert text in outcome.message, outcome.message


def test_selftest_covers_the_required_failures() -> None:
    names = {p.name for p in SELFTEST}
    for required in ("wrong-flag.pkt", "wrong-time.pkt", "missing-packet.pkt", "wrong-errno.pkt", "wrong-return.pkt"):
        assert required in names


# -- the command ---------------------------------------------------------------


def test_cli_exit_0_when_all_pass() -> None:
    result = CliRunner().invoke(conform, [str(PASSING)])
    assert result.exit_code == 0, result.output
    assert f"PASS {PASSING}" in result.stdout
    assert "1 script: 1 passed, 0 failed (profile linux)" in result.stdout


def test_cli_exit_1_and_first_mismatch_when_one_fails() -> None:
    bad = HERE / "selftest" / "wrong-flag.pkt"
    result = CliRunner().invoke(conform, [str(PASSING), str(bad)])
    assert result.exit_code == 1
    assert f"FAIL {bad}:5: bad outbound TCP flags: expected S. but got R." in result.stdout
    assert "2 scripts: 1 passed, 1 failed" in result.stdout


def test_cli_exit_2_with_one_line_for_a_script_that_cannot_be_parsed() -> None:
    bad = HERE / "selftest" / "parse-no-win.pkt"
    result = CliRunner().invoke(conform, [str(bad), str(PASSING)])
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert errors == [f"{bad}:2: expected 'win N' on an inbound packet (packetdrill requires the window of injected packets)"]
    assert f"PASS {PASSING}" in result.stdout  # the others still ran


def test_cli_missing_file_is_a_parse_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(conform, [str(tmp_path / "nope.pkt")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{tmp_path / 'nope.pkt'}: expected a readable script file")


def test_cli_profile_and_verbose() -> None:
    xp = HERE / "windows-xp" / "syn-timeout.pkt"
    result = CliRunner().invoke(conform, ["--profile", "windows-xp", "--verbose", str(xp)])
    assert result.exit_code == 0, result.output
    assert "host sent > S 0:0(0) win 17520 <mss 1460,sackOK>" in result.stdout
    assert "SYN_SENT -> CLOSED" in result.stdout
    assert CliRunner().invoke(conform, ["--profile", "nonesuch", str(xp)]).exit_code == 2


def test_cli_prints_warnings_for_what_it_ignores(tmp_path: Path) -> None:
    script = tmp_path / "w.pkt"
    script.write_text("--some_flag=3\n`../common/defaults.sh`\n`sysctl -q net.ipv4.tcp_ecn=1`\n"
                      "0 < S 0:0(0) win 100\n+0 > R. 0:0(0) ack 1\n")
    result = CliRunner().invoke(conform, [str(script)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{script}:1: warning: option --some_flag ignored")
    assert lines[1] == f"{script}:2: warning: command `../common/defaults.sh` ignored (only sysctl settings are understood)"
    assert lines[2] == f"{script}:3: warning: sysctl net.ipv4.tcp_ecn=1 ignored (tcpsim has no such knob)"


# -- syntax details ----------------------------------------------------------------


def _run(text: str, profile: str = "linux") -> str:
    outcome = run_script(parse_script(text, "t.pkt"), profile=profile)
    return "" if outcome.passed else outcome.message


HANDSHAKE = """
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460>
"""


def test_tolerance_option() -> None:
    late = HANDSHAKE + "+0.01 > S. 0:0(0) ack 1 <mss 1460>\n"
    assert "timing error: expected outbound packet at 0.110000 s but it happened at 0.100000 s" in _run(late)
    assert _run("--tolerance_usecs=20000\n" + late) == ""


def test_mss_option_sets_the_announced_mss() -> None:
    assert _run("--mss=1000\n" + HANDSHAKE + "+0 > S. 0:0(0) ack 1 <mss 1000>\n") == ""


def test_set_sysctls_py_and_sysctl_forms() -> None:
    text = """`set_sysctls.py /proc/sys/net/ipv4/tcp_syn_retries=1 /proc/sys/net/ipv4/tcp_syn_linear_timeouts=0`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0...3 connect(3, ..., ...) = -1 ETIMEDOUT (Connection timed out)
0 > S 0:0(0) <...>
1 > S 0:0(0) <...>
"""
    assert _run(text) == ""
    assert _run(text.replace("`set_sysctls.py /proc/sys/net/ipv4/tcp_syn_retries=1 /proc/sys/net/ipv4/tcp_syn_linear_timeouts=0`",
                             "`sysctl -q net.ipv4.tcp_syn_retries=1; sysctl -w net.ipv4.tcp_syn_linear_timeouts=0`")) == ""


def test_any_time_and_ranges() -> None:
    base = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n" \
           "+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n+0 > S 0:0(0) <...>\n"
    assert _run(base + "* > S 0:0(0) <...>\n") == ""
    assert _run(base + "0.9~1.1 > S 0:0(0) <...>\n") == ""
    assert _run(base + "+0.9~+1.1 > S 0:0(0) <...>\n") == ""
    assert "in 1.500000~1.600000 s" in _run(base + "1.5~1.6 > S 0:0(0) <...>\n")


def test_comments_and_code_blocks_are_ignored() -> None:
    text = """/* a comment
spanning lines */ 0 < S 0:0(0) win 65535   // trailing
%{
assert tcpi_state == 1
}%
+0 > R. 0:0(0) ack 1 /* inline */
"""
    script = parse_script(text, "t.pkt")
    assert [e.line for e in script.events] == [2, 6]
    assert _run(text) == ""


def test_time_column_parsing() -> None:
    script = parse_script("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+.1...0.2 connect(3, ..., ...) = 0\n"
                          "* > S 0:0(0) <...>\n1.0~1.2 > S 0:0(0) <...>\n", "t.pkt")
    kinds = [e.when.kind for e in script.events]
    assert kinds == [TimeKind.ABSOLUTE, TimeKind.RELATIVE, TimeKind.ANY, TimeKind.ABSOLUTE_RANGE]
    call = script.events[1].action
    assert script.events[1].when.start == pytest.approx(0.1) and getattr(call, "end", None) == pytest.approx(0.2)


def test_explicit_ports_unwatched_packets_are_ignored() -> None:
    # Two peers; the script only watches 1001, so the reset sent to 2002 is not its business.
    text = HANDSHAKE.replace("+0.1 < S 0:0(0) win 65535 <mss 1460>\n", "") + \
        "+0.1 < 1001>8080 S 0:0(0) win 65535 <mss 1460>\n+0 > 8080>1001 S. 0:0(0) ack 1 <mss 1460>\n" \
        "+0.1 < 1001>8080 . 1:1(0) ack 1 win 65535\n+0 accept(3, ..., ...) = 4\n"
    assert _run(text) == ""
