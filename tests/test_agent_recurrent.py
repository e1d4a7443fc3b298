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
    venv = make_vec_env(stage, ["Peekaboo/FindToy-v1"], 2, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    try:
        model = build_model(agent, venv, 0, None)
        assert isinstance(model.policy, InfantLstmPolicy)
        model.learn(64)
        assert model.num_timesteps == 64
    finally:
        venv.close()
