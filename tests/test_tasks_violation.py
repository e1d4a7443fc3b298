"""Violation-of-expectation pairs: the impossible event is pixel-identical to the possible one before the
critical moment and differs after it; the option leaves the normal tasks unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import env
from agent.voe import PROBES, paired_summary, render_pair, sign_test


@pytest.mark.parametrize("probe", list(PROBES))
def test_pairs_identical_before_the_critical_moment_and_different_after(probe):
    pair = render_pair(probe, seed=2**31 + 5, width=32, height=32)
    assert pair.critical < len(pair.possible)
    assert np.array_equal(pair.possible[:pair.critical], pair.impossible[:pair.critical])
    # the critical moment is where the probe stages it: the reveal (lift), or the carry for pass_through
    expected = "hide" if PROBES[probe]["violation"] == "pass_through" else "reveal"
    assert pair.phases[pair.critical] == expected
    first = pair.phases.index(expected)
    assert pair.critical >= first  # nothing differs before the phase that stages it
    assert not np.array_equal(pair.possible[-1], pair.impossible[-1]) or expected == "hide"


def test_violation_option_is_checked_and_off_by_default():
    with pytest.raises(ValueError, match="violation"):
        env.make("Peekaboo/Occluder-v2", width=32, height=32, violation="teleport")
    with pytest.raises(ValueError, match="cannot stage"):
        env.make("Peekaboo/Cups-v2", width=32, height=32, violation="pass_through")
    with pytest.raises(ValueError, match="hidden condition"):
        env.make("Peekaboo/Occluder-v2", width=32, height=32, violation="vanish", condition="visible")
    a = env.make("Peekaboo/Occluder-v2", width=32, height=32)
    b = env.make("Peekaboo/Occluder-v2", width=32, height=32, violation="none")
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    for _ in range(90):
        oa, *_ = a.step(0)
        ob, *_ = b.step(0)
        assert np.array_equal(oa, ob)


def test_paired_statistics():
    assert sign_test(np.array([1.0] * 10)) == pytest.approx(2 / 2**10)
    assert sign_test(np.array([1.0, -1.0])) == 1.0
    s = paired_summary(np.array([0.1, 0.2, 0.15, 0.12, 0.3, 0.05, 0.2, 0.1]))
    assert s["ci95"][0] > 0 and s["positive"] == 8 and s["sign_p"] < 0.01
