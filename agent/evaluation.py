"""Held-out evaluation of a learner: success rate over episodes seeded with :func:`agent.seeds.eval_seeds`.

Success is the env's ``info['is_success']`` at the end of each episode, on the battery's held-out seeds
(:func:`env.seeds.eval_seed` of the task, base seed 0): episode ``i`` here is episode ``i`` of
``python -m tools.evaluate --seed 0`` for the same task and options, and the interval is its Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack

from agent.policy import make_env_fn
from agent.seeds import eval_seeds
from curriculum.config import AgentConfig
from tools.evaluate import wilson_interval


@dataclass
class EvalResult:
    """Outcome of one evaluation."""

    success_rate: float
    """Fraction of episodes with ``is_success`` at their end."""
    episodes: int
    """Number of episodes."""
    mean_return: float
    """Mean undiscounted return."""
    mean_length: float
    """Mean episode length in steps."""
    per_env: dict[str, float]
    """Success rate per env id."""
    ci95: tuple[float, float] = (0.0, 1.0)
    """95% Wilson interval of the success rate (as ``tools.evaluate`` reports it)."""

    def as_dict(self) -> dict[str, Any]:
        return {"success_rate": self.success_rate, "episodes": self.episodes, "mean_return": self.mean_return,
                "mean_length": self.mean_length, "per_env": self.per_env, "ci95": list(self.ci95)}


class Evaluator:
    """One in-process env per env id, reused across evaluations of a stage."""

    def __init__(self, env_ids: list[str], env_kwargs: dict[str, Any], agent: AgentConfig) -> None:
        self.env_ids = env_ids
        self.agent = agent
        self.venvs: dict[str, VecEnv] = {}
        for env_id in env_ids:
            v: VecEnv = DummyVecEnv([make_env_fn(env_id, env_kwargs)])
            if agent.frame_stack > 1:
                v = VecFrameStack(v, agent.frame_stack)
            self.venvs[env_id] = v

    def evaluate(self, model: BaseAlgorithm, episodes: int, deterministic: bool = False) -> EvalResult:
        """Run ``episodes`` held-out episodes, split across the env ids (same seeds every call)."""
        import env as peekaboo_env
        seeds = {e: eval_seeds(episodes, peekaboo_env.task_of(e)[0]) for e in self.env_ids}
        successes: dict[str, list[float]] = {e: [] for e in self.env_ids}
        returns, lengths = [], []
        for i in range(episodes):
            env_id = self.env_ids[i % len(self.env_ids)]
            seed = seeds[env_id][i // len(self.env_ids)]
            ok, ret, length = self._episode(model, self.venvs[env_id], seed, deterministic)
            successes[env_id].append(ok)
            returns.append(ret)
            lengths.append(length)
        flat = [s for v in successes.values() for s in v]
        return EvalResult(float(np.mean(flat)), len(flat), float(np.mean(returns)), float(np.mean(lengths)),
                          {k: float(np.mean(v)) for k, v in successes.items() if v},
                          wilson_interval(int(sum(flat)), len(flat)))

    def _episode(self, model: BaseAlgorithm, venv: VecEnv, seed: int, deterministic: bool) -> tuple[float, float, int]:
        venv.seed(seed)
        obs = venv.reset()
        state = None
        start = np.ones((1,), dtype=bool)
        ret, n = 0.0, 0
        while True:
            action, state = model.predict(obs, state=state, episode_start=start, deterministic=deterministic)
            obs, reward, done, infos = venv.step(action)
            start = done
            ret += float(reward[0])
            n += 1
            if done[0]:
                return float(bool(infos[0].get("is_success", False))), ret, n

    def close(self) -> None:
        for v in self.venvs.values():
            v.close()
