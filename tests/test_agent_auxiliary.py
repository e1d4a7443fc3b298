"""Auxiliary losses on the recurrent state (agent.auxiliary): labels, their source, and a short real training."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.vec_env import DummyVecEnv

from agent.auxiliary import PHASE_CODES, sighting, trial_labels
from agent.policy import build_model, make_env_fn
from curriculum.config import AgentConfig, ConfigError, PPOConfig

OCC = {"width": 32, "height": 32, "n_screens": 2, "screen_distance": 0.9, "screen_spacing": 0.6,
       "show_time": 0.3, "hide_time": 0.3, "search_time": 3.0, "reveal_time": 0.3, "reveal_view": "display",
       "reveal_label": True}


def test_each_trial_is_labelled_from_its_own_reveal_from_the_hiding_on() -> None:
    s, h, q, r = (PHASE_CODES[p] for p in ("show", "hide", "search", "reveal"))
    phases = np.array([s, s, h, h, q, q, r, r, s, h, q, r, r, s, h, q])
    seen = np.array([-1, -1, -1, -1, -1, -1, 1, 1, -1, -1, -1, -1, 0, -1, -1, -1])
    want = [-1, -1, 1, 1, 1, 1, 1, 1, -1, 0, 0, 0, 0, -1, -1, -1]  # the last trial is not revealed yet
    assert trial_labels(phases, seen).tolist() == want


def test_the_reveal_label_never_reads_the_privileged_index() -> None:
    info = {"phase": "search", "reveal_seen": -1, "privileged": {"target_index": 1}}
    assert sighting(info, "reveal") == -1
    assert sighting({**info, "phase": "reveal", "reveal_seen": 0}, "reveal") == 0
    assert sighting(info, "privileged") == 1
    with pytest.raises(ValueError, match="source"):
        sighting(info, "oracle")


class _LieAboutTheTarget(gym.Wrapper):
    """Reports the *other* location as the target in ``info["privileged"]`` (2 screens)."""

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        block = info["privileged"]
        info["privileged"] = {**block, "target_index": 1 - block["target_index"]}
        return obs, r, term, trunc, info


def _labels(agent: AgentConfig, lie: bool) -> np.ndarray:
    def make():
        e = make_env_fn("Peekaboo/Occluder-v2", OCC)()
        return _LieAboutTheTarget(e) if lie else e
    model = build_model(agent, DummyVecEnv([make]), seed=0, tensorboard_log=None)
    model.learn(64)  # one rollout: the buffer still holds it (the update changes no label)
    data = next(iter(model.rollout_buffer.get(None)))
    return data.aux_labels.numpy()


def test_a_privileged_index_cannot_reach_the_reveal_head() -> None:
    ppo = PPOConfig(n_steps=64, batch_size=64, n_epochs=1)
    reveal = AgentConfig(recurrent=True, lstm_hidden_size=8, features_dim=16, sequences="episode", aux_reveal=1.0,
                         ppo=ppo)
    honest, lied = _labels(reveal, False), _labels(reveal, True)
    assert (honest >= 0).sum() > 10
    np.testing.assert_array_equal(honest, lied)  # the labels ignore the simulator's target index
    privileged = AgentConfig(recurrent=True, lstm_hidden_size=8, features_dim=16, sequences="episode",
                             aux_privileged=1.0, ppo=ppo)
    p_honest, p_lied = _labels(privileged, False), _labels(privileged, True)
    both = (honest >= 0) & (p_honest >= 0)
    np.testing.assert_array_equal(honest[both], p_honest[both])  # the infant saw the true location
    assert not np.array_equal(p_honest, p_lied)  # and the privileged source does read it


def test_aux_training_updates_the_heads_and_logs_the_loss(tmp_path) -> None:
    agent = AgentConfig(recurrent=True, lstm_hidden_size=8, features_dim=16, sequences="episode", aux_reveal=2.0,
                        ppo=PPOConfig(n_steps=64, batch_size=64, n_epochs=2))
    model = build_model(agent, DummyVecEnv([make_env_fn("Peekaboo/Occluder-v2", OCC)]), seed=0,
                        tensorboard_log=None)
    before = [p.detach().clone() for p in (model.policy.aux_pi.weight, model.policy.aux_vf.weight)]
    model.learn(128)
    after = (model.policy.aux_pi.weight, model.policy.aux_vf.weight)
    assert all(not th.equal(a, b) for a, b in zip(before, after))  # only the auxiliary loss reaches the heads


@pytest.mark.parametrize("bad, match", [
    ({"aux_reveal": 1.0}, "sequences: episode"),
    ({"aux_reveal": -1.0, "sequences": "episode"}, ">= 0"),
    ({"aux_reveal": 1.0, "aux_privileged": 1.0, "sequences": "episode"}, "alternatives"),
])
def test_bad_aux_options_are_errors(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        AgentConfig(recurrent=True, **bad)


def test_a_privileged_label_marks_the_run_privileged() -> None:
    base = {"recurrent": True, "sequences": "episode"}
    assert AgentConfig(**base, aux_privileged=0.5).uses_privileged
    assert AgentConfig(**base, aux_privileged=0.5).aux == (0.5, "privileged")
    assert not AgentConfig(**base, aux_reveal=0.5).uses_privileged
