"""The scaling-law fits recover known power laws from synthetic points."""

from __future__ import annotations

import numpy as np
import pytest

from agent.scaling import fit_power_law, frontier


def test_fit_recovers_a_known_power_law_with_an_interval():
    rng = np.random.default_rng(0)
    n = np.repeat([1e3, 4e3, 1.6e4, 6.4e4], 3)
    d = np.tile([1e4, 3e4, 9e4], 4)
    loss = 5.0 * n ** -0.3 * d ** -0.1 * np.exp(rng.normal(0, 0.01, len(n)))
    fit = fit_power_law(n, loss, groups=d)  # one prefactor per data size, shared exponent
    assert fit["exponent"] == pytest.approx(0.3, abs=0.02)
    assert fit["ci95"][0] < 0.3 < fit["ci95"][1] and fit["ci95"][1] - fit["ci95"][0] < 0.05
    fit_d = fit_power_law(d, loss, groups=n)
    assert fit_d["exponent"] == pytest.approx(0.1, abs=0.02)
    exact = fit_power_law([1, 10, 100], [2.0, 2.0 * 10 ** -0.5, 2.0 * 100 ** -0.5])
    assert exact["exponent"] == pytest.approx(0.5) and exact["prefactors"][0] == pytest.approx(2.0)
    # a wrong law is not "recovered": the interval excludes it
    assert not fit["ci95"][0] < 0.5 < fit["ci95"][1]
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2, 3], [1.0, 0.0, 1.0])


def test_frontier_is_the_lower_envelope():
    c = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    loss = np.array([3.0, 3.5, 2.0, 2.5, 1.0])
    assert frontier(c, loss).tolist() == [0, 2, 4]
