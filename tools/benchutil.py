"""Helpers shared by the benchmark sections: timing a call, the single env's rate, resident memory."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
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


def warm_up(fn: Callable[[int], None], seconds: float = WARMUP_SECONDS) -> None:
    """Call ``fn(0)`` for about ``seconds`` of wall time (at least once), untimed."""
    until = time.perf_counter() + seconds
    fn(0)
    while time.perf_counter() < until:
        fn(0)


def timed_calls(fn: Callable[[int], None], seconds: float, min_iters: int = 50, in_process: bool = True,
                warm: bool = True) -> tuple[int, float]:
    """Calls of ``fn(i)`` over about ``seconds`` of wall time and the seconds they took (per CPU-second of this
    process after :func:`use_cpu_clock` when ``in_process``), after :func:`warm_up` (up to
    :data:`WARMUP_SECONDS`) when ``warm``."""
    clock = _clock if in_process else time.perf_counter
    if warm:
        warm_up(fn, min(WARMUP_SECONDS, seconds))
    n, t0, wall0 = 0, clock(), time.perf_counter()
    while n < min_iters or time.perf_counter() - wall0 < seconds:
        fn(n)
        n += 1
    return n, clock() - t0


def rate(fn: Callable[[int], None], seconds: float, min_iters: int = 50, in_process: bool = True) -> float:
    """Calls per second of ``fn(i)`` over about ``seconds`` of wall time, after :data:`WARMUP_SECONDS` of warm-up
    calls (at least one); per CPU-second of this process after :func:`use_cpu_clock` when ``in_process`` (the
    work is done in this process)."""
    n, dt = timed_calls(fn, seconds, min_iters, in_process)
    return n / dt


def random_steps_rate(e: gym.Env, seconds: float, seeds: Sequence[int] = (0,)) -> float:
    """Steps/s of a discrete-action gymnasium env under random actions, resets included; the time is split
    evenly over ``seeds``, the env reset with each in turn (actions seeded: 0).

    A Peekaboo env draws a new home every episode from its seeded generator, and homes differ in physics cost
    (toys that never come to rest: seed 0's first homes cost 52 µs of ``mj_step`` per step, seeds 0-7's 84 µs
    on average), so a rate is a rate *of some homes*: to compare with a batch of N worlds (world i reset with
    seed i) pass ``seeds=range(N)``, and both step the same homes."""
    rng = np.random.default_rng(0)
    n_actions = e.action_space.n

    def step(_: int) -> None:
        _, _, term, trunc, _ = e.step(int(rng.integers(n_actions)))
        if term or trunc:
            e.reset()

    e.reset(seed=seeds[0])
    warm_up(step, min(WARMUP_SECONDS, seconds))  # shader variants, caches; then every stream from its start
    n = dt = 0.0
    for seed in seeds:
        e.reset(seed=seed)
        calls, t = timed_calls(step, seconds / len(seeds), min_iters=max(1, 50 // len(seeds)), warm=False)
        n, dt = n + calls, dt + t
    return n / dt


def env_rate(size: int, seconds: float, env_id: str = ENV_ID, seeds: Sequence[int] = (0,),
             **kwargs: Any) -> tuple[float, gym.Env]:
    """Single-process env steps/s with random actions over the homes of ``seeds`` (see
    :func:`random_steps_rate`); returns the (still open) env too."""
    e = peekaboo_env.make(env_id, width=size, height=size, **kwargs)
    return random_steps_rate(e, seconds, seeds), e


def rss_mb() -> float:
    """Resident memory of this process, MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
