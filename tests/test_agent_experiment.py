"""agent.experiment, the real CLI at a tiny budget: both arms train, the scratch arm starts fresh, results and
plots are written, and a later invocation with another seed keeps the earlier rows; ``--budget`` sets a stage's
budget; agent.experiment_table reads every stage of those runs into its per-stage table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import argparse

import pytest
import yaml

from agent import experiment_table
from agent.experiment import parse_budget, with_budgets
from curriculum.config import ConfigError, load_curriculum

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
                            "approach", "--seeds", seed, "--out", str(out), "--n-envs", "2", "--budget", "look=64"], cwd=ROOT,
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
    look = json.loads((out / "shared_seed0/stages/00_look/summary.json").read_text())
    assert look["budget"] == 64 and shared["budget"] == 128  # --budget look=64 changed look's budget only

    # the per-stage table: look comes from the shared runs' first stage, which started from scratch
    table = tmp_path / "table"
    assert experiment_table.main([str(out), "--out", str(table)]) == 0
    data = json.loads((table / "stages.json").read_text())
    assert sorted((r["stage"], r["arm"], r["seed"]) for r in data["rows"]) == [
        ("approach", "scratch", 0), ("approach", "scratch", 1), ("approach", "shared", 0), ("approach", "shared", 1),
        ("look", "scratch", 0), ("look", "scratch", 1)]
    assert data["arms"]["approach"]["shared"]["seeds"] == [0, 1] and "shared" in data["differences"]["approach"]
    assert "| look | scratch | 2 |" in (table / "table.md").read_text()
    assert (table / "stages.png").stat().st_size > 1000


def test_unknown_target_stage_is_named(tmp_path):
    r = subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", "curriculum/smoke.yaml",
                        "--target", "occluder", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2 and "'occluder' is not a stage" in r.stderr and "approach" in r.stderr


def test_budget_flag_parses_stage_and_steps():
    assert parse_budget("occluder=50_000") == ("occluder", 50000)
    for bad in ("occluder", "=5", "occluder=0", "occluder=many"):
        with pytest.raises(argparse.ArgumentTypeError, match="STAGE=STEPS"):
            parse_budget(bad)


def test_with_budgets_replaces_only_the_named_stages():
    cfg = load_curriculum(ROOT / "curriculum/experiment_occluder.yaml")
    short = with_budgets(cfg, {"occluder": 50000})
    assert [s.budget for s in short.stages] == [50000 if s.name == "occluder" else s.budget for s in cfg.stages]
    assert short.stage("occluder").unfreeze_after == cfg.stage("occluder").unfreeze_after
    with pytest.raises(ConfigError, match="'cups'.*stages: \\['look', 'approach', 'occluder'\\]"):
        with_budgets(cfg, {"cups": 10})


def test_budget_of_an_unknown_stage_is_a_cli_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "agent.experiment", "--curriculum", "curriculum/smoke.yaml",
                        "--target", "approach", "--budget", "occluder=10", "--out", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "--budget names ['occluder']" in r.stderr and "Traceback" not in r.stderr
