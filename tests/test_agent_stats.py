"""agent.stats: the t interval of a mean over seeds and Welch's interval of a difference between arms."""

from __future__ import annotations

import math

import pytest

from agent.stats import difference_interval, mean_interval


def test_mean_interval_is_the_student_t_interval():
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4 dof) · sd / sqrt(n)
    assert mean == 3.0 and lo == pytest.approx(3.0 - half, abs=1e-5) and hi == pytest.approx(3.0 + half, abs=1e-5)
    assert math.isnan(mean_interval([0.5])[1])  # one seed: no interval
    with pytest.raises(ValueError):
        mean_interval([])


def test_difference_interval_excludes_zero_only_for_a_real_gap():
    diff, lo, hi = difference_interval([0.9, 0.8, 0.85, 0.95, 0.9], [0.5, 0.45, 0.55, 0.5, 0.6])
    assert diff == pytest.approx(0.36) and 0 < lo < diff < hi
    diff, lo, hi = difference_interval([0.5, 0.6, 0.4, 0.55, 0.45], [0.45, 0.6, 0.5, 0.4, 0.55])
    assert lo < 0 < hi
    assert difference_interval([3.0, 3.0], [1.0, 1.0]) == (2.0, 2.0, 2.0)  # no spread: a point
    # Welch: one noisy arm leaves ~2 degrees of freedom (a pooled interval would be [-5.3, +15.3])
    _, lo, hi = difference_interval([0.0, 10.0, 20.0], [5.0, 5.1, 4.9, 5.0, 5.05])
    assert lo < -15 and hi > 25
    with pytest.raises(ValueError, match="at least 2"):
        difference_interval([1.0], [1.0, 2.0])
