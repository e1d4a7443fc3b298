"""Helpers shared by the benchmark sections: timing a call, the single env's rate, resident memory."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import env as peekaboo_env  # sets headless GL first
import gymnasium as gym
import numpy as np

ENV_ID = "Peekaboo/FindToy-v1"


def rate(fn: Callable[[int], None], seconds: float, min_iters: int = 50) -> float:
    """Calls per second of ``fn(i)`` over about ``seconds`` (after one warm-up call)."""
    fn(0)
    n, t0 = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - t0 < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - t0)


def random_steps_rate(e: gym.Env, seconds: float) -> float:
    """Steps/s of a discrete-action gymnasium env under random actions, resets included (seeded: 0)."""
    e.reset(seed=0)
    rng = np.random.default_rng(0)
    n_actions = e.action_space.n

    def step(_: int) -> None:
        _, _, term, trunc, _ = e.step(int(rng.integers(n_actions)))
        if term or trunc:
            e.reset()

    return rate(step, seconds)


def env_rate(size: int, seconds: float, env_id: str = ENV_ID, **kwargs: Any) -> tuple[float, gym.Env]:
    """Single-process env steps/s with random actions; returns the (still open) env too."""
    e = peekaboo_env.make(env_id, width=size, height=size, **kwargs)
    return random_steps_rate(e, seconds), e


def rss_mb() -> float:
    """Resident memory of this process, MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
