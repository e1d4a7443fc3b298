"""Vectorized held-out evaluation plays the same episodes as playing them one at a time (real env, real policy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from agent.evaluation import Evaluator
from agent.policy import build_model, make_env_fn
from agent.seeds import eval_seeds
from curriculum.config import AgentConfig, PPOConfig, StageEnv

ENV = "Peekaboo/FindToy-v1"
KW = {"width": 32, "height": 32, "max_steps": 12, "reach_distance": 4.5, "look_angle": 0.5,
      "randomization": {"n_rooms": 1, "furniture_per_room": 0, "n_toys": 0, "room_half_size": [1.6, 1.6]}}


def _one_at_a_time(model, seeds: list[int]) -> list[tuple[float, float, int]]:
    venv = DummyVecEnv([make_env_fn(ENV, KW)])
    out = []
    try:
        for seed in seeds:
            venv.seed(seed)
            obs, state, start, ret, n = venv.reset(), None, np.ones((1,), bool), 0.0, 0
            while True:
                action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
                obs, reward, done, infos = venv.step(action)
                start, ret, n = done, ret + float(reward[0]), n + 1
                if done[0]:
                    out.append((float(bool(infos[0].get("is_success", False))), ret, n))
                    break
    finally:
        venv.close()
    return out


@pytest.mark.parametrize("recurrent", [False, True])
def test_slots_play_the_serial_episodes(recurrent: bool) -> None:
    agent = AgentConfig(recurrent=recurrent, features_dim=32, lstm_hidden_size=16, ppo=PPOConfig(n_steps=16))
    ev = Evaluator([StageEnv(ENV, ENV, KW)], agent, slots=3)
    try:
        model = build_model(agent, ev.venvs[ENV], 0, None)
        if recurrent:  # a memory that decides the actions, so a state carried into the next episode shows
            torch.manual_seed(0)
            for p in (*model.policy.lstm_actor.parameters(), *model.policy.action_net.parameters()):
                p.data.normal_(0.0, 2.0)
        seeds = eval_seeds(7, "find_toy")
        ours = ev._episodes(model, ev.venvs[ENV], seeds, deterministic=True)
        again = ev._episodes(model, ev.venvs[ENV], seeds, deterministic=True)  # reused envs: same seeds again
        ref = _one_at_a_time(model, seeds)
        res = ev.evaluate(model, 7, deterministic=True)
    finally:
        ev.close()
    assert [(s, n) for s, _, n in ours] == [(s, n) for s, _, n in ref] == [(s, n) for s, _, n in again]
    np.testing.assert_allclose([r for _, r, _ in ours], [r for _, r, _ in ref], rtol=1e-5, atol=1e-6)
    assert len({n for _, _, n in ref}) > 1 or len({r for _, r, _ in ref}) > 1, "all episodes alike: weak test"
    assert res.episodes == 7 and res.success_rate == pytest.approx(np.mean([s for s, _, _ in ref]))
