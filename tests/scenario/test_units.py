"""Durations, bandwidths, sizes and probabilities as scenario authors write them."""

from __future__ import annotations

from typing import Any

import pytest

from tcpsim.scenario.units import parse_bandwidth, parse_duration, parse_probability, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (0, 0.0), (2, 2.0), (1.5, 1.5), ("30s", 30.0), ("5ms", 0.005), ("250us", 0.00025),
        ("2min", 120.0), ("1h", 3600.0), ("1.5 s", 1.5), (" 10ms ", 0.01), ("0.5", 0.5), ("1e-3s", 0.001),
    ],
)
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("-5ms", "expected a duration >= 0, got '-5ms'"),
        (-1, "expected a duration >= 0, got -1"),
        ("5 seconds", "unknown unit 'seconds' in '5 seconds'; expected a duration such as 5ms"),
        ("5MS", "unknown unit 'MS'"),
        ("fast", "expected a duration such as 5ms, 1.5s or 2min"),
        (True, "got true"),
        ([1], "got a list"),
        (float("nan"), "expected a duration"),
    ],
)
def test_bad_durations(text: Any, error: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse_duration(text)
    assert error in str(info.value)


def test_positive_durations_reject_zero() -> None:
    with pytest.raises(ValueError, match=r"expected a duration > 0, got '0s'"):
        parse_duration("0s", positive=True)


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        (1000, 1e3), ("10Mbit", 1e7), ("10mbit", 1e7), ("10Mbps", 1e7), ("64kbit", 64e3), ("64Kbps", 64e3),
        ("1Gbit", 1e9), ("2.5gbps", 2.5e9), ("9600bps", 9600.0), ("100 bit", 100.0),
    ],
)
def test_bandwidths_are_bits(text: Any, bps: float) -> None:
    assert parse_bandwidth(text) == pytest.approx(bps)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("10MB", "unknown unit 'MB' in '10MB'; expected a bandwidth such as 10Mbit"),
        ("10Mbyte", "unknown unit 'Mbyte'"),
        (0, "expected a bandwidth > 0 (leave it out or use null for unlimited), got 0"),
        ("-1Mbit", "expected a bandwidth > 0"),
    ],
)
def test_bad_bandwidths(text: Any, error: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_bandwidth(text)
    assert error in str(info.value)


@pytest.mark.parametrize(
    ("text", "size"),
    [(1500, 1500), ("1500B", 1500), ("64KB", 64000), ("1MB", 1_000_000), ("64KiB", 65536), ("1MiB", 1 << 20)],
)
def test_sizes(text: Any, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["1.5", "-1", "1kb", "12 bytes"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(("text", "p"), [(0, 0.0), (1, 1.0), (0.25, 0.25), ("5%", 0.05), ("100%", 1.0)])
def test_probabilities(text: Any, p: float) -> None:
    assert parse_probability(text) == pytest.approx(p)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (1.5, "expected a probability between 0 and 1, got 1.5"),
        (-0.1, "expected a probability between 0 and 1, got -0.1"),
        ("150%", "expected a probability between 0 and 1, got '150%'"),
        ("half", "expected a probability between 0 and 1 (or a percentage such as 5%), got 'half'"),
    ],
)
def test_bad_probabilities(text: Any, error: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_probability(text)
    assert str(info.value) == error
