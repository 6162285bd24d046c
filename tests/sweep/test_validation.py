"""Bad sweep files: one line, FILE:LINE: PATH: what was expected; exit 2; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import BASES, invoke, write

BASE = f"""\
scenario: {BASES / 'lossy-connect.yaml'}
replications: 2
grid:
  links.access.loss: [0.0, 0.1]
metrics:
  setup: mean(apps.users.results.connect_times)
"""

CASES = [
    # (what to change in BASE, the whole expected error after "sweep.yaml:")
    (("  links.access.loss: [0.0, 0.1]", "  profil: [linux]"),
     "4: grid.profil: unknown parameter 'profil' (the scenario's params: profile; or a path: hosts.HOST.sysctl.KNOB, "
     "hosts.HOST.profile, links.LINK.KEY, apps.APP.KEY, until)"),
    (("[0.0, 0.1]", "{from: 0.3, to: 0.1, step: 0.1}"),
     "4: grid['links.access.loss'].to: expected to >= from (0.3), got 0.1"),
    (("[0.0, 0.1]", "{from: 0, to: 0.3, step: 0}"),
     "4: grid['links.access.loss'].step: expected a step > 0, got 0"),
    (("[0.0, 0.1]", "{from: 0, to: 0.3}"),
     "4: grid['links.access.loss']: a range needs exactly one of step (from, from+step, ...), factor (from, "
     "from*factor, ...) or count (count values from..to)"),
    (("[0.0, 0.1]", "[0.0, 0.1, 0.0]"),
     "4: grid['links.access.loss'][2]: duplicate value 0.0 (already at index 0); use replications: to repeat runs"),
    (("mean(apps.users.results.connect_times)", "mean(apps.user.results.connect_times)"),
     "6: metrics.setup: unknown app 'user' (did you mean 'users'? expected one of: web, users)"),
    (("mean(apps.users.results.connect_times)", "apps.users.results.conect_time"),
     "6: metrics.setup: unknown result of a tcp-client app (see docs/summary.md) 'conect_time' "
     "(did you mean 'connect_times'? expected one of: dst, port, connections_made, connections_failed, requests, "
     "bytes_sent, bytes_received, connect_times, completion_times, completion_time, goodput_bps, errors, "
     "error_counts, starts, kills, connections)"),
    (("mean(apps.users.results.connect_times)", "__import__('os').getcwd()"),
     "6: metrics.setup: unknown function \"__import__('os').getcwd\" (expected one of: abs, coalesce, counter, "
     "error_count, first_error, float, get, in_state, int, len, log, log10, max, mean, median, min, peak, pluck, "
     "round, sqrt, str, sum, where)"),
    (("mean(apps.users.results.connect_times)", "mean(apps.users.results.connect_times) +"),
     "6: metrics.setup: not a valid expression: invalid syntax"),
    (("  links.access.loss: [0.0, 0.1]", "  hosts.srv.sysctl.net.ipv4.tcp_syncookies: [0, 1]"),
     "4: grid['hosts.srv.sysctl.net.ipv4.tcp_syncookies']: unknown "
     "host 'srv' (expected one of: client, server)"),
    (("  links.access.loss: [0.0, 0.1]", "  hosts.server.sysctl.net.ipv4.tcp_syncookie: [0, 1]"),
     "4: grid['hosts.server.sysctl.net.ipv4.tcp_syncookie']: "
     "unknown setting 'net.ipv4.tcp_syncookie' (did you mean 'net.ipv4.tcp_syncookies'? see docs/profiles.md for "
     "the knobs and their real names)"),
    (("  links.access.loss: [0.0, 0.1]", "  links.uplink.loss: [0.0, 0.1]"),
     "4: grid['links.uplink.loss']: unknown link 'uplink' (expected one of: access; or an "
     "index)"),
    (("  links.access.loss: [0.0, 0.1]", "  links.access.los: [0.0, 0.1]"),
     "4: grid['links.access.los']: expected links.access.KEY with KEY one of: bandwidth, delay, "
     "jitter, loss, gilbert, duplicate, reorder, reorder_delay, corrupt, queue, queue_bytes, mtu (optionally after "
     "a_to_b. or b_to_a.)"),
    # A swept value the scenario rejects: the sweep's line and parameter, then what the scenario said.
    (("[0.0, 0.1]", "[0.0, 1.5]"),
     "4: grid['links.access.loss'][1]: links.access.loss = 1.5 makes an invalid scenario: {base}:24: links[0].loss: "
     "expected a probability between 0 and 1, got 1.5"),
    (("  links.access.loss: [0.0, 0.1]", "  hosts.client.sysctl.net.ipv4.tcp_syn_retries: [3, -1]"),
     "4: grid['hosts.client.sysctl.net.ipv4.tcp_syn_retries'][1]: hosts.client.sysctl.net.ipv4.tcp_syn_retries = -1 "
     "makes an invalid scenario: {base}:20: hosts.client.sysctl['net.ipv4.tcp_syn_retries']: expected a value >= 0, "
     "got -1"),
    (("  links.access.loss: [0.0, 0.1]", "  profile: [linux, bsd]"),
     "4: grid.profile[1]: profile = 'bsd' makes an invalid scenario: {base}:20: hosts.client.profile: unknown "
     "profile 'bsd' (expected one of: linux, linux-classic, windows-xp, rfc9293, classroom) (from ${{profile}} = "
     "'bsd')"),
    (("replications: 2", "replicatons: 2"),
     "2: replicatons: unknown key 'replicatons' (did you mean 'replications'? expected one of: description, "
     "expectations, grid, metrics, name, replications, scenario, seed, seeds, set, trace, until, variant, zip)"),
    (("replications: 2", "replications: 0"), "2: replications: expected a value >= 1, got 0"),
    (("replications: 2", "trace: counters"),
     "2: trace: trace level 'counters' does not keep what metric 'peaks' reads; use states or higher, or leave "
     "trace: out to have it chosen"),
    (("replications: 2", "variant: fast"),
     "2: variant: the base scenario is not usable: {base}: --variant fast: no such variant (the scenario has: none)"),
]


@pytest.mark.parametrize(("change", "expected"), CASES, ids=[c[1].split(": ", 2)[1] + "-" + str(i)
                                                              for i, c in enumerate(CASES)])
def test_bad_sweep_is_one_line_exit_2_and_writes_nothing(in_tmp: Path, change: tuple[str, str], expected: str) -> None:
    text = BASE.replace(*change)
    assert text != BASE
    if "trace: counters" in text:
        text += "  peaks: peak('server', 'SYN_RECV')\n"
    path = write(in_tmp, text)
    result = invoke("sweep", str(path), "--out", "out")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    base = str(BASES / "lossy-connect.yaml")
    assert result.stderr == f"{path}:{expected.format(base=base)}\n"
    assert not (in_tmp / "out").exists()


def test_missing_file_and_bad_yaml(in_tmp: Path) -> None:
    result = invoke("sweep", "nope.yaml")
    assert (result.exit_code, result.stderr) == (2, "nope.yaml: no such file\n")
    path = write(in_tmp, "scenario: [oops\n")
    result = invoke("sweep", str(path))
    assert result.exit_code == 2 and result.stderr.startswith(f"{path}:2: invalid YAML:")
    assert "Traceback" not in result.output


def test_zip_lists_must_have_one_length(in_tmp: Path) -> None:
    text = BASE.replace("grid:\n  links.access.loss: [0.0, 0.1]",
                        "zip:\n  links.access.loss: [0.0, 0.1]\n  links.access.delay: [10ms, 20ms, 30ms]")
    result = invoke("sweep", str(write(in_tmp, text)), "--out", "out")
    assert result.exit_code == 2
    assert result.stderr.endswith(":5: zip['links.access.delay']: expected 2 values like 'links.access.loss' "
                                  "(zipped lists advance together), got 3\n")


def test_dry_run_says_what_would_run_and_writes_nothing(in_tmp: Path) -> None:
    text = BASE.replace("grid:\n  links.access.loss: [0.0, 0.1]",
                        "zip:\n  links.access.loss: [0.0, 0.1]\n  links.access.delay: [10ms, 20ms]\n"
                        "grid:\n  profile: [linux, windows-xp, rfc9293]")
    result = invoke("sweep", str(write(in_tmp, text)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"sweep: 6 combinations x 2 replications = 12 runs of {BASES / 'lossy-connect.yaml'} at trace level "
        "counters; parameters: links.access.loss (2 values), links.access.delay (2 values), profile (3 values); "
        "metrics: setup\n")
    assert list(in_tmp.iterdir()) == [in_tmp / "sweep.yaml"]


def test_jobs_and_dask_together_are_refused(in_tmp: Path) -> None:
    result = invoke("sweep", str(write(in_tmp, BASE)), "-j", "2", "--dask", "local:2")
    assert (result.exit_code, result.stderr) == (
        2, "--jobs and --dask: give one of them (with --dask local:N, N is the number of workers)\n")
    result = invoke("sweep", str(write(in_tmp, BASE)), "--dask", "nowhere", "--out", "out")
    assert (result.exit_code, result.stderr) == (
        2, "--dask nowhere: expected a scheduler address such as tcp://HOST:8786, or local:N for N local workers\n")


def test_a_scenario_given_as_a_sweep_is_named_for_what_it_is(in_tmp: Path) -> None:
    result = invoke("sweep", str(BASES / "lossy-connect.yaml"))
    assert result.exit_code == 2
    assert result.stderr == (f"{BASES / 'lossy-connect.yaml'}:19: hosts: this is a scenario, not a sweep file: a "
                             "sweep names its base scenario with scenario: and says what to vary and measure (see "
                             "docs/sweeps.md)\n")
