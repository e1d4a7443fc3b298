"""End-to-end PPO throughput against env-only throughput, measured in one run (called by ``tools/bench.py``)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList


class PhaseTimer(BaseCallback):
    """Wall seconds in rollouts and in the gradient epochs between them (from SB3's rollout hooks)."""

    def __init__(self) -> None:
        super().__init__()
        self.rollout_s = self.train_s = 0.0
        self._start: float | None = None
        self._end: float | None = None

    def _on_rollout_start(self) -> None:
        self._start = time.perf_counter()
        if self._end is not None:
            self.train_s += self._start - self._end

    def _on_rollout_end(self) -> None:
        self._end = time.perf_counter()
        if self._start is not None:
            self.rollout_s += self._end - self._start

    def _on_training_end(self) -> None:
        if self._end is not None:  # the last gradient epochs end with learn()
            self.train_s += time.perf_counter() - self._end
            self._end = None

    def _on_step(self) -> bool:
        return True


def ppo_throughput(env_id: str = "Peekaboo/FindToy-v1", n_envs: int = 16, steps: int = 4096, width: int = 64,
                   height: int = 64, batched: bool = True, torch_threads: int | None = None, rollout_threads: int = 1,
                   n_steps: int = 128, encoder: str = "fast", features_dim: int = 256, recurrent: bool = False,
                   seed: int = 0, sim: str = "mujoco", device: str = "cpu", warp_homes: int = 0) -> dict[str, Any]:
    """Env steps/s with random actions and with PPO learning, on the same vectorized envs.

    The learner is the agent's (:func:`agent.policy.build_model`: shared encoder ``encoder``, feed-forward PPO
    whose rollouts run in the env processes (:class:`agent.rollout.WorkerRolloutPPO`), batch 256, 4 epochs,
    rollouts of ``n_steps × n_envs``; ``n_steps`` 128 as ``PPOConfig`` and the default curriculum train), with
    ``torch_threads`` during the gradient epochs (default: the CPUs this process may run on, as ``agent.train``).

    :param n_envs: envs; with ``batched`` 2 processes of ``n_envs // 2`` batched worlds, else one process each.
    :param steps: env steps measured for each phase (after a warm-up rollout): env-only, PPO, env-only again; the
        env-only rate is the mean of the runs before and after PPO.
    :param encoder: ``fast`` (the agent's default), ``nature`` (SB3's ``CnnPolicy`` trunk) or ``small``.
    :param recurrent: RecurrentPPO (CNN + LSTM of 128, as the default curriculum trains) instead of PPO.
    :param sim: ``warp``: the ``n_envs`` worlds in one MuJoCo Warp batch on ``device`` (``warp_homes`` > 0: a
        bank of that many homes), the learner on ``device`` too (``agent.train --sim warp``).
    :returns: ``{"env_steps_per_s", "ppo_steps_per_s", "ratio", "phase_s", ...}``; ratio = ppo / env-only;
        ``phase_s``: wall seconds of the measured PPO run in rollouts and in the gradient epochs;
        ``phase_share``: the share of that run's wall time the two phases account for (about 1: nothing else
        takes time).
    """
    import torch

    import env  # noqa: F401
    from agent.policy import TorchThreads, build_model, make_vec_env
    from agent.process_state import usable_cpus
    from curriculum.config import AgentConfig, PPOConfig, StageConfig

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch_threads = torch_threads or usable_cpus()
    agent = AgentConfig(encoder=encoder, features_dim=features_dim, recurrent=recurrent,
                        ppo=PPOConfig(n_steps=n_steps, batch_size=min(256, n_steps * n_envs), n_epochs=4))
    stage = StageConfig(name="bench", env_ids=(env_id,))
    venv = make_vec_env(stage, n_envs, width, height, "mujoco", agent, subprocess=True, seed=seed,
                        batched=batched, sim=sim, device=device, warp_homes=warp_homes)
    try:
        venv.reset()
        rng = np.random.default_rng(seed)
        for _ in range(n_steps):  # warm-up: first layouts, lazy GL contexts
            venv.step(rng.integers(venv.action_space.n, size=n_envs))

        def env_only() -> float:
            t, n = time.perf_counter(), 0
            while n < steps:
                venv.step(rng.integers(venv.action_space.n, size=n_envs))
                n += n_envs
            return n / (time.perf_counter() - t)

        env_before = env_only()
        model = build_model(agent, venv, seed, None, device=device)
        threads_cb = TorchThreads(torch_threads, rollout_threads)
        model.learn(n_steps * n_envs, callback=threads_cb)  # warm-up rollout + update
        timer = PhaseTimer()
        t = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False, callback=CallbackList([threads_cb, timer]))
        ppo_steps = model.num_timesteps - n_steps * n_envs
        wall = time.perf_counter() - t
        ppo_sps = ppo_steps / wall
        env_after = env_only()  # the machine drifts (±10% over a minute here): bracket PPO with env-only runs
        env_sps = (env_before + env_after) / 2
    finally:
        venv.close()
        torch.set_num_threads(threads)
    return {"env_id": env_id, "n_envs": n_envs, "batched": batched, "sim": sim, "device": device,
            "size": width, "encoder": encoder,
            "recurrent": recurrent, "env_steps_per_s": round(env_sps, 1),
            "env_steps_per_s_before_after": [round(env_before, 1), round(env_after, 1)],
            "ppo_steps_per_s": round(ppo_sps, 1),
            "ratio": round(ppo_sps / env_sps, 3), "rollout": n_steps * n_envs, "batch_size": 256, "n_epochs": 4,
            "torch_threads_train": torch_threads, "torch_threads_rollout": rollout_threads, "steps": ppo_steps,
            "phase_s": {"rollout": round(timer.rollout_s, 3), "train": round(timer.train_s, 3)},
            "phase_share": round((timer.rollout_s + timer.train_s) / wall, 3)}


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(ppo_throughput(**kw), indent=2))
