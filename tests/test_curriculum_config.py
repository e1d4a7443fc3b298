"""Curriculum files map onto typed dataclasses; unknown keys are errors naming the key; env ids checked lazily."""

from __future__ import annotations

from pathlib import Path

import pytest

from curriculum import ConfigError, StageConfig, check_stage_env_ids, from_dict, load_curriculum
from curriculum.config import CurriculumConfig, builtin_curricula

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_curricula_load():
    smoke = load_curriculum(ROOT / "curriculum/smoke.yaml")
    assert [s.env_ids for s in smoke.stages] == [("Peekaboo/FindToy-v1",)] * 2
    default = load_curriculum(ROOT / "curriculum/default.yaml")
    assert [s.name for s in default.stages][:3] == ["look", "approach", "occluder"]
    assert default.digest() != smoke.digest()


def test_unknown_key_is_named(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: x\nstages:\n  - name: a\n    env_ids: [Peekaboo/FindToy-v1]\n"
                 "    graduation: {treshold: 0.5}\n")
    with pytest.raises(ConfigError, match=r"stages\[0\]\.graduation\.treshold.*did you mean 'threshold'"):
        load_curriculum(f)
    with pytest.raises(ConfigError, match="'colour'"):
        from_dict(CurriculumConfig, {"name": "x", "colour": 1, "stages": []})


def test_bad_values_are_clear():
    with pytest.raises(ConfigError, match="transfer"):
        from_dict(StageConfig, {"name": "a", "env_ids": ["x"], "transfer": "melt"})
    with pytest.raises(ConfigError, match="expected an integer"):
        from_dict(StageConfig, {"name": "a", "env_ids": ["x"], "budget": "lots"})
    with pytest.raises(ConfigError, match="missing required key 'env_ids'"):
        from_dict(StageConfig, {"name": "a"})


def test_env_ids_resolved_only_at_stage_start():
    stage = from_dict(StageConfig, {"name": "later", "env_ids": ["Peekaboo/NotYetWritten-v1"]})  # loads fine
    with pytest.raises(ValueError, match="NotYetWritten"):
        check_stage_env_ids(stage)
    ok = from_dict(StageConfig, {"name": "now", "env_ids": "Peekaboo/FindToy-v1"})
    assert check_stage_env_ids(ok) == ["Peekaboo/FindToy-v1"]


@pytest.mark.parametrize("path", [Path(p) for p in builtin_curricula()], ids=lambda p: p.name)
def test_every_shipped_curriculum_builds_its_envs(path):
    """Each shipped curriculum loads, and every stage's env ids, options and randomization make a real env."""
    import gymnasium as gym

    cfg = load_curriculum(path)
    for stage in cfg.stages:
        for env_id in check_stage_env_ids(stage):
            e = gym.make(env_id, **stage.make_kwargs(32, 32, "mujoco"))
            try:
                obs, _ = e.reset(seed=0)
                assert obs.shape == (32, 32, 3), (stage.name, env_id)
            finally:
                e.close()
