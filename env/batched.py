"""Batched infant envs: N worlds stepped in one process and rendered together.

:class:`BatchedInfantEnv` is a gymnasium ``VectorEnv`` that holds N ordinary :class:`InfantEnv` (so every task
works unchanged) whose MuJoCo backends share one GL context. A step runs each world's physics and task with
its eye render *deferred*, then draws every eye view in the batch's one GL context
(:class:`env.backends.mujoco.batch_renderer.BatchRenderer`), then finishes each world's observation (acuity
blur etc.) exactly as the single env does. Env ``i`` reset with seed ``s + i`` gives the episodes of
``InfantEnv`` reset with ``s + i``, byte for byte (frames included; ``tests/test_env_batched.py``), so an agent
trained on the batched env is evaluated on the frames it was trained on.

Autoreset follows gymnasium's default (``NEXT_STEP``): the step after an episode ends resets that world.
Every registered id names it as its ``vector_entry_point``: ``gymnasium.make_vec(id, num_envs=N,
vectorization_mode="vector_entry_point")``. The learner's adapter (stable-baselines3's ``VecEnv``, same-step
reset with ``terminal_observation`` in ``info``, one per process and several processes to use several cores) is
:mod:`agent.vec_env`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from env.backends.mujoco.batch_renderer import BatchMemberBackend, BatchRenderer
from env.config import EnvConfig
from env.infant_env import InfantEnv
from env.seeds import world_seeds


class _Member(InfantEnv):
    """An InfantEnv whose eye render is done by its batch."""

    backend: BatchMemberBackend

    def __init__(self, batch: BatchRenderer, task: str, config: EnvConfig | None, **kwargs: Any) -> None:
        super().__init__(task, None, config, **kwargs)
        if self.config.backend != "mujoco":
            raise ValueError(f"batched envs render through MuJoCo; got backend={self.config.backend!r}")
        self.backend = BatchMemberBackend(batch, self.config.quality)  # nothing loaded yet: a cheap swap

    def observe(self):
        """The observation of the frame the batch served (the single env's ``_observe``)."""
        return self._observe()


class BatchedInfantEnv(VectorEnv):
    """``num_envs`` infant worlds in one process, rendered as one batch; see the module docstring.

    Args:
        num_envs: worlds in the batch.
        task: task name (see ``env.ENV_IDS``), as for :class:`InfantEnv`.
        config: an :class:`EnvConfig`; or pass its options (width, height, stage, ...) and task options as
            keyword arguments, as for :class:`InfantEnv`.
        tiled: draw all views into tiles of one framebuffer with one readback, instead of each view at the
            origin with its own readback (the default). Untiled frames are bit-identical to the single env's, so
            training (batched) and evaluation (single env) see the same frames, and with llvmpipe rasterizing in
            the calling thread (``LP_NUM_THREADS=0``, Peekaboo's default) untiled is ~5% cheaper per world-step
            (~13 us a world; docs/throughput.md). Tiled edge pixels may differ on llvmpipe (29% of frames, 0.085%
            of pixels over 300 steps of 8 worlds). ``tiled=True`` reproduces the frames of batched runs made
            before untiled became the default (2026-11-30, issue #18), and may pay off where one wait per batch
            beats one per world (llvmpipe with a rasterizer thread pool, a GPU).
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, task: str = "find_toy", config: EnvConfig | None = None,
                 tiled: bool = False, members: list[tuple[str, dict[str, Any]]] | None = None, **kwargs: Any) -> None:
        if members is not None:
            num_envs = len(members)
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs}: use 1 or more")
        self.num_envs = num_envs
        self._batch = BatchRenderer(tiled)
        if members is None:
            self.envs = [_Member(self._batch, task, config, **kwargs) for _ in range(num_envs)]
        else:  # worlds of different tasks / options in one batch (their observations must have one shape)
            self.envs = [_Member(self._batch, t, None, **kw) for t, kw in members]
            spaces = [e.observation_space for e in self.envs]
            if any(sp != spaces[0] for sp in spaces):
                raise ValueError(f"a mixed batch needs one observation space; got {sorted({str(sp) for sp in spaces})}")
        e0 = self.envs[0]
        self._kinds = e0.config.observations
        self.single_observation_space = e0.observation_space
        self.single_action_space = e0.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._needs_reset = np.zeros(num_envs, bool)
        self._rewards = np.zeros(num_envs, np.float64)
        self._terms = np.zeros(num_envs, bool)
        self._truncs = np.zeros(num_envs, bool)

    # ---------------------------------------------------------------- batching
    def _observe(self, idx: list[int]) -> list[Any]:
        """Render the deferred eye views of worlds ``idx`` as one batch; their finished observations."""
        members = [self.envs[i] for i in idx]
        frames = self._batch.render([m.backend for m in members], "rgb" in self._kinds, "depth" in self._kinds)
        out = []
        for m, f in zip(members, frames):
            m.backend.serve(f)
            out.append(m.observe())
        return out

    def _set_deferred(self, on: bool) -> None:
        for e in self.envs:
            e.backend.deferred = on

    def _add_info(self, vector_infos: dict[str, Any], env_info: dict[str, Any], env_num: int) -> dict[str, Any]:
        """gymnasium's ``VectorEnv._add_info`` (the same dict, key for key and dtype for dtype) without its
        allocation of a fresh mask per key per world: a batch adds ~10 keys per world every step."""
        n = self.num_envs
        for key, value in env_info.items():
            if key == "final_obs":
                array = vector_infos.get("final_obs")
                if array is None:
                    array = np.full(n, fill_value=None, dtype=object)
                array[env_num] = value
            elif isinstance(value, dict):
                array = self._add_info(vector_infos.get(key, {}), value, env_num)
            else:
                array = vector_infos.get(key)
                if array is None:
                    kind = type(value)
                    if kind in (int, float, bool) or issubclass(kind, np.number):
                        array = np.zeros(n, dtype=kind)
                    elif isinstance(value, np.ndarray):
                        array = np.zeros((n, *value.shape), dtype=value.dtype)
                    else:
                        array = np.full(n, fill_value=None, dtype=object)
                array[env_num] = value
            mask_key = f"_{key}"
            mask = vector_infos.get(mask_key)
            if mask is None:
                mask = np.zeros(n, dtype=np.bool_)
            mask[env_num] = True
            vector_infos[key], vector_infos[mask_key] = array, mask
        return vector_infos

    def _stack(self, obs: list[Any]) -> Any:
        if isinstance(obs[0], dict):
            return {k: np.stack([o[k] for o in obs]) for k in obs[0]}
        return np.stack(obs)

    # ----------------------------------------------------------------- gym API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        self._set_deferred(True)
        infos: dict[str, Any] = {}
        try:
            for i, (e, s) in enumerate(zip(self.envs, world_seeds(seed, self.num_envs))):
                _, info = e.reset(seed=s, options=options)
                infos = self._add_info(infos, info, i)
        finally:
            self._set_deferred(False)
        self._needs_reset[:] = False
        return self._stack(self._observe(list(range(self.num_envs)))), infos

    def step(self, actions):
        infos: dict[str, Any] = {}
        self._set_deferred(True)
        try:
            for i, e in enumerate(self.envs):
                if self._needs_reset[i]:
                    _, info = e.reset()
                    self._rewards[i], self._terms[i], self._truncs[i] = 0.0, False, False
                else:
                    _, r, term, trunc, info = e.step(actions[i])
                    self._rewards[i], self._terms[i], self._truncs[i] = r, term, trunc
                infos = self._add_info(infos, info, i)
        finally:
            self._set_deferred(False)
        self._needs_reset[:] = self._terms | self._truncs
        obs = self._stack(self._observe(list(range(self.num_envs))))
        return obs, self._rewards.copy(), self._terms.copy(), self._truncs.copy(), infos

    def step_same_reset(self, actions) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """A step that resets finished worlds at once (stable-baselines3 style): the returned observation of a
        finished world is its reset one, its last one is ``info['final_observation']``; infos as a list."""
        infos: list[dict[str, Any]] = []
        self._set_deferred(True)
        try:
            for i, e in enumerate(self.envs):
                _, r, term, trunc, info = e.step(actions[i])
                self._rewards[i], self._terms[i], self._truncs[i] = r, term, trunc
                infos.append(info)
        finally:
            self._set_deferred(False)
        obs = self._observe(list(range(self.num_envs)))
        done = [i for i in range(self.num_envs) if self._terms[i] or self._truncs[i]]
        if done:
            self._set_deferred(True)
            try:
                reset_infos = [self.envs[i].reset()[1] for i in done]
            finally:
                self._set_deferred(False)
            for i, o, ri in zip(done, self._observe(done), reset_infos):
                infos[i]["final_observation"], infos[i]["final_info"] = obs[i], dict(infos[i])
                infos[i]["reset_info"] = ri
                obs[i] = o
        return self._stack(obs), self._rewards.copy(), self._terms.copy(), self._truncs.copy(), infos

    def close_extras(self, **kwargs: Any) -> None:
        for e in self.envs:
            e.close()
        self._batch.close()


def make_batched(num_envs: int, env_id: str = "Peekaboo/FindToy-v1", **kwargs: Any) -> BatchedInfantEnv:
    """A :class:`BatchedInfantEnv` for a registered id (or bare task name)."""
    from env import task_of

    task, options = task_of(env_id)
    return BatchedInfantEnv(num_envs, task, **{**options, **kwargs})


def make_batched_mixed(specs: list[tuple[str, dict[str, Any]]]) -> BatchedInfantEnv:
    """A :class:`BatchedInfantEnv` whose world ``i`` is ``gym.make(specs[i][0], **specs[i][1])`` (registered ids)."""
    from env import task_of

    members = []
    for env_id, kwargs in specs:
        task, options = task_of(env_id)
        members.append((task, {**options, **kwargs}))
    return BatchedInfantEnv(len(members), members=members)


__all__ = ["BatchedInfantEnv", "make_batched", "make_batched_mixed"]
