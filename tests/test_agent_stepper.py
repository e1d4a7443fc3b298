"""agent.stepper: the one policy stepper acts as SB3's ``model.predict`` (PPO and RecurrentPPO, greedy and sampled,
episode starts and frame stacking included) and leaves torch's global generator and thread count as they were."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.vec_env import VecFrameStack

from agent.policy import build_model, make_vec_env
from agent.stepper import FrameStack, PolicyStepper
from agent.process_state import drawing_from, torch_threads
from curriculum.config import AgentConfig, PPOConfig, StageConfig

STAGE = StageConfig(name="t", env_ids=("Peekaboo/FindToy-v1",), env_kwargs={"max_steps": 4})


def _model_and_envs(recurrent: bool, frame_stack: int = 1):
    agent = AgentConfig(features_dim=16, recurrent=recurrent, lstm_hidden_size=8, frame_stack=frame_stack,
                        ppo=PPOConfig(n_steps=8, batch_size=8, n_epochs=1))
    venv = make_vec_env(STAGE, 2, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    return build_model(agent, venv, 0, None), venv


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("deterministic", [True, False])
def test_stepper_acts_as_model_predict(recurrent: bool, deterministic: bool) -> None:
    """Same actions as ``model.predict`` with torch's global generator seeded as the stepper's own, over episodes
    that end (4-step episodes, 10 steps), so LSTM resets at episode starts are compared too."""
    model, venv = _model_and_envs(recurrent)
    try:
        step = PolicyStepper(model.policy, deterministic, seed=7)
        obs, start, state, ends = venv.reset(), np.ones(2, bool), None, 0
        th.manual_seed(7)
        for _ in range(10):
            ours = step(obs, start).actions
            theirs, state = model.predict(obs, state=state, episode_start=start, deterministic=deterministic)
            np.testing.assert_array_equal(ours, theirs)
            obs, _, start, _ = venv.step(ours)
            ends += int(start.sum())
        assert ends >= 4  # episodes did end on the way (4 steps each): episode starts were compared too
    finally:
        venv.close()


@pytest.mark.parametrize("recurrent", [False, True])
def test_seeded_stepper_leaves_the_global_generator_alone(recurrent: bool) -> None:
    model, venv = _model_and_envs(recurrent)
    try:
        obs = venv.reset()
        th.manual_seed(123)
        before = th.get_rng_state()
        first = [PolicyStepper(model.policy, seed=5)(obs, np.ones(2, bool)).actions for _ in range(2)]
        assert th.equal(th.get_rng_state(), before)
        np.testing.assert_array_equal(first[0], first[1])  # same seed, same draws
    finally:
        venv.close()


def test_frame_stack_matches_vec_frame_stack() -> None:
    """:class:`FrameStack` on the raw frames gives what SB3's ``VecFrameStack`` gives, across episode ends."""
    _, venv = _model_and_envs(False)
    stacked = VecFrameStack(venv, 3)
    try:
        stack, obs, start = FrameStack(3), stacked.reset(), np.ones(2, bool)
        rng = np.random.default_rng(0)
        for _ in range(9):
            np.testing.assert_array_equal(stack(obs[..., -3:], start), obs)
            obs, _, start, _ = stacked.step(rng.integers(6, size=2))
        single = FrameStack(2)  # one env's frames, as tools.agents.PolicyAgent gets them
        frame = np.full((4, 4, 3), 9, np.uint8)
        assert single(frame, np.ones(1, bool))[..., :3].max() == 0
        assert single(frame, np.zeros(1, bool)).min() == 9
        assert single(frame, np.ones(1, bool))[..., :3].max() == 0
    finally:
        stacked.close()


def test_drawing_from_and_torch_threads_restore_global_state() -> None:
    g = th.Generator().manual_seed(1)
    th.manual_seed(2)
    before = th.get_rng_state()
    with drawing_from(g):
        inside = th.rand(3)
    assert th.equal(th.get_rng_state(), before)
    assert th.equal(inside, th.rand(3, generator=th.Generator().manual_seed(1)))
    with drawing_from(g):  # the generator advanced: the next draws follow on
        assert th.equal(th.rand(3), th.rand(6, generator=th.Generator().manual_seed(1))[3:])
    threads = th.get_num_threads()
    with torch_threads(threads + 1):
        assert th.get_num_threads() == threads + 1
    assert th.get_num_threads() == threads


def test_training_threads_default_to_the_cpus_the_process_may_use() -> None:
    """A run pinned to one core (``taskset -c N``) trains with one torch thread, not one per core of the machine."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from agent.runner import RunOptions; print(RunOptions().torch_threads)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert out.stdout.split()[-1] == "1"


def test_sample_recurrent_is_sb3_contribs_forward() -> None:
    """The stepper's recurrent fast path gives sb3-contrib's ``forward`` (actions drawn from the same generator
    state, values, log-probabilities and LSTM states to float rounding) over steps with episode starts, and its
    draws follow the policy's probabilities."""
    from sb3_contrib.common.recurrent.type_aliases import RNNStates

    from agent.stepper import fast_recurrent, sample_recurrent

    model, venv = _model_and_envs(True)
    policy = model.policy
    try:
        assert fast_recurrent(policy)
        obs = policy.obs_to_tensor(venv.reset())[0]
        layers, _, hidden = policy.lstm_hidden_state_shape
        states = RNNStates(*((th.randn(layers, 2, hidden), th.randn(layers, 2, hidden)) for _ in range(2)))
        ours_states = theirs_states = states
        with th.no_grad():
            for starts in ([1.0, 0.0], [0.0, 0.0], [0.0, 1.0]):
                s = th.tensor(starts)
                a, v, lp, ours_states = sample_recurrent(policy, obs, ours_states, s, th.Generator().manual_seed(3))
                with drawing_from(th.Generator().manual_seed(3)):
                    ra, rv, rlp, theirs_states = policy(obs, theirs_states, s)
                np.testing.assert_array_equal(a.numpy(), ra.numpy())
                np.testing.assert_allclose(v.numpy(), rv.numpy(), rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(lp.numpy(), rlp.numpy(), rtol=1e-5, atol=1e-6)
                for ours, theirs in zip((*ours_states.pi, *ours_states.vf), (*theirs_states.pi, *theirs_states.vf)):
                    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
            many = obs[:1].repeat(4000, 1, 1, 1)
            zero = RNNStates(*((th.zeros(layers, 4000, hidden), th.zeros(layers, 4000, hidden)) for _ in range(2)))
            a, _, _, _ = sample_recurrent(policy, many, zero, th.ones(4000), th.Generator().manual_seed(0))
            first_pi = (zero.pi[0][:, :1], zero.pi[1][:, :1])
            probs = policy.get_distribution(many[:1], first_pi, th.ones(1))[0].distribution.probs[0].numpy()
        freq = np.bincount(a.numpy(), minlength=len(probs)) / len(a)
        np.testing.assert_allclose(freq, probs, atol=0.03)  # 4000 draws: ~4 standard errors
    finally:
        venv.close()


def test_recurrent_rollout_actor_gives_the_same_rollout_with_and_without_the_fast_step() -> None:
    """Before/after of the fast recurrent step on a real rollout (fixed seeds, a batch of 2 worlds at 32 px,
    4-step episodes): the same actions and observations; values, log-probabilities and LSTM states to float
    rounding."""
    from agent.rollout import RecurrentPolicyActor
    from agent.vec_env import SB3BatchedVecEnv
    from env.batched import make_batched

    model, venv = _model_and_envs(True)
    venv.close()
    batch = SB3BatchedVecEnv(make_batched(2, "Peekaboo/FindToy-v1", width=32, height=32, max_steps=4))
    try:
        runs = []
        for fast in (True, False):
            batch.seed(0)
            batch.reset()
            actor = RecurrentPolicyActor(model.policy, 11, True, model._last_lstm_states)
            actor._stepper = actor._build()
            actor._stepper._fast_recurrent = fast
            runs.append(next(iter(batch.rollout(actor, 10, 10))))
        fast_run, sb3_run = runs
        assert fast_run.dones.any()  # episodes ended: LSTM resets at episode starts are compared too
        np.testing.assert_array_equal(fast_run.actions, sb3_run.actions)
        np.testing.assert_array_equal(fast_run.obs, sb3_run.obs)
        assert set(fast_run.extras) == {"values", "log_probs", "pi_h", "pi_c", "vf_h", "vf_c"}
        for k in fast_run.extras:
            np.testing.assert_allclose(fast_run.extras[k], sb3_run.extras[k], rtol=1e-5, atol=1e-6, err_msg=k)
    finally:
        batch.close()
