"""The world model's reveal-prediction objective (agent.video reveal labels, agent.world_model reveal head,
tools.voe reveal surprise) on the real simulator at 32-48 px with tiny budgets."""

from __future__ import annotations

import inspect
import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import env as peekaboo
from agent.pretrain import config_from_dict, pretrain
from agent.video import play, reveal_targets
from agent.world_model import REVEAL_CLASSES, WorldModel, load_world_model, save_world_model
from curriculum import ConfigError

OCC = {"stage": "crawling", "width": 48, "height": 48, "condition": "hidden", "search_time": 5.0,
       "reveal_label": True}


class _LieAboutTheTarget(gym.Wrapper):
    """Reports another location as the target in ``info["privileged"]`` (and in the task's record)."""

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        block = info.get("privileged") or {}
        if "target_index" in block:
            info["privileged"] = {**block, "target_index": (block["target_index"] + 1) % 3}
        return obs, r, term, trunc, info


def _labels(violation: str, lie: bool = False, seed: int = 5) -> tuple[np.ndarray, int]:
    e = peekaboo.make("Peekaboo/Occluder-v2", violation=violation, **OCC)
    if lie:
        e = _LieAboutTheTarget(e)
    _, _, n, labels = play(e, seed, lambda info: 0, 96, labels=True)
    target = e.unwrapped.task.target
    e.close()
    return labels[:n], target


def test_the_reveal_label_is_what_the_infant_sees_never_the_target_index() -> None:
    assert list(inspect.signature(reveal_targets).parameters) == ["phases", "seen", "ended"]
    labels, target = _labels("none")
    assert set(labels[labels >= 0]) == {1 + target}  # the possible event: the toy is seen where it was hidden
    assert (labels == -1).sum() > 5 and (labels >= 0).sum() > 30  # from the hiding on only
    assert np.array_equal(_labels("none", lie=True)[0], labels)  # a lying privileged block changes nothing
    vanish, t2 = _labels("vanish")
    assert t2 == target and set(vanish[vanish >= 0]) == {0}  # a toy hidden at `target`, none seen: label "none"
    swap, _ = _labels("swap")
    assert set(swap[swap >= 0]) == {1 + (target + 1) % 3}  # seen behind the next screen, not the target's
    # a clip cut before its reveal ends has no label: its outcome is unknown
    assert (reveal_targets(["show", "hide", "reveal"], [-1, -1, 1], ended=False) == -1).all()
    assert reveal_targets(["show", "hide", "search", "reveal"], [-1, -1, -1, 2], ended=True).tolist() == [-1, 3, 3, 3]


def test_an_untrained_reveal_head_expects_nothing_and_round_trips(tmp_path) -> None:
    torch.manual_seed(0)
    m = WorldModel(32, 32, features_dim=16, hidden=16, horizon=1, reveal=True).eval()
    frames = torch.randint(0, 255, (2, 5, 32, 32, 3), dtype=torch.uint8)
    actions = torch.zeros(2, 5, dtype=torch.long)
    logp = m.reveal_logprobs(frames, actions)
    assert logp.shape == (2, 5, REVEAL_CLASSES)
    assert torch.allclose(logp, torch.full_like(logp, -math.log(REVEAL_CLASSES)))  # uniform: no surprise either way
    torch.nn.init.normal_(m.reveal_head[2].weight)
    save_world_model(m, tmp_path / "world_model.pt")
    back, _ = load_world_model(tmp_path)
    assert back.reveal and back.spec["reveal"]
    assert torch.allclose(back.reveal_logprobs(frames, actions), m.reveal_logprobs(frames, actions))
    assert "reveal" not in WorldModel(32, 32, features_dim=16, hidden=16).spec  # older models keep their spec
    with pytest.raises(ValueError, match="reveal head"):
        WorldModel(32, 32, features_dim=16, hidden=16).reveal_logprobs(frames, actions)


REVEAL = {"name": "tiny_reveal", "width": 32, "height": 32,
          "data": {"frames": 1536, "val_frames": 384, "clip_len": 96, "shard_clips": 16, "reveal_labels": True,
                   "empty": 0.25, "mix": {"battery": 0.8, "find_toy": 0.1, "explore": 0.1}, "still": 0.9},
          "model": {"features_dim": 32, "hidden": 32, "horizon": 1, "reveal_weight": 1.0},
          "train": {"steps": 60, "batch_size": 8, "eval_every": 30, "checkpoint_every": 30, "shift": 2,
                    "learning_rate": 0.001}}


def test_the_reveal_objective_needs_labelled_video() -> None:
    bad = {**REVEAL, "data": {**REVEAL["data"], "reveal_labels": False}}
    with pytest.raises(ConfigError, match="reveal_labels"):
        config_from_dict(bad)


@pytest.mark.slow  # ~20 s: renders 16 clips with their reveals, trains 60 steps, plays 2 VoE pairs per probe
def test_the_reveal_objective_loss_falls_and_voe_scores_it(tmp_path) -> None:
    from tools.voe import main as voe
    run = tmp_path / "run"
    s = pretrain(config_from_dict(REVEAL), run, progress=False)
    assert s["val_untrained"]["reveal_loss"] == pytest.approx(math.log(REVEAL_CLASSES), abs=1e-4)  # uniform
    assert s["val_final"]["reveal_loss"] < math.log(REVEAL_CLASSES) - 0.3
    assert s["val_final"]["feedforward_reveal_loss"] < math.log(REVEAL_CLASSES) - 0.3
    model, _ = load_world_model(run)
    assert model.reveal
    out = tmp_path / "voe"
    assert voe(["--model", str(run), "--out", str(out), "--episodes", "2", "--probes", "occluder_vanish",
                "occluder_swap"]) == 0
    probes = json.loads((out / "report.json").read_text())["probes"]
    for p in probes.values():
        assert p["models"]["untrained"]["reveal"]["mean"] == 0.0  # an untrained head expects nothing
        assert {"surprise", "looking", "reveal"} <= set(p["memory_gain"])
        assert len(p["outcomes"]) == 2
    assert probes["occluder_vanish"]["outcomes"][0][1] == 0  # the vanished toy is seen nowhere
    assert (out / "reveal.png").stat().st_size > 1000
    assert "**Reveal surprise**" in (out / "report.md").read_text()
