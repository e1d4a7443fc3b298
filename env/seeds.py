"""Training and evaluation seeds, disjoint by construction (the constants live here, in one place).

Training passes ``reset`` seeds below :data:`TRAIN_SEED_MAX` (``check_train_seed``); an env seeded once draws its
later layouts' seeds from its own generator in ``[0, 2**31)`` too. Held-out evaluation seeds are
``EVAL_SEED_BASE + (crc32(task) * 1_000_003 + 7919 * base_seed + i) mod 2**31``, i.e. always in
``[2**31, 2**32)``: no training episode can start from an evaluation seed. Conditions of a task share seeds
(episode ``i`` of ``hidden`` and of its control play in the same home), so they are paired.
"""

from __future__ import annotations

import zlib

TRAIN_SEED_MAX = 2**31
"""Every training ``reset`` seed must be below this."""
EVAL_SEED_BASE = 2**31
"""Every evaluation seed is at least this (and below ``2**32``)."""
_SPAN = 2**31


def eval_seed(task: str, i: int, base_seed: int = 0) -> int:
    """Seed of held-out evaluation episode ``i`` of ``task`` for evaluation run ``base_seed``."""
    if i < 0 or base_seed < 0:
        raise ValueError(f"episode index {i} and base seed {base_seed} must be >= 0")
    return EVAL_SEED_BASE + (zlib.crc32(task.encode()) * 1_000_003 + 7919 * base_seed + i) % _SPAN


def eval_seeds(n: int, task: str = "", base_seed: int = 0) -> list[int]:
    """``n`` held-out evaluation seeds."""
    return [eval_seed(task, i, base_seed) for i in range(n)]


def check_train_seed(seed: int) -> int:
    """``seed`` if it is a valid training seed, else a ValueError (it would collide with evaluation)."""
    if not 0 <= seed < TRAIN_SEED_MAX:
        raise ValueError(f"training seed {seed} is outside [0, {TRAIN_SEED_MAX}); seeds from {EVAL_SEED_BASE} up "
                         "are reserved for held-out evaluation (env.seeds)")
    return seed


def is_eval_seed(seed: int) -> bool:
    """Whether ``seed`` lies in the evaluation range."""
    return EVAL_SEED_BASE <= seed < EVAL_SEED_BASE + _SPAN


def world_seeds(seed: int | list[int | None] | None, n: int) -> list[int | None]:
    """Reset seeds of a vector env's ``n`` worlds: none, ``seed + i`` for an int (world ``i`` then gives the
    single env's episodes reset with ``seed + i``), or one per world."""
    if seed is None:
        return [None] * n
    if isinstance(seed, int):
        return [seed + i for i in range(n)]
    if len(seed) != n:
        raise ValueError(f"got {len(seed)} seeds for {n} envs; pass one per env or one int")
    return list(seed)
