"""tools.evaluate and the reference agents: memory is what the battery measures."""

from __future__ import annotations

import json

import pytest

from agent.stats import wilson_interval
from tools.evaluate import evaluate, main

ENV = {"backend": "mujoco", "width": 32, "height": 32, "stage": "crawling"}


def test_wilson_interval():
    lo, hi = wilson_interval(10, 20)
    assert lo == pytest.approx(0.2993, abs=1e-3) and hi == pytest.approx(0.7007, abs=1e-3)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0


def test_cli_writes_report_and_is_deterministic(tmp_path):
    args = ["--agent", "memoryless", "--tasks", "occluded_trajectory", "--episodes", "2", "--width", "32",
            "--height", "32"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--no-plots"]) == 0
    a = (tmp_path / "a" / "report.json").read_text()
    assert a == (tmp_path / "b" / "report.json").read_text()
    rep = json.loads(a)
    entry = rep["tasks"]["occluded_trajectory"]["conditions"]["hidden"]
    assert entry["episodes"] == 2 and entry["chance"] == 0.5 and len(entry["ci95"]) == 2
    assert (tmp_path / "a" / "report.md").read_text().startswith("# Object-permanence battery")
    assert (tmp_path / "a" / "occluded_trajectory.png").exists()


@pytest.mark.parametrize("argv,message", [
    (["--tasks", "cupz"], "unknown task"), (["--episodes", "0"], "at least 1 episode"),
    (["--agent", "/nonexistent/model.zip"], "does not exist"),
    (["--tasks", "all", "--task-option", "n_cups=4"],
     ("n_cups is not an option of ['occluder', 'occluded_trajectory']; it applies to ['cups', 'a_not_b', "
      "'delayed_response']")),
    (["--task-option", "screen_distance=2.5", "--tasks", "occluder"], "reduce screen_distance"),
])
def test_cli_errors(tmp_path, capsys, argv, message):
    base = {"--agent": "oracle", "--tasks": "cups", "--episodes": "1"}
    for k, v in zip(argv[::2], argv[1::2]):
        base[k] = v
    flat = [x for kv in base.items() for x in kv]
    assert main([*flat, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "model.zip"
    bad.write_bytes(b"not a zip")
    assert main(["--agent", str(bad), "--tasks", "cups", "--episodes", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "model.zip" in err and "corrupt" in err


@pytest.mark.parametrize("recurrent,frame_stack", [(False, 2), (True, 1)])
def test_trained_checkpoint_end_to_end(tmp_path, recurrent, frame_stack):
    """A real (tiny) PPO / RecurrentPPO trained on the occluder task by agent.policy, saved, then evaluated by
    path; frame-stacked policies get their frames stacked by the evaluator as in training."""
    from agent.checkpoint import save_model
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig

    agent = AgentConfig(features_dim=32, recurrent=recurrent, frame_stack=frame_stack, lstm_hidden_size=16,
                        ppo=PPOConfig(n_steps=32, batch_size=32, n_epochs=1))
    stage = StageConfig(name="t", env_ids=("Peekaboo/Occluder-v2",))
    venv = make_vec_env(stage, 1, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    try:
        model = build_model(agent, venv, 0, None)
        model.learn(32)
        save_model(model, tmp_path / "model.zip", agent)  # as a run saves it: with its agent config
    finally:
        venv.close()
    out = tmp_path / "eval"
    args = ["--agent", str(tmp_path / "model.zip"), "--tasks", "occluder", "--episodes", "2", "--width", "32",
            "--height", "32", "--no-plots"]
    assert main([*args, "--out", str(out)]) == 0
    rep = json.loads((out / "report.json").read_text())
    hidden = rep["tasks"]["occluder"]["conditions"]["hidden"]
    assert hidden["episodes"] == 2 and sum(hidden["chosen_counts"].values()) == 2
    # deterministic policy + same seeds: the same report again
    assert main([*args, "--out", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again" / "report.json").read_text())["tasks"] == rep["tasks"]
    # actions sampled from the policy (as in training) repeat too: torch's generator is seeded per episode
    sampled = [main([*args, "--sampled", "--out", str(tmp_path / f"s{i}")]) for i in range(2)]
    assert sampled == [0, 0]
    reports = [json.loads((tmp_path / f"s{i}" / "report.json").read_text()) for i in range(2)]
    assert reports[0] == reports[1] and reports[0]["actions"] == "sampled" and rep["actions"] == "greedy"
    # a checkpoint trained at another resolution is refused with the fix in the message
    assert main([*args[:-5], "--width", "48", "--height", "48", "--out", str(tmp_path / "bad")]) == 2


def _no_better_than_chance(e) -> bool:
    """A shortcut (information about the hiding place in the frame) would lift the 95% interval above chance, or
    above the rate that choices independent of the target would reach with the targets these seeds drew (an agent
    that always takes the middle cup scores the middle cup's share of targets)."""
    n = e["episodes"]
    independent = sum(e["target_counts"].get(k, 0) * v for k, v in e["chosen_counts"].items() if k != "-1") / n**2
    return e["ci95"][0] <= max(e["chance"], independent)


@pytest.mark.slow
def test_reference_agents_separate_memory_from_shortcuts():
    n = 20
    tasks = ["occluder", "cups", "occluded_trajectory", "a_not_b"]
    fast = {**ENV, "render_observations": False}  # the scripted agents read geometry, not pixels
    oracle = evaluate("oracle", tasks, n, 0, fast, show_progress=False)
    memoryless = evaluate("memoryless", tasks, 100, 0, fast, show_progress=False)  # 50 is still noisy
    rnd = evaluate("random", ["cups", "occluded_trajectory"], 50, 0, fast, show_progress=False)
    for task, tr in oracle["tasks"].items():
        for label, e in tr["conditions"].items():
            assert e["rate"] >= 0.95, (task, label, e["rate"])
    for task, tr in memoryless["tasks"].items():
        for label, e in tr["conditions"].items():
            if e["kind"] == "hidden":
                assert _no_better_than_chance(e), (task, label, e)
            elif e["kind"] == "control":
                assert e["rate"] >= 0.9, (task, label, e["rate"])
    for task, tr in rnd["tasks"].items():
        assert _no_better_than_chance(tr["conditions"]["hidden"]), task
    assert oracle["tasks"]["a_not_b"]["conditions"]["hidden"]["perseverative_error_rate"] == 0.0


@pytest.mark.slow
def test_a_fading_memory_is_evaluated_as_trained_or_as_asked(tmp_path):
    """A checkpoint trained with agent.memory_half_life_s lapses at evaluation as in training (its report says so);
    --memory-half-life none evaluates the same weights with a perfect memory, seconds with another half-life."""
    from agent.checkpoint import save_model
    from agent.memory import lapse_probability
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig
    from tools.agents import PolicyAgent

    agent = AgentConfig(features_dim=32, recurrent=True, lstm_hidden_size=16, sequences="episode",
                        memory_half_life_s=0.5, ppo=PPOConfig(n_steps=32, batch_size=32, n_epochs=1))
    stage = StageConfig(name="t", env_ids=("Peekaboo/Occluder-v2",))
    venv = make_vec_env(stage, 1, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    try:
        save_model(build_model(agent, venv, 0, None), tmp_path / "model.zip", agent)
        env = venv.envs[0]
        assert PolicyAgent(tmp_path / "model.zip", env).lapse == pytest.approx(lapse_probability(0.5))
        assert PolicyAgent(tmp_path / "model.zip", env, memory=None).lapse == 0.0
    finally:
        venv.close()
    args = ["--agent", str(tmp_path / "model.zip"), "--tasks", "delayed_response", "--episodes", "1", "--width",
            "32", "--height", "32", "--no-plots"]
    memories = []
    for i, extra in enumerate(([], ["--memory-half-life", "none"], ["--memory-half-life", "2"])):
        assert main([*args, *extra, "--out", str(tmp_path / f"m{i}")]) == 0
        memories.append(json.loads((tmp_path / f"m{i}" / "report.json").read_text())["memory"])
    assert memories == ["half-life 0.5 s (as trained)", "perfect", "half-life 2 s"]
    assert "memory: half-life 0.5 s (as trained)" in (tmp_path / "m0" / "report.md").read_text()
    with pytest.raises(SystemExit):  # argparse: usage and the fix, exit status 2
        main([*args, "--memory-half-life", "0", "--out", str(tmp_path / "bad")])
