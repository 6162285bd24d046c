"""Mean and Student-t confidence interval over replications, without a statistics library.

The two-sided 95% quantile of Student's t with ``df`` degrees of freedom is
found by bisection on the distribution function, itself the integral of the
density from 0 (Simpson's rule; the density is smooth and the interval
short, so 1000 panels give far more digits than a plot needs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["mean_ci", "t_quantile"]


def _t_pdf(x: float, df: int) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def _t_cdf_from_zero(x: float, df: int, panels: int = 1000) -> float:
    """P(0 <= T <= x) for x >= 0."""
    h = x / panels
    total = _t_pdf(0.0, df) + _t_pdf(x, df)
    for i in range(1, panels):
        total += (4 if i % 2 else 2) * _t_pdf(i * h, df)
    return total * h / 3


@lru_cache(maxsize=256)
def t_quantile(df: int, confidence: float = 0.95) -> float:
    """t such that P(-t <= T <= t) = confidence, T Student-t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be >= 1")
    target = confidence / 2
    lo, hi = 0.0, 1.0
    while _t_cdf_from_zero(hi, df) < target:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if _t_cdf_from_zero(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """(mean, half-width of the confidence interval, n); the half-width is 0 for fewer than 2 values."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, 0
    m = sum(values) / n
    if n < 2:
        return m, 0.0, n
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return m, t_quantile(n - 1, confidence) * math.sqrt(var / n), n
