"""Profiles and knobs under their real names."""

import pathlib

import pytest

from tcpsim.tcp import make_config
from tcpsim.tcp.config import KnobError, profiles_markdown

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_linux_defaults_match_the_kernel() -> None:
    c = make_config("linux")
    assert (c.rto_initial, c.rto_min, c.rto_max) == (1.0, 0.2, 120.0)
    assert (c.syn_retries, c.syn_linear_timeouts, c.synack_retries) == (6, 4, 5)
    assert (c.time_wait, c.fin_timeout) == (60.0, 60.0)
    assert (c.keepalive_time, c.keepalive_intvl, c.keepalive_probes) == (7200.0, 75.0, 9)
    assert (c.retries2, c.orphan_retries, c.orphan_retry_count) == (15, 0, 8)
    assert (c.somaxconn, c.syncookies, c.local_port_range, c.init_cwnd) == (4096, 1, (32768, 60999), 10)


def test_overrides_use_real_names() -> None:
    c = make_config("linux", {"net.ipv4.tcp_syn_retries": 2, "net.ipv4.ip_local_port_range": "40000 40999",
                              "net.core.somaxconn": 128, "tcp_fin_timeout": 30})
    assert (c.syn_retries, c.local_port_range, c.somaxconn, c.fin_timeout) == (2, (40000, 40999), 128, 30.0)
    w = make_config("windows-xp", {"KeepAliveTime": 60000, "TcpTimedWaitDelay": 30})
    assert (w.keepalive_time, w.time_wait) == (60.0, 30.0)
    assert make_config("rfc9293", {"msl": 30}).time_wait == 60.0


@pytest.mark.parametrize(("knobs", "message"), [
    ({"net.ipv4.tcp_bogus": 1}, "unknown knob 'net.ipv4.tcp_bogus'"),
    ({"net.ipv4.tcp_syn_retries": -1}, "expected a value >= 0"),
    ({"net.ipv4.tcp_syn_retries": 0}, "expected a value >= 1 and <= 127, got 0"),
    ({"net.ipv4.tcp_syn_retries": 1.5}, "expected an integer"),
    ({"net.ipv4.ip_local_port_range": "5 2"}, "expected 'low high'"),
    ({"net.ipv4.tcp_timestamps": 3}, "expected 0/1"),
])
def test_bad_knobs_are_named(knobs: dict[str, object], message: str) -> None:
    with pytest.raises(KnobError, match=message):
        make_config("linux", knobs)


def test_unknown_profile() -> None:
    with pytest.raises(KnobError, match="unknown profile 'bsd'"):
        make_config("bsd")


def test_profile_reference_is_in_sync() -> None:
    assert (ROOT / "docs" / "profiles.md").read_text() == profiles_markdown()
