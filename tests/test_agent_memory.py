"""A memory that fades by design (agent.memory_half_life_s): lapse draws, and a learner whose gradient sequences
restart where the rollout's memory lapsed (real occluder envs in worker processes, real RecurrentPPO, 32x32)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from agent.episodes import EpisodeRecurrentPPO, EpisodeSequenceBuffer
from agent.memory import Lapses, half_life_by_age, lapse_probability
from agent.policy import build_model
from agent.stepper import PolicyStepper
from agent.vec_env import SubprocBatchedVecEnv
from curriculum.config import AgentConfig, ConfigError, PPOConfig, StageConfig

OCC = {"width": 32, "height": 32, "n_screens": 2, "screen_distance": 0.9, "screen_spacing": 0.6,
       "show_time": 0.3, "hide_time": 0.3, "search_time": 3.0, "reveal_time": 0.0, "reveal_view": "display"}


def test_a_memory_survives_a_delay_with_probability_two_to_minus_delay_over_half_life() -> None:
    p = lapse_probability(5.0, 0.1)
    lapses = Lapses(p, seed=0)
    n, steps = 4000, 100  # 10 s of 0.1 s steps
    alive = np.ones(n, bool)
    for _ in range(steps):
        alive &= ~lapses(n)
    assert abs(alive.mean() - 2 ** (-10 / 5)) < 0.03  # 0.25 ± 3 standard errors
    assert lapse_probability(None) == 0.0 and not Lapses(0.0, 1)(5).any()
    np.testing.assert_array_equal(Lapses(0.3, 7)(50), Lapses(0.3, 7)(50))  # seeded
    assert half_life_by_age(9) == 5.0 and half_life_by_age(12) == 11.0  # Diamond: ~2 s per month from 7.5 months
    with pytest.raises(ValueError, match="> 0"):
        lapse_probability(0.0)


def test_bad_half_lives_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="half-life"):
        AgentConfig(recurrent=True, sequences="episode", memory_half_life_s=-1)
    with pytest.raises(ConfigError, match="sequences: episode"):
        AgentConfig(recurrent=True, memory_half_life_s=5)
    with pytest.raises(ConfigError, match="control_dt"):
        StageConfig(name="s", env_ids=("Peekaboo/Occluder-v2",), memory_half_life_s=5, env_kwargs={"control_dt": 0.2})
    stage = StageConfig(name="s", env_ids=("Peekaboo/Occluder-v2",), memory_half_life_s=5)
    assert stage.agent_for(AgentConfig(recurrent=True, sequences="episode")).memory_half_life_s == 5


def test_a_lapse_wipes_the_state_as_an_episode_start_does() -> None:
    agent = AgentConfig(recurrent=True, lstm_hidden_size=16, features_dim=32, sequences="episode")
    venv = SubprocBatchedVecEnv(1, 2, "Peekaboo/Occluder-v2", **OCC)
    try:
        model = build_model(agent, venv, seed=0, tensorboard_log=None)
        obs = th.as_tensor(venv.reset()).permute(0, 3, 1, 2)
    finally:
        venv.close()
    always = PolicyStepper(model.policy, deterministic=True, lapse=0.999999, lapse_seed=0)
    fresh = PolicyStepper(model.policy, deterministic=True)
    for _ in range(3):
        a, b = always(obs, np.zeros(2, bool)), fresh(obs, np.ones(2, bool))  # every step a new start
        th.testing.assert_close(a.values, b.values)
    assert always.last_lapses.all()


class _Quiet(BaseCallback):
    def _on_step(self) -> bool:
        return True


@pytest.mark.slow
def test_training_sequences_replay_the_rollouts_lapses() -> None:
    """The learner's sequences give each step the log-probability it had in the rollout (the PPO ratio starts at
    1) only if they wipe the LSTM where the rollout's memory lapsed: the buffer cuts its sequences there."""
    agent = AgentConfig(recurrent=True, lstm_hidden_size=16, features_dim=32, sequences="episode",
                        memory_half_life_s=0.3, ppo=PPOConfig(n_steps=24, batch_size=48, n_epochs=1))
    venv = SubprocBatchedVecEnv(1, 2, "Peekaboo/Occluder-v2", **OCC)
    try:
        model = build_model(agent, venv, seed=0, tensorboard_log=None)
        assert isinstance(model, EpisodeRecurrentPPO) and model.memory_lapse == pytest.approx(1 - 2 ** (-1 / 3))
        model.ep_info_buffer, model.ep_success_buffer = deque(maxlen=100), deque(maxlen=100)
        model._last_obs = model.env.reset()
        model._last_episode_starts = np.ones(2, bool)
        cb = _Quiet()
        cb.init_callback(model)
        for _ in range(2):  # the second rollout continues the first's episodes (prefixes since the last reset)
            assert model.collect_rollouts(model.env, cb, model.rollout_buffer, model.n_steps)
        buf = model.rollout_buffer
        assert isinstance(buf, EpisodeSequenceBuffer)
        lapses = buf.lapses.copy()
        assert lapses.sum() >= 5, "too few lapses to test"
        n_loss = 0
        for data in buf.get(None):
            with th.no_grad():
                _, log_prob, _ = model.policy.evaluate_actions(data.observations, data.actions.long().flatten(),
                                                               data.lstm_states, data.episode_starts)
            keep = data.mask > 0
            n_loss += int(keep.sum())
            th.testing.assert_close(log_prob[keep], data.old_log_prob[keep], rtol=1e-4, atol=1e-4)
        assert n_loss == 48
        # a lapse starts a sequence; the advantages still run across it (it ends no episode)
        segs = buf._segments()
        firsts = {s.start for s in segs}
        assert all(i in firsts for i in np.flatnonzero(buf.lapses > 0.5))
        assert all(s.from_start for s in segs)
        assert not np.array_equal(buf.episode_starts > 0.5, np.maximum(buf.episode_starts, buf.lapses) > 0.5)
    finally:
        venv.close()


def test_a_run_from_before_the_field_existed_resumes(tmp_path) -> None:
    """A run's saved curriculum lacks fields added since (here the memory half-life): they compare at their
    defaults, so --resume accepts it, and a stage that has trained may still not change."""
    from agent.runner import RunError, _curriculum_changes
    from curriculum.config import load_curriculum

    cfg = load_curriculum("curriculum/smoke.yaml")
    old = cfg.to_dict()
    del old["agent"]["memory_half_life_s"]
    for stage in old["stages"]:
        del stage["memory_half_life_s"]
    assert _curriculum_changes(old, cfg, tmp_path) == []
    old["agent"]["lstm_hidden_size"] += 1
    with pytest.raises(RunError, match="agent"):
        _curriculum_changes(old, cfg, tmp_path)
