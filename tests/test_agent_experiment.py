"""agent.experiment, the real CLI at a tiny budget: both arms train, the scratch arm starts fresh, results and
plots are written, and a later invocation with another seed keeps the earlier rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_experiment_runs_both_arms_and_merges_seeds(tmp_path):
    cfg = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    for stage in cfg["stages"]:
        stage["budget"] = 128
        stage["graduation"] = {"threshold": 1.0, "episodes": 2, "eval_every": 128}
    cur = tmp_path / "tiny.yaml"
    cur.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "exp"

    def run(seed: str) -> None:
        r = subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", str(cur), "--target",
                            "approach", "--seeds", seed, "--out", str(out), "--n-envs", "2"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600, check=False)
        assert r.returncode == 0, r.stderr[-3000:]

    run("0")
    run("1")
    rows = json.loads((out / "results.json").read_text())
    assert sorted((r["arm"], r["seed"]) for r in rows) == [("scratch", 0), ("scratch", 1), ("shared", 0),
                                                           ("shared", 1)]
    for r in rows:
        assert r["steps_used"] >= 128 and r["evals"] >= 1 and 0.0 <= r["mean_success"] <= 1.0
        assert (r["pre_stage_steps"] == 0) == (r["arm"] == "scratch")  # the shared arm trained 'look' first
    shared = json.loads((out / "shared_seed0/stages/01_approach/summary.json").read_text())
    scratch = json.loads((out / "scratch_seed0/stages/00_approach/summary.json").read_text())
    assert shared["transfer"]["transfer"] == "finetune" and scratch["transfer"]["transfer"] == "scratch"
    assert (out / "transfer.png").stat().st_size > 1000 and (out / "curves.png").stat().st_size > 1000


def test_unknown_target_stage_is_named(tmp_path):
    r = subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", "curriculum/smoke.yaml",
                        "--target", "occluder", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2 and "'occluder' is not a stage" in r.stderr and "approach" in r.stderr
