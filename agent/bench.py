"""End-to-end PPO throughput against env-only throughput, measured in one run (called by ``tools/bench.py``)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def ppo_throughput(env_id: str = "Peekaboo/FindToy-v0", n_envs: int = 2, steps: int = 2048, width: int = 64,
                   height: int = 64, subprocess: bool = True, torch_threads: int = 1, n_steps: int = 128,
                   env_kwargs: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """Env steps/s with random actions and with PPO learning, on the same vectorized envs.

    :param env_id: gymnasium id.
    :param n_envs: parallel envs (subprocesses unless ``subprocess=False``).
    :param steps: env steps measured for each of the two phases (after one warm-up rollout).
    :param env_kwargs: extra ``gym.make`` options (stage, randomization, task options...).
    :returns: ``{"env_steps_per_s", "ppo_steps_per_s", "ratio", ...}``; ratio = ppo / env-only (target ≥ 0.5).
    """
    import torch

    import env  # noqa: F401
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig

    torch.set_num_threads(max(1, torch_threads))
    agent = AgentConfig(ppo=PPOConfig(n_steps=n_steps, batch_size=min(256, n_steps * n_envs)))
    stage = StageConfig(name="bench", env_ids=(env_id,), env_kwargs=dict(env_kwargs or {}))
    venv = make_vec_env(stage, [env_id], n_envs, width, height, "mujoco", agent, subprocess=subprocess, seed=seed)
    try:
        venv.reset()
        rng = np.random.default_rng(seed)
        for _ in range(n_steps):  # warm-up: first layouts, lazy GL contexts
            venv.step(rng.integers(venv.action_space.n, size=n_envs))
        t = time.perf_counter()
        n = 0
        while n < steps:
            venv.step(rng.integers(venv.action_space.n, size=n_envs))
            n += n_envs
        env_sps = n / (time.perf_counter() - t)

        model = build_model(agent, venv, seed, None)
        model.learn(n_steps * n_envs)  # warm-up rollout + update
        t = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        ppo_steps = model.num_timesteps - n_steps * n_envs
        ppo_sps = ppo_steps / (time.perf_counter() - t)
    finally:
        venv.close()
    return {"env_id": env_id, "n_envs": n_envs, "width": width, "height": height, "subprocess": subprocess,
            "env_steps_per_s": round(env_sps, 1), "ppo_steps_per_s": round(ppo_sps, 1),
            "ratio": round(ppo_sps / env_sps, 3), "ppo_n_steps": n_steps, "torch_threads": torch_threads}


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(ppo_throughput(**kw), indent=2))
