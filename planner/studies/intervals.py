"""Percentiles with their error (issue 22, item 4): a distribution-free confidence interval for
each sampled percentile, from order statistics (no resampling, so no seed is needed and the
interval is the same on every engine).

For n independent samples sorted x(1) <= ... <= x(n), the true q-quantile lies between x(l) and
x(u) with probability P(l <= B <= u - 1), B ~ Binomial(n, q) (David & Nagaraja, "Order
Statistics", 2.5). l is the largest rank with P(B <= l - 1) <= (1 - c) / 2 and u the smallest
with P(B <= u - 1) >= 1 - (1 - c) / 2; when no such rank exists (too few samples for that
percentile) that end is None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

CONFIDENCE = 0.95
PERCENTILES = (10, 50, 90, 99)


def binomial_cdf(n: int, q: float) -> list[float]:
    """P(B <= k) for k = 0..n, B ~ Binomial(n, q) (log space: n of 100,000 is fine)."""
    if q <= 0 or q >= 1:
        return [float(q <= 0 or k == n) for k in range(n + 1)]
    lq, lp = math.log(q), math.log1p(-q)
    logs = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lq
            + (n - k) * lp for k in range(n + 1)]
    top = max(logs)
    pmf = np.exp(np.asarray(logs) - top)
    cdf = np.cumsum(pmf) / pmf.sum()
    return [float(v) for v in cdf]


def order_ranks(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) of the order statistics bounding the q-quantile (None: none)."""
    if n <= 0:
        return None, None
    tail = (1 - confidence) / 2
    cdf = binomial_cdf(n, q)  # cdf[k] = P(B <= k)
    lower = None
    for rank in range(1, n + 1):  # P(B <= rank - 1) <= tail
        if cdf[rank - 1] <= tail + 1e-12:
            lower = rank
        else:
            break
    upper = None
    for rank in range(1, n + 1):  # P(B <= rank - 1) >= 1 - tail
        if cdf[rank - 1] >= 1 - tail - 1e-12:
            upper = rank
            break
    return lower, upper


def quantile_interval(values: Sequence[float], q: float, confidence: float = CONFIDENCE
                      ) -> tuple[float | None, float | None]:
    """The confidence interval of the q-quantile of `values` (order statistics)."""
    data = np.sort(np.asarray(values, dtype=float))
    lower, upper = order_ranks(len(data), q, confidence)
    return (None if lower is None else float(data[lower - 1]),
            None if upper is None else float(data[upper - 1]))


def percentile_table(values: Sequence[float], confidence: float = CONFIDENCE
                     ) -> dict[str, dict[str, float | None]]:
    """Per percentile (p10, p50, p90, p99): value (numpy's linear interpolation), low, high."""
    data = np.asarray(values, dtype=float)
    out = {}
    for p in PERCENTILES:
        low, high = quantile_interval(data, p / 100, confidence) if len(data) else (None, None)
        out[f"p{p}"] = {"value": float(np.percentile(data, p)) if len(data) else None,
                        "low": low, "high": high}
    return out


def relative_half_width(row: dict[str, float | None]) -> float | None:
    """How far the interval reaches from the value, as a share of it (None: unbounded)."""
    value, low, high = row["value"], row["low"], row["high"]
    if value is None or low is None or high is None or value == 0:
        return None
    return max(value - low, high - value) / abs(value)


__all__ = ["CONFIDENCE", "PERCENTILES", "binomial_cdf", "order_ranks", "percentile_table",
           "quantile_interval", "relative_half_width"]
