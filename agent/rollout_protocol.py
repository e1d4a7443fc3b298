"""What an env process and the learner exchange when a rollout runs inside the env process
(:meth:`agent.vec_env.SubprocBatchedVecEnv.rollout`): the actor the learner sends, and the steps that come back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class RolloutActor(Protocol):
    """Chooses a batch's actions from its observations inside an env process (e.g. a copy of a policy)."""

    def __call__(self, obs: np.ndarray, episode_starts: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(actions, extras)``: one action per env, and per-env arrays (env first) to return with the rollout.
        ``episode_starts[i]``: env ``i``'s observation is its episode's first (a memory should reset)."""
        ...


@dataclass
class Rollout:
    """Consecutive steps of ``n`` envs: arrays are ``(steps, n, ...)``, ``infos[t][i]`` env ``i``'s at step ``t``."""

    obs: np.ndarray
    """Observations the actions were chosen from."""
    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    """Episode ended at this step (the next observation is the new episode's first)."""
    infos: list[list[dict[str, Any]]]
    extras: dict[str, np.ndarray]
    """What the actor returned beside the actions (values, log-probabilities, ...)."""
    last_obs: np.ndarray
    """Observations after the last step."""
