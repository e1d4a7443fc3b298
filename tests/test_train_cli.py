"""The real CLI: the smoke curriculum graduates its first stage and transfers its encoder; kill -9 and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from agent.checkpoint import read_jsonl
from agent.encoder import read_encoder

ROOT = Path(__file__).resolve().parents[1]


def train(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.train", "--no-progress", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_smoke_curriculum_graduates_and_transfers(tmp_path):
    t = time.perf_counter()
    r = train("--curriculum", "curriculum/smoke.yaml", "--out", str(tmp_path / "run"), "--n-envs", "2")
    wall = time.perf_counter() - t
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / "run"
    look = json.loads((run / "stages/00_look/summary.json").read_text())
    assert look["graduated"], look
    assert look["final_success"] >= 0.8 and look["steps_used"] <= 12288
    for key in ("steps_used", "graduated", "final_success", "wall_s", "env_steps_per_s"):
        assert key in look
    a = read_encoder(run / "stages/00_look/encoder.pt")["state_dict"]
    b = read_encoder(run / "stages/01_approach/encoder_start.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # stage 2 starts from stage 1's encoder
    assert list((run / "stages/00_look/tb").rglob("events.out.tfevents.*"))
    # the batched worlds report finished episodes as SB3's Monitor would: the learning curve has them
    rows = read_jsonl(run / "stages/00_look/train.jsonl")
    assert any("success_rate" in row and row["ep_len_mean"] > 0 for row in rows)
    assert (run / "stages/01_approach/summary.json").exists() and (run / "summary.json").exists()
    print(f"smoke curriculum wall {wall:.1f}s; look: {look}")


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path):
    cfg = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    cfg["checkpoint_every"] = 256
    cfg["stages"][0].update(budget=1536, graduation={"threshold": 1.0, "episodes": 2, "eval_every": 100000})
    cfg["stages"] = cfg["stages"][:1]
    cur = tmp_path / "c.yaml"
    cur.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    args = ["--curriculum", str(cur), "--out", str(run), "--n-envs", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "agent.train", "--no-progress", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    ckpt = run / "stages/00_look/checkpoint.json"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists() and json.loads(ckpt.read_text())["num_timesteps"] >= 512:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.killpg(proc.pid, signal.SIGKILL)  # the trainer and its env workers, mid-stage
    proc.wait()
    killed_at = json.loads(ckpt.read_text())["num_timesteps"]
    assert not (run / "stages/00_look/summary.json").exists()

    r = train(*args)  # without --resume: refused, nothing touched
    assert r.returncode == 2 and "--resume" in r.stderr
    r = train(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((run / "stages/00_look/summary.json").read_text())
    assert 1536 <= summary["steps_used"] < 1536 + 256
    steps = [row["step"] for row in read_jsonl(run / "stages/00_look/train.jsonl")]
    assert steps == sorted(steps) and steps[0] <= killed_at  # the log continues from the checkpoint
    finished = (run / "stages/00_look/summary.json").read_bytes()
    model = (run / "stages/00_look/model.zip").read_bytes()
    r = train(*args, "--resume")  # a finished stage is never retrained nor overwritten
    assert r.returncode == 0
    assert (run / "stages/00_look/summary.json").read_bytes() == finished
    assert (run / "stages/00_look/model.zip").read_bytes() == model


@pytest.mark.slow
@pytest.mark.parametrize("envs", ["batched", "--no-batched"])
def test_ctrl_c_checkpoints_where_it_stopped_then_resume(tmp_path, envs):
    cfg = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    cfg["checkpoint_every"] = 100_000  # no periodic checkpoint: only the interruption can have written one
    cfg["stages"][0].update(budget=6144, graduation={"threshold": 1.0, "episodes": 2, "eval_every": 100000})
    cfg["stages"] = cfg["stages"][:1]
    cur = tmp_path / "c.yaml"
    cur.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    args = ["--curriculum", str(cur), "--out", str(run), "--n-envs", "2"] + ([envs] if envs.startswith("--") else [])
    proc = subprocess.Popen([sys.executable, "-m", "agent.train", "--no-progress", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    log = run / "stages/00_look/train.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and len(read_jsonl(log)) < 4:
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    t = time.time()
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the trainer and its env workers
    try:
        err = proc.communicate(timeout=60)[1].decode()
    finally:  # a hung trainer must not outlive the test
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-2000:]
    assert time.time() - t < 20 and "--resume" in err and "Traceback" not in err
    stopped_at = json.loads((run / "stages/00_look/checkpoint.json").read_text())["num_timesteps"]
    assert stopped_at >= 4 * 64  # four rollouts of 2 envs x 32 steps were logged before the signal

    r = train(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run / "stages/00_look/summary.json").read_text())["steps_used"] >= 6144


def test_flags_are_derived_from_run_options():
    """agent.train's flags come from RunOptions: same defaults, every field a flag with its docstring as help, and
    the flags users have today still set the same options."""
    import dataclasses

    from agent.cli import dataclass_from_args, field_docs
    from agent.runner import RunOptions
    from agent.train import parse_args

    base = ["--curriculum", "c.yaml", "--out", "o"]
    assert dataclass_from_args(RunOptions, parse_args(base)) == RunOptions()
    docs = field_docs(RunOptions)
    assert set(docs) == {f.name for f in dataclasses.fields(RunOptions)} and all(docs.values())
    today = ["--n-envs", "4", "--in-process", "--backend", "habitat", "--resume", "--until", "s1",
             "--torch-threads", "3", "--no-batched", "--no-progress"]
    assert dataclass_from_args(RunOptions, parse_args(base + today)) == RunOptions(
        n_envs=4, subprocess=False, backend="habitat", resume=True, until="s1", torch_threads=3, batched=False,
        progress=False)
    with pytest.raises(SystemExit):
        parse_args([*base, "--backend", "unity"])


def test_help_names_every_option(capsys):
    from agent.train import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--help"])
    out = capsys.readouterr().out
    for flag in ("--n-envs", "--in-process", "--no-batched", "--no-progress", "--torch-threads", "--until"):
        assert flag in out
    assert "Parallel envs" in out  # RunOptions.n_envs's docstring


@pytest.mark.slow
def test_seed_flag_overrides_the_curriculum_seed(tmp_path):
    cfg = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    cfg["stages"] = cfg["stages"][:1]
    cfg["stages"][0].update(budget=64, graduation={"threshold": 1.0, "episodes": 1, "eval_every": 100000})
    cfg["agent"]["ppo"] = {**cfg["agent"].get("ppo", {}), "n_steps": 32, "batch_size": 64, "n_epochs": 1}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = train("--curriculum", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run"), "--n-envs", "2",
              "--in-process", "--seed", "7")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path / "run/curriculum.json").read_text())["seed"] == 7
    bad = train("--curriculum", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "bad"), "--seed", "-1")
    assert bad.returncode == 2 and "--seed" in bad.stderr
