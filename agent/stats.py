"""Statistics of evaluation results, shared by the learner's graduation checks (:mod:`agent.evaluation`) and
the battery's reports (``python -m tools.evaluate``)."""

from __future__ import annotations

import math


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    if n <= 0:
        raise ValueError("the Wilson interval needs at least one episode")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` (e.g. one figure per training seed) and its Student-t interval: (mean, low, high).
    One value has no spread: its interval is (nan, nan)."""
    from scipy import stats
    n = len(values)
    if n == 0:
        raise ValueError("the mean of no values is undefined")
    mean = sum(values) / n
    if n == 1:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def difference_interval(a: list[float], b: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``a`` minus mean of ``b`` (independent samples, e.g. two arms' seeds) with Welch's t interval:
    (difference, low, high). Two samples without spread give a zero-width interval."""
    from scipy import stats
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's interval needs at least 2 values per sample, got {len(a)} and {len(b)}")
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((v - ma) ** 2 for v in a) / (len(a) - 1) / len(a)
    vb = sum((v - mb) ** 2 for v in b) / (len(b) - 1) / len(b)
    if va + vb == 0:
        return ma - mb, ma - mb, ma - mb
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * math.sqrt(va + vb)
    return ma - mb, ma - mb - half, ma - mb + half
