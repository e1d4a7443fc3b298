"""The one-call LSTM sequence pass computes what sb3-contrib's step-by-step loop computes."""

from __future__ import annotations

import pytest
import torch
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from torch import nn

from agent.recurrent import InfantLstmPolicy


def _pass(fn, features, states, starts, lstm):
    out, (h, c) = fn(features, states, starts, lstm)
    (out.sum() + h.sum() + c.sum()).backward()
    grads = [p.grad.clone() for p in lstm.parameters()]
    lstm.zero_grad()
    return out.detach(), h.detach(), c.detach(), grads


@pytest.mark.parametrize("mid_start", [False, True])
def test_sequence_pass_equals_the_step_loop(mid_start: bool) -> None:
    torch.manual_seed(0)
    n_seq, length, dim, hidden = 6, 9, 16, 8
    lstm = nn.LSTM(dim, hidden)
    features = torch.randn(n_seq * length, dim)
    states = (torch.randn(1, n_seq, hidden), torch.randn(1, n_seq, hidden))
    starts = torch.zeros(n_seq, length)
    starts[[0, 2, 5], 0] = 1.0  # as RecurrentPPO's buffer cuts them: episodes begin at a sequence's first step
    if mid_start:
        starts[1, 4] = 1.0  # not made by the buffer: must fall back to the loop and still agree
    ours = _pass(InfantLstmPolicy._process_sequence, features, states, starts.flatten(), lstm)
    ref = _pass(RecurrentActorCriticPolicy._process_sequence, features, states, starts.flatten(), lstm)
    for a, b in zip(ours[:3] + tuple(ours[3]), ref[:3] + tuple(ref[3])):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # the reset really happened: sequence 0 ignores its initial state, sequence 1 does not
    zeroed = (torch.zeros_like(states[0]), torch.zeros_like(states[1]))
    alt = _pass(InfantLstmPolicy._process_sequence, features, zeroed, starts.flatten(), lstm)[0]
    alt, out = alt.view(n_seq, length, hidden), ours[0].view(n_seq, length, hidden)
    torch.testing.assert_close(alt[0], out[0])
    assert not torch.allclose(alt[1], out[1])


def test_recurrent_agent_uses_it() -> None:
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig

    agent = AgentConfig(recurrent=True, features_dim=32, lstm_hidden_size=16,
                        ppo=PPOConfig(n_steps=16, batch_size=32, n_epochs=1))
    stage = StageConfig(name="t", env_ids=("Peekaboo/FindToy-v1",), env_kwargs={"max_steps": 6})
    venv = make_vec_env(stage, 2, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    try:
        model = build_model(agent, venv, 0, None)
        assert isinstance(model.policy, InfantLstmPolicy)
        model.learn(64)
        assert model.num_timesteps == 64
    finally:
        venv.close()


def _tiny_recurrent_learner():
    """A real RecurrentPPO learner of the agent after one rollout + update on FindToy (short episodes, so the
    minibatches are cut at episode starts as well as at env changes)."""
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig

    agent = AgentConfig(recurrent=True, features_dim=32, lstm_hidden_size=16,
                        ppo=PPOConfig(n_steps=16, batch_size=24, n_epochs=1))
    stage = StageConfig(name="t", env_ids=("Peekaboo/FindToy-v1",), env_kwargs={"max_steps": 7})
    venv = make_vec_env(stage, 4, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    model = build_model(agent, venv, 0, None)
    model.learn(64)
    return model, venv


def _padded_twin(buf):
    """sb3-contrib's own buffer holding the same rollout (the reference path: padded observations)."""
    import copy

    from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer

    ref = copy.copy(buf)
    ref.__class__ = RecurrentRolloutBuffer
    return ref


def _loss_and_grads(policy, data):
    """sb3-contrib's masked PPO loss terms of one minibatch (clip 0.2) and the gradient of their sum."""
    mask = data.mask > 1e-8
    values, log_prob, entropy = policy.evaluate_actions(data.observations, data.actions.long().flatten(),
                                                        data.lstm_states, data.episode_starts)
    adv = (data.advantages - data.advantages[mask].mean()) / (data.advantages[mask].std() + 1e-8)
    ratio = torch.exp(log_prob - data.old_log_prob)
    pg = -torch.mean(torch.min(adv * ratio, adv * torch.clamp(ratio, 0.8, 1.2))[mask])
    vf = torch.mean(((data.returns - values.flatten()) ** 2)[mask])
    ent = -torch.mean(entropy[mask])
    policy.zero_grad()
    (pg + 0.01 * ent + 0.5 * vf).backward()
    grads = {n: p.grad.clone() for n, p in policy.named_parameters() if p.grad is not None}
    return torch.stack([pg, vf, ent]).detach(), grads


def test_packed_buffer_gives_sb3_contribs_minibatches_and_gradients() -> None:
    """The learner's buffer cuts the same sequences as sb3-contrib's, every field byte for byte, with the
    observations unpadded; the losses and gradients through the policy are sb3-contrib's to float rounding."""
    import numpy as np

    from agent.recurrent import PackedRecurrentRolloutBuffer, PaddedSteps

    model, venv = _tiny_recurrent_learner()
    try:
        buf = model.rollout_buffer
        assert isinstance(buf, PackedRecurrentRolloutBuffer)
        ref = _padded_twin(buf)
        policy = model.policy
        n_padding = 0
        for seed in range(3):  # three rotations of the rollout
            np.random.seed(seed)
            ours = list(buf.get(24))
            np.random.seed(seed)
            theirs = list(ref.get(24))
            assert len(ours) == len(theirs) == 3
            for a, b in zip(ours, theirs):
                assert isinstance(a.observations, PaddedSteps)
                for name in ("actions", "old_values", "old_log_prob", "advantages", "returns", "episode_starts",
                             "mask"):
                    x, y = getattr(a, name), getattr(b, name)
                    assert x.dtype == y.dtype and torch.equal(x, y), name
                for x, y in zip(a.lstm_states.pi + a.lstm_states.vf, b.lstm_states.pi + b.lstm_states.vf):
                    assert torch.equal(x, y)
                rows = a.observations.rows
                assert a.observations.padded_rows == len(b.observations)
                assert torch.equal(a.observations.observations, b.observations[rows])
                assert torch.equal(a.observations.padded(), b.observations)
                padding = torch.ones(len(b.observations), dtype=torch.bool)
                padding[rows] = False
                assert not b.mask[padding].any() and not b.observations[padding].any()
                n_padding += int(padding.sum())
                loss_a, grads_a = _loss_and_grads(policy, a)
                loss_b, grads_b = _loss_and_grads(policy, b)
                torch.testing.assert_close(loss_a, loss_b, rtol=1e-5, atol=1e-6)
                assert grads_a.keys() == grads_b.keys() and grads_a
                for name in grads_a:
                    torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6, msg=name)
        assert n_padding > 0  # the comparison covered padded minibatches
    finally:
        venv.close()
