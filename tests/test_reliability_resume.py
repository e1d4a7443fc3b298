"""kill -9 and --resume as a user hits them (#14.3, 14.5, 14.7, 14.9): same weights as an uninterrupted run, clean
logs, one trainer per run folder, a lost checkpoint.json recovered from the zip."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
import torch

from agent.checkpoint import load_checkpoint, read_jsonl
from tests.reliability_util import ROOT, tiny_curriculum


def train(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.train", "--no-progress", *args], check=False,
                          cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent.train", "--no-progress", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def wait_for(proc: subprocess.Popen, ready, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]


def steps_at_least(path: Path, n: int):
    def ready() -> bool:
        try:
            return json.loads(path.read_text())["num_timesteps"] >= n
        except (OSError, ValueError, KeyError):
            return False
    return ready


def scalar_steps(tb: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(tb))
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


@pytest.mark.slow
def test_kill_9_and_resume_gives_the_uninterrupted_weights_and_clean_logs(tmp_path):
    cur = tiny_curriculum(tmp_path / "c.yaml", budget=768,
                          graduation={"threshold": 1.0, "episodes": 2, "eval_every": 384})
    text = cur.read_text().replace("checkpoint_every: 1024", "checkpoint_every: 256")
    cur.write_text(text)
    common = ["--curriculum", str(cur), "--n-envs", "2"]
    r = train(*common, "--out", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr[-3000:]

    run = tmp_path / "b"
    sdir = run / "stages/00_look"
    proc = start(*common, "--out", str(run))
    wait_for(proc, steps_at_least(sdir / "checkpoint.json", 256))
    os.killpg(proc.pid, signal.SIGKILL)  # the trainer and its env workers, mid-stage
    proc.wait()
    killed_at = json.loads((sdir / "checkpoint.json").read_text())["num_timesteps"]
    (sdir / ".checkpoint.zip.partial-4242").write_bytes(b"half a zip")  # as a write killed mid-way leaves it
    r = train(*common, "--out", str(run), "--resume")
    assert r.returncode == 0, r.stderr[-3000:]

    a = load_checkpoint(tmp_path / "a/stages/00_look/model.zip").policy.state_dict()
    b = load_checkpoint(sdir / "model.zip").policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), f"resumed from step {killed_at}: weights differ"
    assert not list(sdir.glob(".*partial*"))
    steps = [row["step"] for row in read_jsonl(sdir / "train.jsonl")]
    assert steps == sorted(set(steps)) == [row["step"] for row in read_jsonl(tmp_path / "a/stages/00_look/train.jsonl")]
    # TensorBoard: the points logged again after the resume replace those of the killed run (no duplicates)
    assert scalar_steps(sdir / "tb/ppo_1", "time/fps") == scalar_steps(tmp_path / "a/stages/00_look/tb/ppo_1",
                                                                     "time/fps")
    mask = os.umask(0)
    os.umask(mask)
    for name in ("checkpoint.zip", "checkpoint.json", "summary.json", "model.zip"):
        assert (sdir / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


@pytest.mark.slow
def test_second_trainer_is_refused_naming_the_holder_and_the_lock_dies_with_it(tmp_path):
    # the holder neither checkpoints nor graduates meanwhile, so a checkpoint would be the refused trainer's
    cur = tiny_curriculum(tmp_path / "c.yaml", budget=100_000,
                          graduation={"threshold": 1.0, "episodes": 1, "eval_every": 1_000_000})
    cfg = yaml.safe_load(cur.read_text())
    cfg["checkpoint_every"] = 1_000_000
    cur.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    args = ["--curriculum", str(cur), "--out", str(run), "--n-envs", "1", "--in-process"]
    proc = start(*args)
    try:
        wait_for(proc, lambda: (run / "stages/00_look/stage.json").exists())
        r = train(*args, "--resume", timeout=120)
        assert r.returncode == 2 and f"PID {proc.pid}" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (run / "stages/00_look/checkpoint.zip").exists()  # nothing written by the refused one
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with open(run / "trainer.lock") as f:  # released by the kernel when its holder died
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.slow
def test_missing_checkpoint_json_is_recovered_from_the_zip(tmp_path):
    cur = tiny_curriculum(tmp_path / "c.yaml", budget=640,
                          graduation={"threshold": 1.0, "episodes": 2, "eval_every": 100_000})
    cur.write_text(cur.read_text().replace("checkpoint_every: 1024", "checkpoint_every: 256"))
    run = tmp_path / "run"
    sdir = run / "stages/00_look"
    args = ["--curriculum", str(cur), "--out", str(run), "--n-envs", "2"]
    proc = start(*args)
    wait_for(proc, steps_at_least(sdir / "checkpoint.json", 256))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    step = json.loads((sdir / "checkpoint.json").read_text())["num_timesteps"]
    (sdir / "checkpoint.json").unlink()
    r = train(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"from step {step} recorded in checkpoint.zip" in r.stderr
    summary = json.loads((sdir / "summary.json").read_text())
    assert 640 <= summary["steps_used"] < 640 + 128  # continued from the zip's step, not restarted from 0
    steps = [row["step"] for row in read_jsonl(sdir / "train.jsonl")]
    assert steps == sorted(set(steps))


@pytest.mark.slow
def test_a_kill_before_the_first_checkpoint_leaves_no_stale_log_rows(tmp_path):
    cur = tiny_curriculum(tmp_path / "c.yaml", budget=100_000)
    run = tmp_path / "run"
    sdir = run / "stages/00_look"
    args = ["--curriculum", str(cur), "--out", str(run), "--n-envs", "1", "--in-process"]
    proc = start(*args)
    wait_for(proc, lambda: len(read_jsonl(sdir / "train.jsonl")) >= 2)
    os.killpg(proc.pid, signal.SIGKILL)  # before the first checkpoint (checkpoint_every 1024)
    proc.wait()
    assert not (sdir / "checkpoint.zip").exists()
    cur.write_text(cur.read_text().replace("budget: 100000", "budget: 64"))  # the stage never checkpointed
    r = train(*args, "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    steps = [row["step"] for row in read_jsonl(sdir / "train.jsonl")]
    assert steps == [32, 64]  # the restarted stage's rows only
    assert [p.name for p in (sdir / "tb").iterdir()] == ["ppo_1"]
