"""Curriculum mistakes are found when the file loads, and fixing one does not cost a trained stage (#14.2, 14.8)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

import env
from curriculum import ConfigError, load_curriculum
from curriculum.config import builtin_curricula
from tests.reliability_util import ROOT, cli, started_run, tiny_curriculum


def train(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return cli("agent.train", "--no-progress", *args, timeout=timeout)


def two_stages(path, second: dict) -> None:
    cfg = yaml.safe_load(tiny_curriculum(path, budget=128).read_text())
    cfg["checkpoint_every"] = 128
    cfg["stages"][0]["graduation"] = {"threshold": 1.0, "episodes": 1, "eval_every": 100_000}
    cfg["stages"].append({"name": "two", "env_ids": ["Peekaboo/FindToy-v1"], "budget": 64,
                          "randomization": {"n_rooms": 1, "furniture_per_room": 0}, **second})
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.mark.parametrize("second, words", [
    ({"env_kwargs": {"reach_distanc": 1.0}}, ["stage 'two'", "'reach_distanc'", "its own options", "reach_distance"]),
    ({"env_ids": ["Peekaboo/FindToi-v1"]}, ["stage 'two'", "Peekaboo/FindToi-v1", "Peekaboo/FindToy-v1"]),
    ({"randomization": {"n_rooms": 9}}, ["stage 'two'", "n_rooms", "[1, 3]"]),
    ({"env_kwargs": {"max_steps": 0}}, ["stage 'two'", "max_steps=0"]),
], ids=["task-option", "task-id", "range", "max-steps"])
def test_a_mistake_in_a_later_stage_is_an_error_before_anything_trains(tmp_path, second, words):
    cur = tmp_path / "c.yaml"
    two_stages(cur, second)
    r = train("--curriculum", str(cur), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("suffix, text, where", [
    (".yaml", "name: x\nstages:\n  - name: a\n    env_ids: [Peekaboo/FindToy-v1\n", ":5:1: YAML syntax error"),
    (".json", '{"name": "x",\n "stages": [}', ":2:13: JSON syntax error"),
    (".toml", 'name = "x"\nstages = [\n', "TOML syntax error"),
])
def test_syntax_errors_name_file_line_and_column(tmp_path, suffix, text, where):
    path = tmp_path / f"c{suffix}"
    path.write_text(text)
    r = train("--curriculum", str(path), "--out", str(tmp_path / "run"), timeout=120)
    assert r.returncode == 2 and f"error: {path}" in r.stderr and where in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("options, match", [
    ({"randomization": "n_rooms=2"}, "randomization='n_rooms=2': expected a mapping"),
    ({"randomization": None}, "randomization=None: expected a mapping"),
    ({"randomization": {"n_toys": 2.5}}, "n_toys: 2.5 must be a whole number"),
    ({"randomization": {"n_toys": "many"}}, "n_toys: 'many' is not a finite number"),
    ({"max_steps": 0}, "max_steps=0"),
    ({"max_steps": 12.5}, "max_steps=12.5: expected a whole number"),
    ({"n_screens": 2.5}, "n_screens=2.5: expected a whole number"),
    ({"success_reward": float("nan")}, "success_reward=nan: expected a finite number"),
    ({"colour": "red"}, r"'colour'.*its own options: \[.*'n_screens'"),
])
def test_env_option_gaps_are_errors_naming_the_option(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        env.check_options("Peekaboo/Occluder-v2", **options)
    with pytest.raises((ValueError, TypeError), match=match):
        env.make("Peekaboo/Occluder-v2", width=32, height=32, **options)


def test_max_steps_none_takes_the_tasks_own_limit():
    e = env.make("Peekaboo/Occluder-v2", width=32, height=32, max_steps=None)
    try:
        assert e.unwrapped.task.max_steps >= 1
    finally:
        e.close()


def test_shipped_curricula_pass_the_load_time_check():
    for path in builtin_curricula():
        load_curriculum(path)
    with pytest.raises(ConfigError, match="stage 'look'"):
        bad = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
        bad["stages"][0]["env_kwargs"]["look_angel"] = 1
        from curriculum import CurriculumConfig, check_curriculum_envs, from_dict
        check_curriculum_envs(from_dict(CurriculumConfig, bad))


def test_resume_accepts_changes_to_stages_not_started_and_refuses_changes_to_trained_ones(tmp_path):
    cur = tmp_path / "c.yaml"
    two_stages(cur, {"env_kwargs": {"max_steps": 40}})
    run = tmp_path / "run"
    args = ["--curriculum", str(cur), "--out", str(run), "--n-envs", "1", "--in-process"]
    r = train(*args, "--until", "look")
    assert r.returncode == 0, r.stderr[-2000:]
    finished = (run / "stages/00_look/summary.json").read_bytes()

    cfg = yaml.safe_load(cur.read_text())
    cfg["stages"][1]["env_kwargs"]["max_steps"] = 30  # the not-yet-started stage: fine
    cur.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = train(*args, "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "stage 'two' changed ['env_kwargs']" in r.stderr
    assert (run / "stages/00_look/summary.json").read_bytes() == finished  # stage one was not retrained
    saved = json.loads((run / "curriculum.json").read_text())
    assert saved["stages"][1]["env_kwargs"]["max_steps"] == 30
    assert json.loads((run / "run.json").read_text())["changes"][0]["changes"] == ["stage 'two' changed ['env_kwargs']"]

    cfg["stages"][0]["budget"] = 256  # the trained stage: refused, nothing touched
    cur.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = train(*args, "--resume")
    assert r.returncode == 2 and "stage 0 'look' has trained" in r.stderr and "['budget']" in r.stderr
    cfg["stages"][0]["budget"] = 128
    cfg["width"] = 48  # shared by every stage: refused
    cur.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = train(*args, "--resume")
    assert r.returncode == 2 and "['width']" in r.stderr
    assert (run / "stages/00_look/summary.json").read_bytes() == finished


def test_env_error_inside_a_worker_is_one_line():
    from agent.vec_env import EnvWorkerError, SubprocBatchedVecEnv
    with pytest.raises(EnvWorkerError, match=r"^an env worker failed: TypeError: unknown env option\(s\) \['colour'\]"):
        SubprocBatchedVecEnv(1, 2, "Peekaboo/FindToy-v1", width=32, height=32, colour="red")


@pytest.mark.parametrize("name", ["summary.json", "checkpoint.json"])
def test_corrupt_run_json_is_one_line_naming_the_file(tmp_path, name):
    cur = tiny_curriculum(tmp_path / "c.yaml")
    run = tmp_path / "run"
    sdir = started_run(cur, run)
    if name == "checkpoint.json":
        (sdir / "checkpoint.zip").write_bytes(b"")
    (sdir / name).write_text('{"num_timesteps": 12,\n  oops')
    r = train("--curriculum", str(cur), "--out", str(run), "--resume", "--n-envs", "1", "--in-process", timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == f"error: {sdir / name}:2:3: corrupt JSON (Expecting property name enclosed in double " \
                               "quotes); restore it from a backup or delete it"
