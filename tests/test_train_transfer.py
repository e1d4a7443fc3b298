"""Real PPO on the real env at 32x32: transfer modes and checkpoint errors (in-process, tiny budgets)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

from agent.encoder import read_encoder
from agent.policy import CheckpointError
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
    with pytest.raises(RunError, match="different curriculum"):
        run_curriculum(cfg, out, dataclasses.replace(OPTS, resume=True))  # digest differs from the 1-stage run
    (out / "run.json").write_text(json.dumps({"digest": cfg.digest()}))
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
    with pytest.raises(CheckpointError, match="does not match this stage.s envs"):
        run_curriculum(big, out, dataclasses.replace(OPTS, resume=True))
