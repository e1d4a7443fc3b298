"""agent.voe_agent / tools.voe --agent: a trained permanence agent's reveal head read as a VoE model, on the shipped
baseline agent (real weights, real renderer, a few held-out pairs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch as th

from agent.voe import render_pair, reveal_surprise
from agent.voe_agent import AgentReveal

AGENT = "models/permanence-baseline"


@pytest.fixture(scope="module")
def swap_pair():
    return render_pair("occluder_swap", seed=2_000_000_123, width=64, height=64)


def test_reveal_logprobs_are_the_head_stepped_frame_by_frame(swap_pair):
    """The whole-sequence read-out equals the policy's LSTM stepped one frame at a time (as when it acts), and
    without recurrence every frame is read from zero states."""
    model, meta = AgentReveal.load(AGENT)
    assert meta["kind"] == "agent" and meta["aux_classes"] > 0
    frames = th.from_numpy(swap_pair.possible[None, :30])
    seq = model.reveal_logprobs(frames, th.zeros((1, 30), dtype=th.long))
    ff = model.reveal_logprobs(frames, th.zeros((1, 30), dtype=th.long), recurrent=False)
    p = model.policy
    layers, _, hidden = p.lstm_hidden_state_shape
    state = (th.zeros((layers, 1, hidden)), th.zeros((layers, 1, hidden)))
    with th.no_grad():
        for t in range(30):
            f = p.extract_features(p.obs_to_tensor(swap_pair.possible[t])[0]).unsqueeze(0)
            out, state = p.lstm_actor(f, state)
            step = th.log_softmax(p.aux_pi(out[0, 0]), -1)
            assert th.allclose(seq[0, t, 1:], step, atol=1e-5)
            alone, _ = p.lstm_actor(f, (th.zeros_like(state[0]), th.zeros_like(state[1])))
            assert th.allclose(ff[0, t, 1:], th.log_softmax(p.aux_pi(alone[0, 0]), -1), atol=1e-5)
    assert th.isnan(seq[..., 0]).all()  # no "no toy" class: the head never saw an empty reveal


def test_the_trained_agent_expects_the_toy_where_it_was_hidden(swap_pair):
    """Where the toy reappears behind the other screen, the trained head is surprised; the untrained head (zeroed)
    expects nothing; without memory the head reads only the last frame, which differs from the full read-out."""
    model, _ = AgentReveal.load(AGENT)
    assert swap_pair.outcomes[0] != swap_pair.outcomes[1] and min(swap_pair.outcomes) >= 1
    rp, ri = reveal_surprise(model, swap_pair)
    assert ri - rp > 1.0  # nats
    fp, fi = reveal_surprise(model, swap_pair, recurrent=False)
    assert abs((fi - fp) - (ri - rp)) > 0.1
    up, ui = reveal_surprise(model.untrained(0), swap_pair)
    assert up == pytest.approx(ui) == pytest.approx(np.log(model.policy.aux_classes))


def test_tools_voe_agent_report_and_clear_errors(tmp_path, capsys):
    from tools.voe import main

    out = tmp_path / "voe"
    assert main(["--agent", AGENT, "--episodes", "2", "--probes", "occluder_swap", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "agent" and report["measures"] == ["reveal"]
    assert report["probes"]["occluder_swap"]["models"]["trained"]["reveal"]["n"] == 2
    assert (out / "reveal.png").stat().st_size > 1000 and (out / "pair.mp4").stat().st_size > 1000
    assert not (out / "differences.png").exists() and "reveal-prediction head" in (out / "report.md").read_text()
    assert main(["--agent", AGENT, "--episodes", "2", "--probes", "cups_vanish", "--out", str(out)]) == 2
    assert "cannot score ['cups_vanish']" in capsys.readouterr().err
    assert main(["--agent", "models/world-model", "--episodes", "2", "--out", str(out)]) == 2
