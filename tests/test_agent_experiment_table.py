"""agent.experiment_table on run folders laid out as agent.experiment writes them (stages/NN_name/summary.json
with the runner's keys): arms are labelled by how each stage's encoder started, a stage found twice counts once,
censored steps are marked, and a difference whose interval includes 0 is reported as none. The real runs are read
in tests/test_agent_experiment.py."""

from __future__ import annotations

import json
from pathlib import Path

from agent import experiment_table


def _stage(run: Path, index: int, name: str, transfer: str, graduated_at: int | None, success: float,
           budget: int = 50000) -> None:
    sdir = run / "stages" / f"{index:02d}_{name}"
    sdir.mkdir(parents=True)
    (sdir / "summary.json").write_text(json.dumps({
        "stage": name, "budget": budget, "steps_used": graduated_at or budget, "graduated": graduated_at is not None,
        "graduated_at": graduated_at, "final_success": success, "eval_episodes": 40,
        "transfer": {"transfer": transfer}}))


def test_rows_labels_and_intervals(tmp_path):
    occ, look = tmp_path / "exp_occluder", tmp_path / "exp_look"
    for seed in range(3):
        _stage(occ / f"shared_seed{seed}", 0, "look", "scratch", 30000 + 1000 * seed, 0.9)
        _stage(occ / f"shared_seed{seed}", 1, "occluder", "freeze-then-unfreeze", None, 0.5 + 0.05 * seed)
        _stage(occ / f"scratch_seed{seed}", 0, "occluder", "scratch", None, 0.55 - 0.05 * seed)
        _stage(look / f"pretrained_seed{seed}", 0, "look", "finetune", 10000, 0.97 + 0.015 * seed)
        _stage(look / f"scratch_seed{seed}", 0, "look", "scratch", 90000, 0.0)  # a duplicate: the first wins
    rows = experiment_table.stage_rows([occ, look])
    assert sorted((r["stage"], r["arm"]) for r in rows if r["seed"] == 0) == [
        ("look", "pretrained"), ("look", "scratch"), ("occluder", "scratch"), ("occluder", "shared")]
    s = experiment_table.summarize(rows)
    assert s["arms"]["look"]["scratch"]["steps"]["mean"] == 31000  # from the shared runs, not the duplicates
    assert s["arms"]["occluder"]["shared"]["censored"] and s["arms"]["occluder"]["shared"]["graduated"] == 0
    look_diff = s["differences"]["look"]["pretrained"]
    assert look_diff["steps"]["difference"] == -21000 and look_diff["steps"]["supported"]
    assert not s["differences"]["occluder"]["shared"]["success"]["supported"]
    table = experiment_table.markdown(s)
    assert "| occluder | shared | 3 | 0/3 | ≥ 50,000" in table and "(none)" in table
    assert "| occluder | shared | none: neither graduated |" in table and "| look | scratch | s0 30k, s1 31k, s2 32k |" in table
    hi = s["arms"]["look"]["pretrained"]["final_success"]["high"]
    assert hi == 1.0  # 0.97, 0.985, 1.0: the t interval reaches past 1 and is clipped to it


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert experiment_table.main([str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "are not folders" in capsys.readouterr().err
    assert experiment_table.main([str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no finished stage" in capsys.readouterr().err
