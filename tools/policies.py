"""Simple policies for rendering and benchmarking (no learning involved)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from env.body import DISCRETE_ACTIONS

Policy = Callable[[np.ndarray, dict[str, Any]], int]

_FORWARD = DISCRETE_ACTIONS.index("forward")
_LEFT = DISCRETE_ACTIONS.index("turn_left")
_RIGHT = DISCRETE_ACTIONS.index("turn_right")


class RandomPolicy:
    """Uniform over the discrete actions."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        return int(self.rng.integers(len(DISCRETE_ACTIONS)))


class WanderPolicy:
    """A crawling infant's random walk: mostly forward, a turning spell after bumping into things."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.turn_steps = 0
        self.turn = _LEFT

    def __call__(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        if "bump" in info.get("events", ()) or self.rng.random() < 0.03:
            self.turn_steps = int(self.rng.integers(4, 16))
            self.turn = _LEFT if self.rng.random() < 0.5 else _RIGHT
        if self.turn_steps > 0:
            self.turn_steps -= 1
            return self.turn
        return _FORWARD


POLICIES: dict[str, type] = {"wander": WanderPolicy, "random": RandomPolicy}
"""Policies selectable with ``--policy``."""


def make_policy(name: str, seed: int) -> Policy:
    """Policy ``name`` seeded with ``seed``; an error lists the valid names."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {sorted(POLICIES)}")
    return POLICIES[name](seed)
