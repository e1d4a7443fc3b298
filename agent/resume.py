"""What makes a resumed stage continue exactly as the uninterrupted one: the process's RNG states saved with each
checkpoint, and fresh episodes from a known seed at each periodic checkpoint.

A checkpoint cannot hold the envs themselves (physics, the caregiver's script and the task's trial state live in
the env processes, mid-episode), so both the uninterrupted and the resumed stage start every env on a new episode
at each periodic checkpoint, seeded by :func:`agent.seeds.segment_seed`. The cost is one truncated episode per env
per ``checkpoint_every`` steps (its return is bootstrapped from the value of where it stopped, as at the end of any
rollout).
"""

from __future__ import annotations

import base64
import random
from typing import Any

import numpy as np
import torch


def get_rng_state() -> dict[str, Any]:
    """Python's, numpy's and torch's global generator states as JSON data (PPO shuffles minibatches with numpy;
    SB3's own rollout loop samples actions with torch)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, py_gauss = random.getstate()
    return {"numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(internal), py_gauss],
            "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, py_gauss = state["python"]
    random.setstate((version, tuple(internal), py_gauss))
    torch.set_rng_state(torch.from_numpy(np.frombuffer(base64.b64decode(state["torch"]), np.uint8).copy()))


def fresh_episodes(model: Any, seed: int) -> None:
    """Start every training env of ``model`` on a new episode seeded from ``seed`` (env ``i``: ``seed + i``), as a
    resumed learner's first ``learn`` call does."""
    model.env.seed(seed)
    model._last_obs = model.env.reset()
    model._last_episode_starts = np.ones((model.env.num_envs,), dtype=bool)
    lstm = getattr(model, "_last_lstm_states", None)
    if lstm is not None:  # RecurrentPPO: the states a fresh learner starts from
        model._last_lstm_states = type(lstm)(tuple(torch.zeros_like(t) for t in lstm.pi),
                                             tuple(torch.zeros_like(t) for t in lstm.vf))

