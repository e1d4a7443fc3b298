"""Real PPO on the real env at 32x32: transfer modes and checkpoint errors (in-process, tiny budgets)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

from agent.encoder import read_encoder
from agent.checkpoint import CheckpointError
from agent.runner import RunError, RunOptions, run_curriculum
from curriculum import from_dict
from curriculum.config import CurriculumConfig

ENV = "Peekaboo/FindToy-v1"
RAND = {"n_rooms": 1, "furniture_per_room": 0, "n_toys": 0, "room_half_size": [1.6, 1.6]}


def tiny(transfer: str, budget2: int = 256) -> CurriculumConfig:
    stage = {"env_ids": [ENV], "randomization": RAND, "env_kwargs": {"max_steps": 40},
             "graduation": {"threshold": 1.0, "episodes": 2, "eval_every": 100000}}
    return from_dict(CurriculumConfig, {
        "name": "tiny", "width": 32, "height": 32, "checkpoint_every": 128,
        "agent": {"features_dim": 32, "ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 2}},
        "stages": [{"name": "one", "budget": 128, **stage},
                   {"name": "two", "budget": budget2, "transfer": transfer, "age_months": 6, **stage}]})


OPTS = RunOptions(n_envs=1, subprocess=False, progress=False)


def _weights(path):
    return read_encoder(path)["state_dict"]


def _equal(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_freeze_keeps_encoder_bit_identical_and_finetune_changes_it(tmp_path):
    run_curriculum(tiny("freeze"), tmp_path / "freeze", OPTS)
    one, two = tmp_path / "freeze/stages/00_one", tmp_path / "freeze/stages/01_two"
    assert _equal(_weights(one / "encoder.pt"), _weights(two / "encoder_start.pt"))
    assert _equal(_weights(one / "encoder.pt"), _weights(two / "encoder.pt"))  # bit-identical after training
    assert not _equal(_weights(one / "encoder_start.pt"), _weights(one / "encoder.pt"))  # stage one did learn

    run_curriculum(tiny("finetune"), tmp_path / "ft", OPTS)
    one, two = tmp_path / "ft/stages/00_one", tmp_path / "ft/stages/01_two"
    assert _equal(_weights(one / "encoder.pt"), _weights(two / "encoder_start.pt"))
    assert not _equal(_weights(one / "encoder.pt"), _weights(two / "encoder.pt"))
    summary = json.loads((two / "summary.json").read_text())
    assert summary["transfer"]["transfer"] == "finetune" and summary["steps_used"] >= 256


@pytest.mark.slow
def test_corrupt_or_mismatched_checkpoint_is_a_clear_error_and_nothing_is_overwritten(tmp_path):
    cfg = tiny("finetune", budget2=512)
    out = tmp_path / "run"
    run_curriculum(dataclasses.replace(cfg, stages=cfg.stages[:1]), out, OPTS)
    # Pretend stage two was interrupted with a corrupt checkpoint: resume must refuse and leave it alone.
    two = out / "stages/01_two"
    two.mkdir(parents=True)
    (two / "checkpoint.zip").write_bytes(b"not a zip")
    (two / "checkpoint.json").write_text(json.dumps({"num_timesteps": 128, "elapsed_s": 1.0}))
    finished = (out / "stages/00_one/summary.json").read_bytes()
    # the added stage is accepted on --resume (stage one, which trained, is unchanged); its checkpoint is not
    with pytest.raises(CheckpointError, match="corrupt or unreadable"):
        run_curriculum(cfg, out, dataclasses.replace(OPTS, resume=True))
    assert (two / "checkpoint.zip").read_bytes() == b"not a zip"
    assert (out / "stages/00_one/summary.json").read_bytes() == finished
    with pytest.raises(RunError, match="--resume"):
        run_curriculum(cfg, out, OPTS)
    # A learner checkpoint of another resolution: a mismatch error, not a crash deep inside SB3.
    shutil.copy(out / "stages/00_one/model.zip", two / "checkpoint.zip")
    big = dataclasses.replace(cfg, width=48, height=48)
    (out / "run.json").write_text(json.dumps({"digest": big.digest()}))
    with pytest.raises(CheckpointError, match="does not match the agent config or envs"):
        run_curriculum(big, out, dataclasses.replace(OPTS, resume=True))


def _occluder_curriculum(second: dict) -> CurriculumConfig:
    occ = {"env_ids": ["Peekaboo/Occluder-v2"], "budget": 64,
           "env_kwargs": {"n_screens": 2, "screen_distance": 0.9, "screen_spacing": 0.6, "show_time": 0.3,
                          "hide_time": 0.3, "search_time": 3.0, "reveal_time": 0.3},
           "graduation": {"threshold": 1.0, "episodes": 1, "eval_every": 100000}}
    return from_dict(CurriculumConfig, {
        "name": "tiny-policy", "width": 32, "height": 32, "checkpoint_every": 64,
        "agent": {"features_dim": 16, "recurrent": True, "lstm_hidden_size": 8, "sequences": "episode",
                  "aux_reveal": 1.0, "ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1}},
        "stages": [{"name": "one", **occ}, {"name": "two", **occ, **second}]})


@pytest.mark.slow
def test_policy_transfer_carries_the_whole_policy(tmp_path):
    from agent.checkpoint import load_checkpoint
    from agent.policy import apply_transfer, build_model, make_vec_env

    cfg = _occluder_curriculum({"transfer": "policy", "rehearsal": 0.5,
                                "env_kwargs": {"n_screens": 3, "show_time": 0.3, "hide_time": 0.3, "search_time": 5.0,
                                               "reveal_time": 0.3}})
    run_curriculum(cfg, tmp_path / "run", dataclasses.replace(OPTS, n_envs=2))
    one, two = tmp_path / "run/stages/00_one", tmp_path / "run/stages/01_two"
    assert json.loads((two / "summary.json").read_text())["transfer"]["transfer"] == "policy"
    venv = make_vec_env(cfg.stages[1], 2, 32, 32, "mujoco", cfg.agent, subprocess=False,
                        earlier=cfg.stages[:1])
    assert [e.unwrapped.task.config.n_screens for e in venv.envs] == [3, 2]  # the second env rehearses stage one
    fresh = build_model(cfg.agent, venv, 1, None)
    source = load_checkpoint(one / "model.zip", cfg.agent)
    apply_transfer(fresh, "policy", one / "encoder.pt", source)
    trained = source.policy.state_dict()
    got = fresh.policy.state_dict()
    assert set(got) == set(trained) and any("lstm_actor" in k for k in got)
    assert all(torch.equal(got[k], trained[k]) for k in got)  # LSTMs and heads too, not only the encoder
    venv.close()


def test_rehearsal_needs_an_earlier_stage():
    from curriculum.config import ConfigError
    with pytest.raises(ConfigError, match="rehearsal"):
        from_dict(CurriculumConfig, {"name": "x", "stages": [{"name": "a", "env_ids": [ENV], "rehearsal": 0.3}]})
