"""Rollouts run in the env processes collect what SB3's rollouts collect (real envs, real policy, 32x32)."""

from __future__ import annotations

import functools
import pickle
from collections import deque

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from agent.encoder import InfantEncoder
from agent.recurrent import InfantLstmPolicy
from agent.rollout import PolicyActor, WorkerRolloutPPO, WorkerRolloutRecurrentPPO
from agent.stepper import sample
from agent.vec_env import SubprocBatchedVecEnv

N_STEPS = 12


def _model(venv: SubprocBatchedVecEnv) -> WorkerRolloutPPO:
    model = WorkerRolloutPPO("CnnPolicy", venv, n_steps=N_STEPS, batch_size=N_STEPS * venv.num_envs, n_epochs=1,
                            seed=0, device="cpu",
                            policy_kwargs={"features_extractor_class": InfantEncoder,
                                           "features_extractor_kwargs": {"features_dim": 32, "arch": "small"}})
    model.rollout_chunk = 5  # 12 steps arrive as 5 + 5 + 2: the part boundaries are crossed
    return model


class _Count(BaseCallback):
    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.stop_at = stop_at
        self.steps = 0

    def _on_step(self) -> bool:
        self.steps += 1
        return self.stop_at is None or self.steps < self.stop_at


def _recurrent_model(venv: SubprocBatchedVecEnv) -> WorkerRolloutRecurrentPPO:
    model = WorkerRolloutRecurrentPPO(InfantLstmPolicy, venv, n_steps=N_STEPS, batch_size=N_STEPS * venv.num_envs,
                                      n_epochs=1, seed=0, device="cpu",
                                      policy_kwargs={"features_extractor_class": InfantEncoder,
                                                     "features_extractor_kwargs": {"features_dim": 32, "arch": "small"},
                                                     "lstm_hidden_size": 16})
    model.rollout_chunk = 5
    return model


BUFFER_KEYS = ("observations", "actions", "rewards", "episode_starts", "values", "log_probs", "advantages",
               "returns")
STATE_KEYS = ("hidden_states_pi", "cell_states_pi", "hidden_states_vf", "cell_states_vf")


def _collect(model, collect, seed: int, callback: BaseCallback | None = None) -> tuple[bool, dict]:
    if hasattr(model, "_last_lstm_states"):  # start both collectors from the same (zero) memory
        model._last_lstm_states = type(model._last_lstm_states)(
            *(tuple(torch.zeros_like(t) for t in pair) for pair in model._last_lstm_states))
    model.ep_info_buffer, model.ep_success_buffer = deque(maxlen=100), deque(maxlen=100)  # as learn() sets them
    model.env.seed(seed)
    model._last_obs = model.env.reset()
    model._last_episode_starts = np.ones(model.env.num_envs, bool)
    cb = callback or _Count()
    cb.init_callback(model)
    done = collect(model, model.env, cb, model.rollout_buffer, N_STEPS)
    buf = model.rollout_buffer
    return done, {k: getattr(buf, k).copy() for k in BUFFER_KEYS + STATE_KEYS if hasattr(buf, k)}


@pytest.fixture(scope="module")
def venv():
    # 2 processes of 2 worlds; 5-step episodes, so the rollout crosses time-limit resets (bootstrapped values)
    v = SubprocBatchedVecEnv(2, procs=2, width=32, height=32, max_steps=5)
    yield v
    v.close()


def _greedy_rollouts_agree(model, ours, reference) -> list[torch.Tensor]:
    """Collect with ``ours`` then ``reference`` from the same seed, both greedy, and check the buffers agree;
    returns the learner's LSTM states after ours (empty for a feed-forward learner)."""
    model.greedy_rollouts = True  # greedy actions on both sides, so both must walk the same trajectories
    ok_a, got = _collect(model, ours, seed=7)
    states = [t.clone() for pair in getattr(model, "_last_lstm_states", ()) for t in pair]
    model.policy.forward = functools.partial(model.policy.forward, deterministic=True)  # type: ignore[method-assign]
    ok_b, ref = _collect(model, reference, seed=7)
    assert ok_a and ok_b
    for key in ("observations", "actions", "episode_starts"):
        np.testing.assert_array_equal(got[key], ref[key], err_msg=key)
    assert ref["episode_starts"][1:].any(), "no episode ended inside the rollout: the reset path went untested"
    # other processes, other batch sizes: float rounding only (rewards carry the bootstrapped terminal values)
    for key in ("rewards", "values", "log_probs", "advantages", "returns") + STATE_KEYS:
        if key in ref:
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-4, atol=1e-5, err_msg=key)
    if states:
        assert np.abs(ref["hidden_states_pi"][-1]).max() > 0, "the LSTM states stayed zero: nothing was compared"
    return states


def test_worker_rollout_equals_sb3_rollout(venv) -> None:
    model = _model(venv)
    _greedy_rollouts_agree(model, WorkerRolloutPPO.collect_rollouts, PPO.collect_rollouts)
    assert len(model.ep_info_buffer) > 0


def test_recurrent_worker_rollout_equals_sb3_contrib_rollout(venv) -> None:
    from sb3_contrib import RecurrentPPO

    model = _recurrent_model(venv)
    ours_last = _greedy_rollouts_agree(model, WorkerRolloutRecurrentPPO.collect_rollouts, RecurrentPPO.collect_rollouts)
    assert len(ours_last) == 4
    for a, b in zip(ours_last, (t for pair in model._last_lstm_states for t in pair)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_recurrent_learns_in_the_worker_processes(venv) -> None:
    model = _recurrent_model(venv)
    assert model._rollout_env(model.env) is not None
    model.learn(2 * N_STEPS * venv.num_envs)
    assert model.num_timesteps == 2 * N_STEPS * venv.num_envs


@pytest.mark.parametrize("recurrent", [False, True])
def test_a_callback_that_stops_leaves_env_and_learner_in_step(venv, recurrent: bool) -> None:
    model = _recurrent_model(venv) if recurrent else _model(venv)
    cb = _Count(stop_at=3)
    ok, _ = _collect(model, type(model).collect_rollouts, seed=1, callback=cb)
    assert not ok and cb.steps == 3 and model.num_timesteps == 3 * venv.num_envs
    assert not any(r.poll(0.2) for r in venv.remotes)  # nothing left in a pipe to be mistaken for a later answer
    last = np.array(model._last_obs)
    cb = _Count()
    cb.init_callback(model)
    assert model.collect_rollouts(model.env, cb, model.rollout_buffer, N_STEPS)
    assert cb.steps == N_STEPS
    # the learner's last observations after the stop are where the envs are: the next rollout starts from them
    np.testing.assert_array_equal(model.rollout_buffer.observations[0], last)


def test_learns_in_the_worker_processes(venv) -> None:
    model = _model(venv)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(2 * N_STEPS * venv.num_envs)
    assert model.num_timesteps == 2 * N_STEPS * venv.num_envs
    assert any(not torch.equal(a, p.detach()) for a, p in zip(before, model.policy.parameters()))
    assert model._rollout_env(model.env) is not None  # it did take the in-process path


def test_sample_is_the_policys_distribution(venv) -> None:
    model = _model(venv)
    obs = torch.as_tensor(np.repeat(model.env.reset()[:1], 4000, axis=0))
    with torch.no_grad():
        actions, values, log_probs = sample(model.policy, obs, torch.Generator().manual_seed(0))
        ref_values, ref_log_probs, _ = model.policy.evaluate_actions(obs, actions)
        probs = model.policy.get_distribution(obs[:1]).distribution.probs[0].numpy()
    np.testing.assert_allclose(values.numpy(), ref_values.numpy(), rtol=1e-5)
    np.testing.assert_allclose(log_probs.numpy(), ref_log_probs.numpy(), rtol=1e-5, atol=1e-6)
    freq = np.bincount(actions.numpy(), minlength=len(probs)) / len(actions)
    np.testing.assert_allclose(freq, probs, atol=0.03)  # 4000 draws: ~4 standard errors


def test_policy_actor_is_a_frozen_seeded_copy(venv) -> None:
    model = _model(venv)
    obs = np.asarray(venv.reset())
    actor = pickle.loads(pickle.dumps(PolicyActor(model.policy, seed=3, channels_first=True)))
    again = pickle.loads(pickle.dumps(PolicyActor(model.policy, seed=3, channels_first=True)))
    starts = np.ones(venv.num_envs, bool)
    a, extra = actor(obs, starts)
    with torch.no_grad():
        for p in model.policy.parameters():
            p.add_(1.0)  # the learner moves on; the copies do not
    b, extra_b = again(obs, starts)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(extra["values"], extra_b["values"])
    assert a.shape == (venv.num_envs,) and extra["log_probs"].shape == (venv.num_envs,)


def test_close_mid_rollout_does_not_wait_for_the_processes() -> None:
    import time

    v = SubprocBatchedVecEnv(2, procs=2, width=32, height=32)
    v.reset()
    model = _model(v)
    parts = v.rollout([PolicyActor(model.policy, s, True) for s in (0, 1)], n_steps=400, chunk=5)
    next(parts)  # interrupted here, as by Ctrl-C: 395 steps still to come from each process
    t = time.perf_counter()
    v.close()
    assert time.perf_counter() - t < 5
    assert not any(p.is_alive() for p in v.processes)
