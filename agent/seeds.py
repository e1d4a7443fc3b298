"""Training seeds of the agent's envs; evaluation seeds come from ``env.seeds`` (disjoint by construction)."""

from __future__ import annotations

import numpy as np

from env.seeds import TRAIN_SEED_MAX, check_train_seed, eval_seeds

__all__ = ["eval_seeds", "segment_seed", "train_seed"]


def train_seed(run_seed: int, rank: int) -> int:
    """Seed of training env ``rank`` in curriculum run ``run_seed`` (always below ``env.seeds.TRAIN_SEED_MAX``)."""
    return check_train_seed(1000 * run_seed + rank)


def segment_seed(run_seed: int, stage_index: int, segment: int, n_envs: int) -> int:
    """Base seed of a stage's training envs for its ``segment``-th checkpoint interval: the envs start fresh
    episodes from it at every periodic checkpoint, so a resumed stage replays exactly what an uninterrupted one
    does. Segment 0 is the stage's :func:`train_seed`."""
    if segment == 0:
        return train_seed(run_seed, 1000 * stage_index)
    s = int(np.random.SeedSequence([run_seed, stage_index, segment]).generate_state(1)[0])
    return check_train_seed(s % (TRAIN_SEED_MAX - n_envs))
