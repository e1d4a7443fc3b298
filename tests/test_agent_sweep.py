"""agent.experiment --ray local: the real CLI on a Ray cluster started on this machine, at a tiny budget. The trials'
results and run folders match a sequential run's; a trial whose worker is killed mid-run is retried and continues
from its checkpoint; a trial that fails for good is reported while the others finish."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent import sweep

ROOT = Path(__file__).resolve().parents[1]
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray not installed (pip install -e '.[cluster]')")


def tiny_curriculum(tmp_path: Path, budget: int = 128, checkpoint_every: int = 1024) -> Path:
    cfg = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    cfg["checkpoint_every"] = checkpoint_every
    for stage in cfg["stages"]:
        stage["budget"] = budget
        stage["graduation"] = {"threshold": 1.0, "episodes": 2, "eval_every": budget}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def experiment(cur: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", str(cur), "--target", "approach",
                           "--out", str(out), "--n-envs", "2", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})}, check=False)


def files(run: Path) -> list[str]:
    """A run folder's layout (TensorBoard event files are named by host and time, so only their folder counts)."""
    return sorted(str(p.relative_to(run).parent if "tb" in p.parts else p.relative_to(run))
                  for p in run.rglob("*") if p.is_file())


@needs_ray
@pytest.mark.ray
@pytest.mark.slow
def test_ray_sweep_matches_the_sequential_run(tmp_path):
    cur = tiny_curriculum(tmp_path)
    seq, par = tmp_path / "seq", tmp_path / "ray"
    r = experiment(cur, seq, "--seeds", "0")
    assert r.returncode == 0, r.stderr[-3000:]
    # 1 CPU per trial: both trials at once on a 2-CPU machine
    r = experiment(cur, par, "--seeds", "0", "--ray", "local", "--trial-cpus", "1")
    assert r.returncode == 0, r.stderr[-3000:]

    def rows(out: Path) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in json.loads((out / "results.json").read_text())]

    assert [(r["arm"], r["seed"]) for r in rows(par)] == [("shared", 0), ("scratch", 0)]
    assert rows(par) == rows(seq)  # same seeds → same steps, evaluations and curve statistics
    for trial in ("shared_seed0", "scratch_seed0"):
        assert files(par / trial) == files(seq / trial)
        assert (par / trial / "stages").is_dir()
    assert (par / "transfer.png").stat().st_size > 1000 and (par / "curves.png").stat().st_size > 1000


@needs_ray
@pytest.mark.ray
@pytest.mark.slow
def test_ray_sweep_retries_a_killed_trial_and_reports_a_failed_one(tmp_path):
    cur = tiny_curriculum(tmp_path, budget=256, checkpoint_every=64)
    out = tmp_path / "exp"
    # the shared arm fails for good: its run folder holds something that is not a run (a RunError, not retried)
    (out / "shared_seed0").mkdir(parents=True)
    (out / "shared_seed0" / "notes.txt").write_text("not a run")
    marker = tmp_path / "killed"
    r = experiment(cur, out, "--seeds", "0", "--ray", "local", "--trial-cpus", "1", "--max-retries", "1",
                   env={sweep.KILL_ONCE_ENV: str(marker)})
    assert r.returncode == 1, r.stderr[-3000:]
    assert "error: trial shared_seed0: RunError" in r.stderr
    killed, killed_at = marker.read_text().split()
    assert killed == "scratch_seed0" and int(killed_at) >= 64  # its worker died after its first checkpoint
    rows = {row["arm"]: row for row in json.loads((out / "results.json").read_text())}
    assert "not empty and holds no run.json" in rows["shared"]["error"]
    scratch = rows["scratch"]
    assert "error" not in scratch and scratch["steps_used"] >= 256 and scratch["evals"] >= 1
    assert scratch["resumed_from_step"] >= int(killed_at)  # the retry continued from the checkpoint
    assert (out / "scratch_seed0/stages/00_approach/summary.json").exists()
    assert (out / "transfer.png").exists()


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when it is not installed
    with pytest.raises(sweep.SweepError, match=r"pip install -e '\.\[cluster\]'"):
        sweep.import_ray()


@needs_ray
def test_ray_auto_without_a_cluster_says_how_to_start_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    r = subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", "curriculum/smoke.yaml",
                        "--target", "approach", "--out", str(tmp_path / "exp"), "--ray", "auto"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env=env, check=False)
    assert r.returncode == 2 and "error: no Ray cluster" in r.stderr and "ray start --head" in r.stderr
    assert not (tmp_path / "exp" / "results.json").exists()


@needs_ray
def test_ray_local_refuses_a_trial_the_machine_cannot_hold(tmp_path):
    r = subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", "curriculum/smoke.yaml",
                        "--target", "approach", "--out", str(tmp_path / "exp"), "--ray", "local", "--trial-cpus",
                        "1000"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and "each trial asks for 1000 CPUs" in r.stderr and "lower --trial-cpus" in r.stderr
