"""Self-supervised pre-training end to end on the real simulator at 32 px (tiny budgets), and its encoder
starting a real curriculum stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from agent.encoder import read_encoder
from agent.pretrain import config_from_dict, load_config, main, pretrain
from agent.runner import RunOptions, run_curriculum
from agent.world_model import load_world_model
from curriculum import ConfigError, load_curriculum

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "width": 32, "height": 32,
        "data": {"frames": 1536, "val_frames": 384, "clip_len": 48, "shard_clips": 16},
        "model": {"features_dim": 32, "hidden": 32, "horizon": 2},
        "train": {"steps": 80, "batch_size": 8, "eval_every": 40, "checkpoint_every": 40, "shift": 2}}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pre") / "run"
    pretrain(config_from_dict(TINY), out, progress=False)
    return out


@pytest.mark.slow  # ~20 s: renders ~2000 frames and trains 80 steps (the fixture)
def test_tiny_pretraining_loss_falls(tiny_run):
    s = json.loads((tiny_run / "summary.json").read_text())
    assert s["val_final"]["loss"] < s["val_untrained"]["loss"] - 0.1
    assert s["train_loss_last20"] < s["train_loss_first20"]
    assert s["train_frames"] > 1000 and s["steps"] == 80
    model, meta = load_world_model(tiny_run)
    assert meta["steps"] == 80 and model.spec["features_dim"] == 32
    # the written encoder is the world model's own
    enc = read_encoder(tiny_run / "encoder.pt")
    assert all(torch.equal(enc["state_dict"][k], v) for k, v in model.encoder.state_dict().items())
    # a finished run is not retrained, and is refused without --resume
    assert pretrain(config_from_dict(TINY), tiny_run, resume=True, progress=False)["steps"] == 80
    assert main(["--config", str(ROOT / "curriculum/pretrain.yaml"), "--out", str(tiny_run), "--no-progress"]) == 2


@pytest.mark.slow
def test_pretrained_encoder_starts_a_curriculum_stage(tiny_run, tmp_path):
    cur = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    cur["agent"]["features_dim"] = 32
    stage = cur["stages"][0]
    stage.update(budget=64, encoder=str(tiny_run), transfer="freeze",
                 graduation={"threshold": 1.0, "episodes": 1, "eval_every": 100000})
    cur["stages"] = [stage]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cur))
    cfg = load_curriculum(path)
    assert cfg.stages[0].encoder_file() == str(tiny_run / "encoder.pt")
    run_curriculum(cfg, tmp_path / "run", RunOptions(n_envs=1, subprocess=False, progress=False))
    sdir = tmp_path / "run/stages/00_look"
    summary = json.loads((sdir / "summary.json").read_text())
    assert summary["transfer"]["transfer"] == "freeze" and summary["transfer"]["from"] == str(tiny_run / "encoder.pt")
    want, got = read_encoder(tiny_run / "encoder.pt")["state_dict"], read_encoder(sdir / "encoder.pt")["state_dict"]
    assert all(torch.equal(want[k], got[k]) for k in want)  # loaded, then frozen
    # a stage without `encoder` has the same definition (and digest) as before the key existed
    assert "encoder" not in load_curriculum(ROOT / "curriculum/smoke.yaml").to_dict()["stages"][0]
    stage["encoder"] = str(tmp_path / "nowhere")
    path.write_text(yaml.safe_dump(cur))
    with pytest.raises(ConfigError, match="no encoder file"):
        load_curriculum(path)


def test_pretrain_config_errors_name_the_key(tmp_path, capsys):
    assert load_config(ROOT / "curriculum/pretrain.yaml").model.objective == "contrastive"
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump({**TINY, "model": {"objectiv": "latent"}}))
    assert main(["--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "objectiv" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="mix"):
        config_from_dict({"data": {"mix": {"battery": 1, "tv": 1}}})


@pytest.mark.slow
def test_voe_report_of_the_pretrained_model(tiny_run, tmp_path):
    from tools.voe import main as voe
    out = tmp_path / "voe"
    assert voe(["--model", str(tiny_run), "--out", str(out), "--episodes", "3", "--probes", "occluder_vanish"]) == 0
    report = json.loads((out / "report.json").read_text())
    probe = report["probes"]["occluder_vanish"]
    assert set(probe["models"]) == {"trained", "untrained", "feedforward"}
    assert probe["models"]["trained"]["surprise"]["n"] == 3 and len(probe["critical_frames"]) == 3
    assert "| occluder_vanish | yes | trained |" in (out / "report.md").read_text()
    assert all((out / f).stat().st_size > 1000 for f in ("differences.png", "curves.png", "pair.mp4"))
    assert voe(["--model", str(tmp_path / "none"), "--out", str(out)]) == 2


PIXELS = {**TINY, "model": {**TINY["model"], "objective": "pixels", "horizon": 1},
          "train": {**TINY["train"], "steps": 60, "shift": 0, "learning_rate": 0.001}}


@pytest.mark.slow  # ~11 s after the tiny run (slow): trains 60 steps on its clips, then plays 3 VoE pairs
def test_pixels_objective_loss_falls_and_voe_scores_it(tiny_run, tmp_path):
    from tools.voe import main as voe
    run = tmp_path / "pix"
    s = pretrain(config_from_dict(PIXELS), run, progress=False, video_dir=tiny_run / "video")
    assert s["objective"] == "pixels"
    assert s["val_final"]["loss"] < 0.9 * s["val_untrained"]["loss"]
    assert s["train_loss_last20"] < s["train_loss_first20"]
    model, _ = load_world_model(run)
    assert model.pixels and model.spec["pixels"] and model.decoder is not None
    enc = read_encoder(run / "encoder.pt")  # the curriculum's format, the world model's own weights
    assert all(torch.equal(enc["state_dict"][k], v) for k, v in model.encoder.state_dict().items())
    out = tmp_path / "voe"
    assert voe(["--model", str(run), "--out", str(out), "--episodes", "3", "--probes", "occluder_vanish"]) == 0
    models = json.loads((out / "report.json").read_text())["probes"]["occluder_vanish"]["models"]
    assert models["trained"]["surprise"]["n"] == 3 and set(models) == {"trained", "untrained", "feedforward"}


def test_pixel_surprise_is_calibrated_zero_when_the_frame_is_predicted():
    """With its last layer zeroed the decoder predicts no change: surprise is then exactly the summed squared
    change of each frame (0 on the static search frames), the error scale the pixels objective promises."""
    import numpy as np

    from agent.voe import render_pair
    from agent.world_model import WorldModel
    pair = render_pair("occluder_vanish", 7, 32, 32)
    model = WorldModel(32, 32, "fast", 32, 32, 1, pixels=True).eval()
    last = model.decoder.up[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    frames = torch.from_numpy(pair.impossible[None])
    s = model.surprise(frames, torch.zeros(frames.shape[:2], dtype=torch.long))[0].numpy()
    f = pair.impossible.astype(np.float64) / 255
    want = ((f[1:] - f[:-1]) ** 2).sum((1, 2, 3))
    assert np.allclose(s[1:], want, atol=1e-4) and s[0] == 0
    assert (want == 0).sum() > 20 and want.max() > 0.1  # static frames and moving ones both occur


def test_a_run_saved_before_a_config_key_existed_still_resumes(tmp_path):
    """models/world-model's config.json predates model.change_weight: a key added since takes its default."""
    saved = json.loads((ROOT / "models/world-model/config.json").read_text())
    assert "change_weight" not in saved["model"]
    for name in ("config.json", "summary.json"):
        (tmp_path / name).write_text((ROOT / "models/world-model" / name).read_text())
    assert pretrain(config_from_dict(saved), tmp_path, resume=True, progress=False)["steps"] == saved["train"]["steps"]


def test_shipped_world_model_loads_and_fits_the_default_curriculum():
    import gymnasium as gym

    from agent.encoder import InfantEncoder, load_encoder
    folder = ROOT / "models/world-model"
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 10 * 2**20
    model, meta = load_world_model(folder)
    default = load_curriculum(ROOT / "curriculum/default.yaml")
    assert (model.spec["width"], model.spec["height"], model.spec["features_dim"], model.spec["arch"]) == \
        (default.width, default.height, default.agent.features_dim, default.agent.encoder)
    enc = InfantEncoder(gym.spaces.Box(0, 255, (3, default.height, default.width), dtype="uint8"),
                        default.agent.features_dim, default.agent.encoder, pixel_scale=1 / 255)
    assert load_encoder(enc, folder / "encoder.pt")["stage"] == "pretrain"
    assert meta["steps"] == json.loads((folder / "summary.json").read_text())["steps"]


@pytest.mark.slow
def test_ctrl_c_keeps_the_work_and_resume_ends_with_the_same_weights(tiny_run, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = {**TINY, "train": {**TINY["train"], "steps": 120, "checkpoint_every": 10, "eval_every": 120}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(cfg))
    video = str(tiny_run / "video")  # the same clips: nothing to render
    args = [sys.executable, "-m", "agent.pretrain", "--config", str(path), "--video-dir", video, "--no-progress"]
    # both runs in subprocesses with one torch thread: bit-identical weights need the same reduction order
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([*args, "--out", str(tmp_path / "b")], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (tmp_path / "b/checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
    stopped = torch.load(tmp_path / "b/checkpoint.pt", weights_only=True)["step"]
    assert 10 <= stopped < 120 and not (tmp_path / "b/encoder.pt").exists()
    resumed = subprocess.run([*args, "--out", str(tmp_path / "b"), "--resume"], cwd=ROOT, env=env, check=False)
    assert resumed.returncode == 0
    assert subprocess.run([*args, "--out", str(tmp_path / "a")], cwd=ROOT, env=env, check=False).returncode == 0
    a, b = read_encoder(tmp_path / "a/encoder.pt")["state_dict"], read_encoder(tmp_path / "b/encoder.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(line) for line in (tmp_path / "b/metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 121))  # the log was trimmed to the checkpoint, no repeats


def test_world_model_can_start_from_a_trained_agents_encoder(tmp_path):
    """model.init_encoder: an agent's folder (or model.zip, or encoder.pt) gives the world model its encoder and
    target; an encoder of another resolution is a clear error."""
    from agent.encoder import EncoderCheckpointError
    from agent.pretrain import build_model
    from tools.agents import load_checkpoint

    cfg = load_config("curriculum/pretrain_reveal_agentenc.yaml")
    assert cfg.model.init_encoder == "models/permanence-baseline"
    model = build_model(cfg)
    agent = load_checkpoint("models/permanence-baseline")[0].policy.features_extractor.state_dict()
    for k, v in agent.items():
        assert torch.equal(model.encoder.state_dict()[k], v) and torch.equal(model.target.state_dict()[k], v)
    small = config_from_dict({"width": 32, "height": 32, "model": {"init_encoder": "models/permanence-baseline"}})
    with pytest.raises(EncoderCheckpointError, match="does not fit"):
        build_model(small)


def test_shipped_reveal_world_model_expects_the_toy_where_it_was_hidden():
    """models/world-model-reveal (encoder from the permanence agent): on a held-out occluder_swap pair its reveal
    head is surprised when the toy reappears behind the other screen, and its memoryless twin less so."""
    from agent.voe import render_pair, reveal_surprise

    model, _ = load_world_model("models/world-model-reveal")
    assert model.reveal and model.spec["width"] == 64
    pair = render_pair("occluder_swap", seed=2_000_000_123, width=64, height=64)
    rp, ri = reveal_surprise(model, pair)
    fp, fi = reveal_surprise(model, pair, recurrent=False)
    assert ri - rp > 1.0 and ri - rp > fi - fp
