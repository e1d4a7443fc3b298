"""Privileged input for upper-bound runs: the hidden location given to the agent as a one-hot beside the image.

An *upper bound* only (issue 12, section 1): a run with ``agent.privileged: true`` is told where the toy is, so it
says nothing about memory; it tells whether the search itself can be learnt. Every output of such a run carries
``privileged`` (``summary.json``, ``evals.jsonl``, the diagnosis tables). A run without the option never builds
this wrapper, so the simulator's target index cannot reach its observation, reward or loss.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from agent.encoder import InfantEncoder

IMAGE_KEY = "image"
"""Observation key of the camera image in a privileged run's dict observation."""
PRIVILEGED_KEY = "privileged_target"
"""Observation key of the one-hot hidden location (all zeros when nothing is hidden)."""


def target_index(info: dict[str, Any]) -> int:
    """The hidden location of the current trial from an env ``info`` (-1: nothing hidden).

    The one place that reads it: the battery is moving privileged state under ``info["privileged"]``; the old
    top-level ``target_index`` is the fallback."""
    block = info.get("privileged")
    if isinstance(block, dict) and "target_index" in block:
        return int(block["target_index"])
    if "target_index" not in info:
        raise KeyError("info has no target_index (neither info['privileged']['target_index'] nor "
                       "info['target_index']): privileged runs need a permanence-battery task")
    return int(info["target_index"])


class PrivilegedTarget(gym.Wrapper):
    """Adds the one-hot of the current trial's hidden location to the observation: ``{"image", "privileged_target"}``.

    :param env: a permanence-battery env (its task lists the choice locations).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        task = getattr(env.unwrapped, "task", None)
        if task is None or not hasattr(task, "location_offsets"):
            raise ValueError(f"{env.spec.id if env.spec else env}: privileged input needs a permanence-battery "
                             "task with choice locations")
        self.n_locations = len(task.location_offsets())
        self.observation_space = spaces.Dict({
            IMAGE_KEY: env.observation_space,
            PRIVILEGED_KEY: spaces.Box(0.0, 1.0, (self.n_locations,), np.float32),
        })

    def _obs(self, obs: np.ndarray, info: dict[str, Any]) -> dict[str, np.ndarray]:
        onehot = np.zeros(self.n_locations, np.float32)
        i = target_index(info)
        if i >= 0:
            onehot[i] = 1.0
        return {IMAGE_KEY: obs, PRIVILEGED_KEY: onehot}

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return self._obs(obs, info), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._obs(obs, info), reward, terminated, truncated, info


class PrivilegedEncoder(InfantEncoder):
    """:class:`InfantEncoder` on the image, with the privileged one-hot concatenated to its features.

    :param observation_space: a ``Dict`` with :data:`IMAGE_KEY` (channel-first image) and :data:`PRIVILEGED_KEY`.
    Other parameters as :class:`InfantEncoder`; the output is ``features_dim + n_locations`` wide.
    """

    def __init__(self, observation_space: spaces.Dict, features_dim: int = 256, arch: str = "fast",
                 pixel_scale: float = 1.0) -> None:
        super().__init__(observation_space[IMAGE_KEY], features_dim, arch, pixel_scale)
        self.n_privileged = int(observation_space[PRIVILEGED_KEY].shape[0])
        self._features_dim = features_dim + self.n_privileged

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        image = super().forward(observations[IMAGE_KEY])
        return torch.cat([image, observations[PRIVILEGED_KEY].float()], dim=1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "privileged": self.n_privileged}
