"""Whole-episode gradient sequences (agent.sequences: episode) on the real occluder and learner."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.vec_env import DummyVecEnv

from agent.episodes import EpisodeRecurrentPPO, EpisodeSequenceBuffer
from agent.policy import build_model, make_env_fn
from agent.recurrent import PaddedSteps
from agent.rollout import WorkerRolloutRecurrentPPO
from curriculum.config import AgentConfig, ConfigError, PPOConfig

# short trials (3 show + 3 hide + <= 11 search steps) and 8-step rollouts: every episode spans rollouts
OCC = {"width": 32, "height": 32, "n_screens": 2, "screen_distance": 0.9, "screen_spacing": 0.6,
       "show_time": 0.3, "hide_time": 0.3, "search_time": 3.0, "reveal_time": 0.0}


def _model(sequences: str) -> WorkerRolloutRecurrentPPO:
    agent = AgentConfig(recurrent=True, lstm_hidden_size=16, features_dim=32, sequences=sequences,
                        ppo=PPOConfig(n_steps=8, batch_size=8, n_epochs=1))
    venv = DummyVecEnv([make_env_fn("Peekaboo/Occluder-v2", OCC)])
    model = build_model(agent, venv, seed=0, tensorboard_log=None)
    model.learn(24)  # three rollouts: the buffer holds the third, the prefixes come from the first two
    return model


def _grad_of_last_on_first(model: WorkerRolloutRecurrentPPO) -> tuple[float, int]:
    """|d log pi(last loss step of the rollout's first sequence) / d first observation of that sequence|."""
    for data in model.rollout_buffer.get(None):
        obs = data.observations.padded() if isinstance(data.observations, PaddedSteps) else data.observations
        obs = obs.float().requires_grad_(True)
        _, log_prob, _ = model.policy.evaluate_actions(obs, data.actions.long().flatten(), data.lstm_states,
                                                       data.episode_starts)
        n_seq = data.lstm_states.pi[0].shape[1]
        mask = data.mask.reshape(n_seq, -1)
        starts = data.episode_starts.reshape(n_seq, -1)
        for j in range(n_seq):  # the sequence that continues an episode begun in an earlier rollout
            steps = np.flatnonzero(mask[j].numpy() > 0)
            continues = len(steps) > 0 and (steps[0] > 0 or starts[j, 0] == 0)  # prefix, or a stored state
            if continues:
                width = mask.shape[1]
                (g,) = th.autograd.grad(log_prob[j * width + steps[-1]], obs)
                return float(g[j * width].abs().sum()), int(steps[0])
    raise AssertionError("no sequence continued an earlier rollout's episode")


def test_a_loss_at_an_episodes_end_reaches_its_first_observation() -> None:
    model = _model("episode")
    assert isinstance(model, EpisodeRecurrentPPO) and isinstance(model.rollout_buffer, EpisodeSequenceBuffer)
    grad, prefix = _grad_of_last_on_first(model)
    assert prefix > 0  # the sequence starts before the rollout, at its episode's first step
    assert grad > 0.0
    assert model.rollout_buffer.stats["from_episode_start"] == 1.0


def test_sb3_sequences_start_from_a_stored_state_without_gradient() -> None:
    model = _model("sb3")
    grad, prefix = _grad_of_last_on_first(model)
    assert prefix == 0  # sb3-contrib's sequence starts at the rollout's first step, from a stored state
    assert grad > 0.0  # (within the rollout the gradient flows; before it, nothing to reach)


def test_episode_sequences_need_a_recurrent_learner() -> None:
    with pytest.raises(ConfigError, match="recurrent"):
        AgentConfig(sequences="episode")


def test_mask_frozen_leaves_held_steps_out_of_the_losses_only() -> None:
    agent = AgentConfig(recurrent=True, lstm_hidden_size=16, features_dim=32, sequences="episode", mask_frozen=True,
                        ppo=PPOConfig(n_steps=120, batch_size=120, n_epochs=1))
    model = build_model(agent, DummyVecEnv([make_env_fn("Peekaboo/Occluder-v2", OCC)]), seed=0, tensorboard_log=None)
    model.learn(120)
    buf = model.rollout_buffer
    # a trial's observations 0-5 are held (3 show + 3 hide steps), the rest is search
    frozen = buf.frozen.reshape(-1)
    starts = [*np.flatnonzero(buf.episode_starts.reshape(-1) > 0.5), 120]
    assert starts[0] == 0 and len(starts) >= 3
    for a, b in pairwise(starts):
        want = (np.arange(a, b) - a < 6).astype(np.float32)
        np.testing.assert_array_equal(frozen[a:b], want)
    data = next(iter(buf.get(None)))
    assert int((data.mask > 0).sum()) == 120 - int(frozen.sum())  # held steps left the loss, search steps stayed
    with pytest.raises(ConfigError, match="episode"):
        AgentConfig(recurrent=True, mask_frozen=True)
