"""Held-out evaluation of a learner: success rate over episodes seeded with :func:`agent.seeds.eval_seeds`.

Success is the env's ``info['is_success']`` at the end of each episode, on the battery's held-out seeds
(:func:`env.seeds.eval_seed` of the task, base seed 0): episode ``i`` here is episode ``i`` of
``python -m tools.evaluate --seed 0`` for the same task and options, and the interval is its Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack

from agent.memory import lapse_probability
from agent.policy import make_env_fn
from agent.seeds import eval_seeds
from agent.stats import wilson_interval
from agent.stepper import PolicyStepper
from curriculum.config import AgentConfig, StageEnv


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
    """Success rate per env id (per variant label for a stage with ``variants``)."""
    ci95: tuple[float, float] = (0.0, 1.0)
    """95% Wilson interval of the success rate (as ``tools.evaluate`` reports it)."""

    def as_dict(self) -> dict[str, Any]:
        return {"success_rate": self.success_rate, "episodes": self.episodes, "mean_return": self.mean_return,
                "mean_length": self.mean_length, "per_env": self.per_env, "ci95": list(self.ci95)}


class _SeedQueue(gym.Wrapper):
    """Resets with the next seed of a list, whoever calls ``reset`` (a VecEnv's autoreset included), so each env
    slot of a vectorized evaluation plays its own fixed episodes."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.seeds: list[int] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        # past its list the slot keeps playing (unrecorded) episodes while the other slots finish
        return self.env.reset(seed=self.seeds.pop(0) if self.seeds else None, options=options)


class Evaluator:
    """Evaluation envs per kind of stage env (an env id, or a variant of the stage), reused across evaluations
    of a stage: ``slots`` in-process envs each, stepped together so the policy acts on a batch (one ``predict``
    per step for all slots, not one per env step).

    Episode ``i`` of a kind is played with its task's ``i``-th held-out seed whatever the number of slots, so a
    greedy policy scores the same as played one episode at a time.
    """

    def __init__(self, envs: list[StageEnv], agent: AgentConfig, slots: int = 8) -> None:
        self.envs = list({e.label: e for e in envs}.values())  # a variant listed twice (weighted) is one kind here
        self.agent = agent
        self.slots = max(1, slots)
        self.venvs: dict[str, VecEnv] = {}
        for label, env_id, kwargs in self.envs:
            make = make_env_fn(env_id, kwargs, privileged=agent.privileged)
            v: VecEnv = DummyVecEnv([lambda make=make: _SeedQueue(make()) for _ in range(self.slots)])
            if agent.frame_stack > 1:
                v = VecFrameStack(v, agent.frame_stack)
            self.venvs[label] = v

    def evaluate(self, model: BaseAlgorithm, episodes: int, deterministic: bool = False) -> EvalResult:
        """Run ``episodes`` held-out episodes, split across the kinds of env (same seeds every call)."""
        import env as peekaboo_env
        successes: dict[str, list[float]] = {}
        returns, lengths = [], []
        for i, (label, env_id, _) in enumerate(self.envs):
            n = len(range(i, episodes, len(self.envs)))
            results = self._episodes(model, self.venvs[label], eval_seeds(n, peekaboo_env.task_of(env_id)[0]),
                                     deterministic)
            successes[label] = [ok for ok, _, _ in results]
            returns += [r for _, r, _ in results]
            lengths += [n_steps for _, _, n_steps in results]
        flat = [s for v in successes.values() for s in v]
        return EvalResult(float(np.mean(flat)), len(flat), float(np.mean(returns)), float(np.mean(lengths)),
                          {k: float(np.mean(v)) for k, v in successes.items() if v},
                          wilson_interval(int(sum(flat)), len(flat)))

    def _episodes(self, model: BaseAlgorithm, venv: VecEnv, seeds: list[int],
                  deterministic: bool) -> list[tuple[float, float, int]]:
        """``(success, return, length)`` of the episodes with ``seeds``, episode ``i`` in slot ``i % slots``."""
        k = venv.num_envs
        for j, queue in enumerate(venv.get_attr("seeds")):  # slot j plays episodes j, j + k, ...
            queue[:] = [int(s) for s in seeds[j::k]]
        todo = [len(seeds[j::k]) for j in range(k)]
        done_eps: list[list[tuple[float, float, int]]] = [[] for _ in range(k)]
        obs = venv.reset()
        # the global generator when sampling, as model.predict; the same lapses at every evaluation (agent.memory)
        step = PolicyStepper(model.policy, deterministic, lapse=lapse_probability(self.agent.memory_half_life_s),
                             lapse_seed=len(seeds))
        start = np.ones((k,), dtype=bool)
        ret, length = np.zeros(k), np.zeros(k, np.int64)
        while any(len(d) < t for d, t in zip(done_eps, todo)):
            obs, reward, done, infos = venv.step(step(obs, start).actions)
            ret += reward
            length += 1
            for j in np.flatnonzero(done):
                if len(done_eps[j]) < todo[j]:
                    done_eps[j].append((float(bool(infos[j].get("is_success", False))), float(ret[j]),
                                        int(length[j])))
                ret[j], length[j] = 0.0, 0
            start = done
        return [done_eps[i % k][i // k] for i in range(len(seeds))]

    def close(self) -> None:
        for v in self.venvs.values():
            v.close()
