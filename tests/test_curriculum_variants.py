"""A stage that mixes conditions (``variants``) and sets its own PPO settings (``ppo``): config errors, the envs it
makes, its per-variant graduation evaluation and a real tiny training run."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agent.policy import env_specs
from agent.runner import RunOptions, run_curriculum
from curriculum import from_dict
from curriculum.config import AgentConfig, ConfigError, CurriculumConfig, StageConfig, check_curriculum_envs

OCC, CUPS = "Peekaboo/Occluder-v2", "Peekaboo/Cups-v2"
QUICK = {"show_time": 0.3, "hide_time": 0.3, "search_time": 5.0, "reveal_time": 0.3}


def _stage(**kw) -> StageConfig:
    return from_dict(StageConfig, {"name": "mix", "env_ids": [OCC, CUPS], **kw})


def test_variant_errors_name_the_entry_and_the_fix():
    with pytest.raises(ConfigError, match=r"variants\[0\] needs env_id"):
        _stage(variants=[{"condition": "visible"}])
    with pytest.raises(ConfigError, match="not one of the stage's env_ids"):
        _stage(variants=[{"env_id": "Peekaboo/ANotB-v2"}])
    with pytest.raises(ConfigError, match=r"variants\[1\]: age_months is set by a stage field"):
        _stage(variants=[{"env_id": OCC}, {"env_id": CUPS, "age_months": 6}])
    with pytest.raises(ConfigError, match="name 'a' is used by a variant with other options"):
        _stage(variants=[{"env_id": OCC, "name": "a"}, {"env_id": OCC, "name": "a", "n_screens": 2}])
    with pytest.raises(ConfigError, match="ppo.ent_coeff is no PPO setting"):
        _stage(ppo={"ent_coeff": 0.0})
    with pytest.raises(ConfigError, match="must be a number"):
        _stage(ppo={"ent_coef": "low"})
    bad = from_dict(CurriculumConfig, {"name": "x", "stages": [
        {"name": "mix", "env_ids": [OCC, CUPS], "variants": [{"env_id": CUPS, "name": "many", "n_cups": 9}]}]})
    with pytest.raises(ConfigError, match="variant 'many'.*n_cups"):
        check_curriculum_envs(bad)


def test_variants_make_the_stage_envs_and_weight_by_repetition():
    stage = _stage(env_kwargs={"approach_weight": 1.0}, variants=[
        {"env_id": OCC, "name": "occ2", "condition": "hidden", "n_screens": 2},
        {"env_id": OCC, "name": "occ2", "condition": "hidden", "n_screens": 2},
        {"env_id": CUPS, "condition": "reshown"}])
    envs = stage.envs(32, 32, "mujoco")
    assert [e.label for e in envs] == ["occ2", "occ2", f"{CUPS}:condition=reshown"]
    assert envs[0].kwargs["n_screens"] == 2 and envs[0].kwargs["approach_weight"] == 1.0
    assert envs[2].env_id == CUPS and "n_screens" not in envs[2].kwargs
    agent = AgentConfig(recurrent=True, sequences="episode", aux_reveal=1.0)
    specs = env_specs(stage, 6, 32, 32, "mujoco", agent)
    assert [i for i, _ in specs] == [OCC, OCC, CUPS] * 2
    assert all(kw["reveal_label"] for _, kw in specs)
    later = dataclasses.replace(_stage(), name="later", rehearsal=0.5)
    replay = env_specs(later, 4, 32, 32, "mujoco", agent, earlier=(stage,))[2:]
    assert [kw.get("n_screens") for _, kw in replay] == [2, 2]  # rehearsal replays the earlier stage's variants


def test_a_stage_without_variants_or_ppo_keeps_its_saved_form():
    cfg = from_dict(CurriculumConfig, {"name": "x", "stages": [{"name": "a", "env_ids": [OCC]}]})
    assert "variants" not in cfg.to_dict()["stages"][0] and "ppo" not in cfg.to_dict()["stages"][0]
    mixed = from_dict(CurriculumConfig, {"name": "x", "stages": [
        {"name": "a", "env_ids": [OCC], "variants": [{"condition": "visible"}], "ppo": {"ent_coef": 0.0}}]})
    assert from_dict(CurriculumConfig, mixed.to_dict()) == mixed
    assert mixed.digest() != cfg.digest()


@pytest.mark.slow
def test_a_mixed_stage_trains_with_its_own_ppo_settings_and_reports_each_variant(tmp_path):
    from agent.checkpoint import load_checkpoint

    cfg = from_dict(CurriculumConfig, {
        "name": "tiny-mix", "width": 32, "height": 32, "checkpoint_every": 64,
        "agent": {"features_dim": 16, "recurrent": True, "lstm_hidden_size": 8, "sequences": "episode",
                  "aux_reveal": 1.0, "ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1}},
        "stages": [{"name": "mix", "env_ids": [OCC, CUPS], "budget": 64, "env_kwargs": QUICK,
                    "variants": [{"env_id": OCC, "name": "occ_visible", "condition": "visible", "n_screens": 2,
                                  "screen_distance": 0.9, "screen_spacing": 0.6},
                                 {"env_id": CUPS, "name": "cups_reshown", "condition": "reshown"}],
                    "ppo": {"ent_coef": 0.003},
                    "graduation": {"threshold": 1.0, "episodes": 2, "eval_every": 100000}}]})
    run_curriculum(cfg, tmp_path / "run", RunOptions(n_envs=2, subprocess=False, progress=False))
    sdir = tmp_path / "run/stages/00_mix"
    evals = [json.loads(line) for line in (sdir / "evals.jsonl").read_text().splitlines()]
    assert set(evals[-1]["per_env"]) == {"occ_visible", "cups_reshown"}  # one held-out episode of each
    model = load_checkpoint(sdir / "model.zip", cfg.stages[0].agent_for(cfg.agent))
    assert model.ent_coef == pytest.approx(0.003) and cfg.agent.ppo.ent_coef == pytest.approx(0.01)
