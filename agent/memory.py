"""An infant's working memory that fades: memory lapses (``agent.memory_half_life_s``).

A trained LSTM keeps one bit through any still delay (docs/permanence.md), while infants' success falls with the
delay (Diamond 1985). Here the memory fades by design, the same way in training and at test: at every control step
each env's recurrent states (actor and critic) are wiped with probability ``1 - 2 ** (-control_dt / half_life)``,
as at an episode start, so a memory survives a delay of ``d`` seconds with probability ``2 ** (-d / half_life)``.
Learning cannot undo a lapse (nothing is left to read), but it can make the agent recover from one: what it sees
next still counts, so a control (the toy in view) is unaffected, and a hidden toy is found at chance afterwards.

The draws come from the stepper's own seeded generator (never the env's: lapses are the agent's, not the world's),
and the rollout sends them to the learner with each step, so its gradient sequences restart where the rollout's
memory did (:class:`agent.episodes.EpisodeSequenceBuffer`).
"""

from __future__ import annotations

import numpy as np

from env.config import EnvConfig

CONTROL_DT = EnvConfig.control_dt
"""Seconds per control step of the curriculum's envs (a stage with a memory half-life may not change it)."""


def lapse_probability(half_life_s: float | None, control_dt: float = CONTROL_DT) -> float:
    """Chance that a memory lapses within one control step; 0 for a perfect memory (``half_life_s`` None)."""
    if half_life_s is None:
        return 0.0
    if half_life_s <= 0:
        raise ValueError(f"memory half-life {half_life_s} s: must be > 0 (or None for a perfect memory)")
    return float(1.0 - 2.0 ** (-control_dt / half_life_s))


def half_life_by_age(age_months: float) -> float:
    """The half-life an infant of ``age_months`` would have if the delay that still produces the A-not-B error
    (Diamond 1985: under 2 s at 7½ months, growing ~2 s per month to over 10 s at 12 months) were the delay at which
    half the memories survive: ``2 + 2 · (age − 7.5)`` seconds, at least 1 s."""
    return max(1.0, 2.0 + 2.0 * (age_months - 7.5))


class Lapses:
    """Which of ``n`` envs' memories lapse at each step, from a generator seeded with ``seed``.

    :param probability: chance per env and step (:func:`lapse_probability`); 0 = never (no draws are made).
    :param seed: seed of the draws (``None``: fresh entropy).
    """

    def __init__(self, probability: float, seed: int | None) -> None:
        if not 0.0 <= probability < 1.0:
            raise ValueError(f"lapse probability {probability}: must be within [0, 1)")
        self.probability = probability
        self.rng = np.random.default_rng(seed)

    def __call__(self, n: int) -> np.ndarray:
        """A bool per env: its memory lapses before this step."""
        if self.probability == 0.0:
            return np.zeros(n, bool)
        return self.rng.random(n) < self.probability
