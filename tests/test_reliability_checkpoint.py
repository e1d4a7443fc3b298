"""Loading a checkpoint never runs code from it (#14.1); the one loader matches SB3's own load."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from agent.checkpoint import CheckpointError, checkpoint_steps, load_checkpoint, save_model
from agent.policy import algo_class
from tests.reliability_util import ROOT, cli, genuine_checkpoint, started_run, tamper, tiny_curriculum


@pytest.mark.parametrize("agent", [{}, {"recurrent": True}, {"frame_stack": 2}], ids=["ppo", "recurrent", "stack2"])
def test_genuine_checkpoint_loads_and_acts_as_sb3_load(tmp_path, agent):
    path, cfg = genuine_checkpoint(tmp_path / "stage", **agent)
    ours = load_checkpoint(path)  # config from the zip's own metadata
    theirs = algo_class(cfg).load(path, device="cpu")
    a, b = ours.policy.state_dict(), theirs.policy.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    oa, ob = ours.policy.optimizer.state_dict(), theirs.policy.optimizer.state_dict()
    assert oa["param_groups"] == ob["param_groups"]
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    obs = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3 * cfg.frame_stack), dtype=np.uint8)
    starts = np.ones(3, bool)
    pa, sa = ours.predict(obs, episode_start=starts, deterministic=True)
    pb, sb = theirs.predict(obs, episode_start=starts, deterministic=True)
    assert np.array_equal(pa, pb)
    if cfg.recurrent:
        assert all(np.array_equal(x, y) for x, y in zip(sa, sb))
    assert checkpoint_steps(path) == 0


def test_payload_in_a_known_field_is_never_unpickled(tmp_path):
    path, cfg = genuine_checkpoint(tmp_path / "stage")
    marker = tmp_path / "owned"
    bad = tamper(path, tmp_path / "stage" / "bad.zip", marker, field="observation_space")
    model = load_checkpoint(bad, cfg)  # the space is rebuilt from the JSON part, the pickle is ignored
    assert model.observation_space.shape == (3, 32, 32)
    assert not marker.exists()


def test_tampered_checkpoint_is_refused_by_every_entry_point_and_runs_nothing(tmp_path):
    path, cfg = genuine_checkpoint(tmp_path / "stage")
    marker = tmp_path / "owned"
    bad = tamper(path, tmp_path / "stage" / "bad.zip", marker)
    with pytest.raises(CheckpointError, match="evil.*--trust-pickle"):
        load_checkpoint(bad, cfg)

    r = cli("tools.evaluate", "--agent", str(bad), "--tasks", "occluder", "--episodes", "1",
            "--out", str(tmp_path / "eval"))
    assert r.returncode == 2 and "--trust-pickle" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = cli("tools.record", "--checkpoint", str(bad), "--episodes", "1", "--out", str(tmp_path / "rec"))
    assert r.returncode == 2 and "--trust-pickle" in r.stderr and "Traceback" not in r.stderr, r.stderr

    # a run whose stage checkpoint was swapped for the tampered file: --resume refuses it
    cur = tiny_curriculum(tmp_path / "c.yaml")
    from agent.checkpoint import write_json
    run = tmp_path / "run"
    sdir = started_run(cur, run)
    shutil.copy(bad, sdir / "checkpoint.zip")
    write_json(sdir / "checkpoint.json", {"num_timesteps": 0, "elapsed_s": 0.0, "graduated": False,
                                          "finished": False, "transfer": {"transfer": "scratch"}})
    r = cli("agent.train", "--no-progress", "--curriculum", str(cur), "--out", str(run), "--n-envs", "1",
            "--in-process", "--resume")
    assert r.returncode == 2 and "--trust-pickle" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not marker.exists()

    # the escape hatch really unpickles (so the refusals above are what kept the payload from running)
    r = cli("tools.record", "--checkpoint", str(bad), "--episodes", "1", "--out", str(tmp_path / "rec"),
            "--trust-pickle")
    assert "warning: --trust-pickle" in r.stderr
    assert marker.exists()


def test_foreign_checkpoint_without_metadata_needs_trust_pickle(tmp_path):
    path, cfg = genuine_checkpoint(tmp_path / "stage")
    (tmp_path / "stage/stage.json").unlink()
    with zipfile.ZipFile(path) as z:  # an SB3 zip of someone else: no Peekaboo metadata
        entries = {n: z.read(n) for n in z.namelist() if n != "peekaboo.json"}
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    with pytest.raises(CheckpointError, match="no Peekaboo metadata.*--trust-pickle"):
        load_checkpoint(foreign)
    assert load_checkpoint(foreign, cfg).num_timesteps == 0  # with the agent config it rebuilds
    with pytest.raises(CheckpointError, match="RecurrentPPO|recurrent"):
        import dataclasses
        load_checkpoint(foreign, dataclasses.replace(cfg, recurrent=True))


def test_corrupt_and_missing_checkpoints_are_one_line_errors(tmp_path):
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    r = cli("tools.evaluate", "--agent", str(tmp_path / "junk.zip"), "--tasks", "occluder", "--episodes", "1",
            "--out", str(tmp_path / "e"))
    assert r.returncode == 2 and "corrupt" in r.stderr and "Traceback" not in r.stderr
    r = cli("tools.record", "--checkpoint", str(tmp_path / "nothere"), "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "'" + str(tmp_path / "nothere") + "'" in r.stderr and ".zip.zip" not in r.stderr
    r = cli("tools.record", "--checkpoint", str(tmp_path / "junk.zip"), "--episodes", "0", "--out",
            str(tmp_path / "r"))
    assert r.returncode == 2 and "--episodes 0" in r.stderr
    assert not (tmp_path / "r").exists()


def test_atomic_writes_respect_the_umask_and_leave_no_temp_files(tmp_path):
    code = ("import os, json; os.umask(0o022); from agent.checkpoint import write_json, atomic_write; "
            f"write_json({str(tmp_path / 'a.json')!r}, {{'x': 1}}); atomic_write({str(tmp_path / 'b.bin')!r}, b'1')")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    for name in ("a.json", "b.bin"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.bin"]
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}


def test_save_model_adds_metadata_that_the_loader_uses(tmp_path):
    path, cfg = genuine_checkpoint(tmp_path / "stage", recurrent=True)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("peekaboo.json"))
    assert meta["algorithm"] == "RecurrentPPO" and meta["agent"]["recurrent"] is True
    model = load_checkpoint(path)
    save_model(model, tmp_path / "again.zip", cfg)
    assert load_checkpoint(tmp_path / "again.zip").policy.lstm_hidden_state_shape == model.policy.lstm_hidden_state_shape
