"""Training seeds of the agent's envs; evaluation seeds come from ``env.seeds`` (disjoint by construction)."""

from __future__ import annotations

from env.seeds import check_train_seed, eval_seeds

__all__ = ["eval_seeds", "train_seed"]


def train_seed(run_seed: int, rank: int) -> int:
    """Seed of training env ``rank`` in curriculum run ``run_seed`` (always below ``env.seeds.TRAIN_SEED_MAX``)."""
    return check_train_seed(1000 * run_seed + rank)
