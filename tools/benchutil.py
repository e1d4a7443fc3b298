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


_clock: Callable[[], float] = time.perf_counter


def use_cpu_clock(on: bool = True) -> None:
    """Rates of in-process work as calls per CPU-second of this process (``time.process_time``) instead of per
    wall second: on a machine shared with other jobs a wall-clock rate measures the neighbours too, while
    llvmpipe (rendering in the calling thread), MuJoCo and MiniWorld all spend this process's CPU time. Only
    for work done in this process: a rate of other processes' work (a vector env) stays per wall second."""
    global _clock
    _clock = time.process_time if on else time.perf_counter


def clock_name() -> str:
    """``cpu`` after :func:`use_cpu_clock`, else ``wall``: what the in-process rates are per second of."""
    return "cpu" if _clock is time.process_time else "wall"


WARMUP_SECONDS = 0.5
"""Calls before a rate is timed: the first homes of a process compile llvmpipe's shader variants and fill its
caches (a rate timed from the first call read ~8% low for the item measured first in a process)."""


def rate(fn: Callable[[int], None], seconds: float, min_iters: int = 50, in_process: bool = True) -> float:
    """Calls per second of ``fn(i)`` over about ``seconds`` of wall time, after :data:`WARMUP_SECONDS` of warm-up
    calls (at least one); per CPU-second of this process after :func:`use_cpu_clock` when ``in_process`` (the
    work is done in this process)."""
    clock = _clock if in_process else time.perf_counter
    warm_until = time.perf_counter() + min(WARMUP_SECONDS, seconds)
    fn(0)
    while time.perf_counter() < warm_until:
        fn(0)
    n, t0, wall0 = 0, clock(), time.perf_counter()
    while n < min_iters or time.perf_counter() - wall0 < seconds:
        fn(n)
        n += 1
    return n / (clock() - t0)


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
