"""N infant worlds whose physics and eyes run in MuJoCo Warp: a gymnasium ``VectorEnv`` for a GPU.

:class:`WarpVectorEnv` holds N ordinary :class:`~env.infant_env.InfantEnv` worlds, so every task, stage, acuity
filter and reward is the EGL env's own code; only the backend differs
(:class:`~env.backends.mujoco.warp_sim.WarpMemberBackend`). A step runs, for every world, the infant's action and
the task's ``before_physics`` on the host; then the physics of all worlds in MuJoCo Warp (one batch per compiled
home); then each task's ``after_physics``, reward and ends on the host; then one ray-cast render per home of all
its worlds' eyes. The step order is the single env's (``env.tasks.base``), so a world reset with seed ``s`` plays
the episode of ``InfantEnv`` reset with ``s``: same events and success step for step, frames within the
ray-caster's tolerance of the rasterizer (mean |diff| < 8 levels, measured in ``tests/test_env_warp_vector.py``).

Domain randomization: worlds batch together when their compiled homes are identical. Two layouts:

- ``homes=None`` (default): every world draws its own home as the EGL env does (seed ``s + i`` for world ``i``;
  a new one every ``relayout_every`` episodes). Each home is its own Warp batch, so this is the reference for
  agreement tests, not the fast path.
- ``homes=K``: a bank of K homes (scene seeds ``home_seed .. home_seed + K - 1``, each generated and built by
  the task from a generator seeded with its scene seed); world ``i`` lives in home ``i % K`` for good, and
  everything drawn per episode (spawn heading, where the toy is hidden, the trial's condition, ...) still comes
  from the world's own seeded generator. K batches of N / K worlds: the GPU layout (e.g. 4096 worlds in 16
  homes).

Observations: numpy ``uint8 (N, H, W, 3)`` by default; ``torch_obs=True`` returns a torch tensor on the Warp
device (``wp.to_torch``: no copy to the host), for a learner on the same GPU. Only RGB observations.

What runs where: physics (``mujoco_warp.step``) and rendering (``mujoco_warp.render``) on the Warp device: a CUDA
GPU, or Warp's CPU device (slow, but the same kernels: how CI tests this file). Task logic, the infant's planar
body and line-of-sight rays run on the host in Python, per world.

Autoreset follows gymnasium's default (``NEXT_STEP``); :meth:`WarpVectorEnv.step_same_reset` is the
stable-baselines3 flavour (the learner's adapter is :class:`agent.vec_env.SB3BatchedVecEnv`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from env.backends.base import Frame
from env.backends.mujoco.warp_sim import WarpGroup, WarpMemberBackend, rgb_uint8
from env.config import EnvConfig
from env.infant_env import InfantEnv
from env.seeds import world_seeds


def warp_device(device: str | None = None) -> str:
    """The Warp device for ``device``: ``"cuda"``/``"cuda:N"``, ``"cpu"``, or None/``"auto"`` (the GPU when
    Warp sees one, else the CPU). A ValueError saying how to fix it when CUDA is asked for but absent; an
    ImportError with the install line without Warp."""
    from env.backends.mujoco.warp_renderer import import_warp

    wp, _ = import_warp()
    if device in (None, "auto"):
        return "cuda:0" if wp.is_cuda_available() else "cpu"
    if device.startswith("cuda"):
        if not wp.is_cuda_available():
            raise ValueError(f"device {device!r}: Warp finds no CUDA GPU here (no NVIDIA driver); use device 'cpu' "
                             "(the same kernels, slowly) or run on a machine with a GPU")
        return "cuda:0" if device == "cuda" else device
    if device != "cpu":
        raise ValueError(f"device {device!r}: use 'cuda', 'cuda:N', 'cpu' or 'auto'")
    return device


class _WarpWorld(InfantEnv):
    """An InfantEnv whose physics and eye render are done by its Warp batch."""

    backend: WarpMemberBackend

    def __init__(self, task: str, config: EnvConfig | None, home: int | None, **kwargs: Any) -> None:
        super().__init__(task, None, config, **kwargs)
        if self.config.backend != "mujoco":
            raise ValueError(f"the Warp env compiles MuJoCo models; got backend={self.config.backend!r}")
        if self.config.observations != ("rgb",):
            raise ValueError(f"observations={self.config.observations}: the Warp env renders rgb only; "
                             "use observations=('rgb',) or the EGL env (env.make) for depth/segmentation")
        self.backend = WarpMemberBackend(self.config.quality)  # nothing loaded yet: a cheap swap
        self.home = home

    def _new_layout(self, seed: int | None, rng: np.random.Generator | None = None) -> None:
        if self.home is None:
            super()._new_layout(seed, rng)
        elif self.scene is None:  # a bank home: generated once, from its own seed, the same in every world
            super()._new_layout(self.home, np.random.default_rng(self.home))
        else:
            self.backend.reset()
            self._episodes_on_layout = 0

    def observe(self, frame: Frame):
        """The observation of a frame the batch rendered (lights, acuity: the single env's ``_observe``)."""
        self.backend.serve(frame)
        obs = self._observe()
        self.backend.serve(None)  # unused in the dark: never served to a later render
        return obs


class WarpVectorEnv(VectorEnv):
    """``num_envs`` infant worlds stepped and rendered in MuJoCo Warp; see the module docstring.

    Args:
        num_envs: worlds.
        task: task name (see ``env.ENV_IDS``), as for :class:`InfantEnv`.
        config: an :class:`EnvConfig`; or pass its options and task options as keyword arguments.
        device: Warp device (``"cuda"``, ``"cpu"``, None = the GPU if there is one); see :func:`warp_device`.
        homes: None = each world its own home (as the EGL env); K = a bank of K homes shared by the worlds.
        home_seed: scene seed of the bank's first home.
        torch_obs: return observations as a torch tensor on the device instead of numpy.
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, task: str = "find_toy", config: EnvConfig | None = None,
                 device: str | None = None, homes: int | None = None, home_seed: int = 0, torch_obs: bool = False,
                 **kwargs: Any) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs}: use 1 or more")
        if homes is not None and homes < 1:
            raise ValueError(f"homes={homes}: use None (a home per world) or 1 or more")
        self.device = warp_device(device)
        self.num_envs = num_envs
        self.homes = homes
        self.torch_obs = torch_obs
        self.envs = [_WarpWorld(task, config, None if homes is None else home_seed + i % homes, **kwargs)
                     for i in range(num_envs)]
        e0 = self.envs[0]
        self.single_observation_space = e0.observation_space
        self.single_action_space = e0.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._groups: dict[str, WarpGroup] = {}
        self._slot: list[tuple[WarpGroup, int]] = []
        self._needs_reset = np.zeros(num_envs, bool)
        self._rewards = np.zeros(num_envs, np.float64)
        self._terms = np.zeros(num_envs, bool)
        self._truncs = np.zeros(num_envs, bool)

    # ---------------------------------------------------------------- batching
    def _regroup(self) -> None:
        """One Warp batch per compiled home; rebuilt only where a world changed home (a relayout)."""
        by_home: dict[str, list[WarpMemberBackend]] = {}
        for e in self.envs:
            by_home.setdefault(e.backend.digest, []).append(e.backend)
        groups: dict[str, WarpGroup] = {}
        for digest, members in by_home.items():
            g = self._groups.get(digest)
            if g is None or [id(b) for b in g.members] != [id(b) for b in members]:
                g = WarpGroup(members, self.device)  # same digest = the same compiled model, whoever compiled it
            groups[digest] = g
        self._groups = groups
        index = {id(e.backend): i for i, e in enumerate(self.envs)}
        self._slot = [None] * self.num_envs  # type: ignore[list-item]
        for g in groups.values():
            for j, b in enumerate(g.members):
                self._slot[index[id(b)]] = (g, j)

    def _physics(self) -> None:
        for g in self._groups.values():
            g.step()

    def _observe(self, idx: list[int]) -> Any:
        """Render the eyes of worlds ``idx`` (their whole batches) and finish their observations: a numpy array
        or, with ``torch_obs``, a torch tensor on the device, ``(len(idx), H, W, 3)`` uint8."""
        seen = [i for i in idx if self.envs[i].config.render_observations and self.envs[i].backend.lights_on]
        rendered = {id(g): g.render() for g in {id(self._slot[i][0]): self._slot[i][0] for i in seen}.values()}
        if self.torch_obs:
            return self._observe_torch(idx, set(seen), rendered)
        host = {k: rgb_uint8(v.numpy()) for k, v in rendered.items()}
        out = []
        for i in idx:
            g, j = self._slot[i]
            frame = Frame(rgb=host[id(g)][j]) if id(g) in host else Frame()  # not rendered: the env gives zeros
            out.append(self.envs[i].observe(frame))
        return np.stack(out)

    def _observe_torch(self, idx: list[int], seen: set[int], rendered: dict[int, Any]) -> Any:
        import torch
        import warp as wp

        dev = {k: (torch.clamp(wp.to_torch(v), 0.0, 1.0) * 255.0 + 0.5).to(torch.uint8) for k, v in rendered.items()}
        rows = []
        shape = (self.envs[0].config.height, self.envs[0].config.width, 3)
        device = torch.device("cuda", self._wp_device_ordinal()) if self.device.startswith("cuda") else "cpu"
        for i in idx:
            g, j = self._slot[i]
            e = self.envs[i]
            if i not in seen:  # dark or not rendered: the single env's zeros
                row = torch.zeros(shape, dtype=torch.uint8, device=device)
            else:
                row = dev[id(g)][j]
                if e.vision.active:  # acuity/contrast filter (a no-op at 64 px): the host's code, for equality
                    row = torch.from_numpy(e.observe(Frame(rgb=row.cpu().numpy()))).to(row.device)
            rows.append(row)
        return torch.stack(rows)

    def _wp_device_ordinal(self) -> int:
        return int(self.device.split(":")[1]) if ":" in self.device else 0

    # ----------------------------------------------------------------- gym API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        infos: dict[str, Any] = {}
        for i, (e, s) in enumerate(zip(self.envs, world_seeds(seed, self.num_envs))):
            _, info = e.reset(seed=s, options=options)
            infos = self._add_info(infos, info, i)
        self._regroup()
        self._needs_reset[:] = False
        return self._observe(list(range(self.num_envs))), infos

    def _advance(self, actions, skip: np.ndarray) -> list[dict[str, Any] | None]:
        """Step every world not in ``skip`` (actions, physics in one batch, task); their infos (None where
        skipped). Rewards and ends go to ``self._rewards``/``_terms``/``_truncs``."""
        events: list[list[str] | None] = [None if skip[i] else e._before_physics(actions[i])
                                          for i, e in enumerate(self.envs)]
        dt = self.envs[0].config.control_dt
        for i, e in enumerate(self.envs):
            if not skip[i]:
                e.backend.step(dt)
        self._physics()
        infos: list[dict[str, Any] | None] = []
        for i, e in enumerate(self.envs):
            if skip[i]:
                infos.append(None)
                continue
            _, r, term, trunc, info = e._after_physics(events[i])
            self._rewards[i], self._terms[i], self._truncs[i] = r, term, trunc
            infos.append(info)
        return infos

    def step(self, actions):
        skip = self._needs_reset.copy()
        infos_list = self._advance(actions, skip)
        infos: dict[str, Any] = {}
        for i, e in enumerate(self.envs):
            if skip[i]:
                _, info = e.reset()
                self._rewards[i], self._terms[i], self._truncs[i] = 0.0, False, False
            else:
                info = infos_list[i]
            infos = self._add_info(infos, info, i)
        if skip.any():
            self._regroup()
        self._needs_reset[:] = self._terms | self._truncs
        obs = self._observe(list(range(self.num_envs)))
        return obs, self._rewards.copy(), self._terms.copy(), self._truncs.copy(), infos

    def step_same_reset(self, actions) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """A step that resets finished worlds at once (stable-baselines3 style): the returned observation of a
        finished world is its reset one, its last one is ``info['final_observation']``; infos as a list."""
        infos: list[dict[str, Any]] = self._advance(actions, np.zeros(self.num_envs, bool))  # type: ignore[assignment]
        obs = self._observe(list(range(self.num_envs)))
        done = [i for i in range(self.num_envs) if self._terms[i] or self._truncs[i]]
        if done:
            reset_infos = [self.envs[i].reset()[1] for i in done]
            self._regroup()
            fresh = self._observe(done)
            for k, (i, ri) in enumerate(zip(done, reset_infos)):
                last = obs[i].clone() if self.torch_obs else obs[i].copy()  # obs[i] is overwritten below
                infos[i]["final_observation"], infos[i]["final_info"] = last, dict(infos[i])
                infos[i]["reset_info"] = ri
                obs[i] = fresh[k]
        return obs, self._rewards.copy(), self._terms.copy(), self._truncs.copy(), infos

    def close_extras(self, **kwargs: Any) -> None:
        for e in self.envs:
            e.close()
        self._groups = {}


def make_warp(num_envs: int, env_id: str = "Peekaboo/FindToy-v1", **kwargs: Any) -> WarpVectorEnv:
    """A :class:`WarpVectorEnv` for a registered id (or bare task name)."""
    from env import task_of

    task, options = task_of(env_id)
    return WarpVectorEnv(num_envs, task, **{**options, **kwargs})


__all__ = ["WarpVectorEnv", "make_warp", "warp_device"]
