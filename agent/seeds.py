"""Training and evaluation seeds, disjoint by construction.

Uses the battery's ``env.seeds`` (evaluation seeds in ``[2**31, 2**32)``, training seeds below ``2**31``) when it
exists; otherwise the same split is defined here: training envs are seeded from ``TRAIN_SEED_BASE`` (and draw
later layouts from their own generator in ``[0, 2**31)``), evaluation episodes from ``EVAL_SEED_BASE`` upwards.
"""

from __future__ import annotations

TRAIN_SEED_BASE = 0
"""Seed of training env ``rank`` in run seed ``s``: ``TRAIN_SEED_BASE + 1000 * s + rank`` (always < 2**31)."""
EVAL_SEED_BASE = 2**31
"""First held-out evaluation seed when ``env.seeds`` is missing (training never reaches it)."""


def train_seed(run_seed: int, rank: int) -> int:
    """Seed of training env ``rank``."""
    seed = TRAIN_SEED_BASE + 1000 * run_seed + rank
    if not 0 <= seed < 2**31:
        raise ValueError(f"training seed {seed} must lie in [0, 2**31); use a smaller curriculum seed")
    return seed


def eval_seeds(n: int, task: str = "") -> list[int]:
    """``n`` held-out evaluation seeds of ``task`` (the battery's ``env.seeds`` when present)."""
    try:
        from env import seeds as battery_seeds  # the battery's module; absent in older checkouts
    except ImportError:
        return [EVAL_SEED_BASE + i for i in range(n)]
    return [int(s) for s in battery_seeds.eval_seeds(n, task)]
