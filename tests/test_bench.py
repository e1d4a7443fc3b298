"""tools.bench: a real (short) measurement against raw MuJoCo, its table and its plot."""

from __future__ import annotations

import pytest

from tools.bench import format_table, plot_bench, run_bench


def test_short_bench_table_and_plot(tmp_path):
    result = run_bench(sizes=(32,), seconds=0.2, memory_steps=0, vec=False)
    row = result["sizes"]["32"]
    assert row["env_steps_per_s"] > 0 and row["raw_mujoco_steps_per_s"] > 0
    assert row["env_vs_raw"] == round(row["env_steps_per_s"] / row["raw_mujoco_steps_per_s"], 3)
    assert "env/raw" in format_table(result)
    assert plot_bench(result, tmp_path / "bench.png") and (tmp_path / "bench.png").stat().st_size > 1000


def test_ppo_throughput_measures_learner_and_env_on_the_same_envs():
    from agent.bench import ppo_throughput

    r = ppo_throughput(n_envs=2, steps=64, width=32, height=32, n_steps=16, features_dim=32)
    assert r["env_steps_per_s"] > 0 and r["ppo_steps_per_s"] > 0 and r["steps"] >= 64
    assert r["ratio"] == round(r["ppo_steps_per_s"] / r["env_steps_per_s"], 3)
    assert r["env_steps_per_s"] == pytest.approx(sum(r["env_steps_per_s_before_after"]) / 2, abs=0.1)
    # how much of the run the phases account for is a figure tools.bench reports, not a test (no timed asserts)
    assert r["phase_s"]["rollout"] > 0 and r["phase_s"]["train"] > 0 and r["phase_share"] > 0


def test_only_measures_the_named_parts_and_cpu_clock_is_recorded(tmp_path):
    import json

    from tools import benchutil
    from tools.bench import main

    try:
        assert main(["--out", str(tmp_path), "--only", "single", "--sizes", "32", "--seconds", "0.2",
                     "--cpu-clock"]) == 0
    finally:
        benchutil.use_cpu_clock(False)
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["clock"] == "cpu" and benchutil.clock_name() == "wall"
    row = result["sizes"]["32"]
    assert row["env_steps_per_s"] > 0 and "raw_mujoco_steps_per_s" not in row and "vec2_steps_per_s" not in row
    assert "batched" not in result and "profile" not in result and "memory" not in result


def test_single_env_rate_steps_each_home_stream_from_its_start():
    """The single env's rate is taken over the home streams of the given seeds, each from its first home (the
    homes a batch's worlds step), after a warm-up on the first."""
    import env
    from tools.benchutil import random_steps_rate

    e = env.make("Peekaboo/FindToy-v1", width=32, height=32)
    seeds: list[int] = []
    reset = e.reset

    def recording_reset(**kwargs):
        if kwargs.get("seed") is not None:
            seeds.append(kwargs["seed"])
        return reset(**kwargs)

    e.reset = recording_reset
    try:
        assert random_steps_rate(e, 0.2, seeds=(3, 5)) > 0
    finally:
        e.close()
    assert seeds == [3, 3, 5]


def test_rollouts_part_measures_one_and_several_processes_on_the_trainers_path():
    """The in-worker rollout figures (the path agent.train collects with) in 1 and 2 processes, with their ratios
    computed from the same run; the random actor is seeded."""
    import numpy as np

    from tools.bench_batched import RandomActor, format_batched, run_batched_bench

    a, b = RandomActor(6, seed=3), RandomActor(6, seed=3)
    obs = np.zeros((4, 8, 8, 3), np.uint8)
    first = a(obs, np.ones(4, bool))[0]
    assert np.array_equal(first, b(obs, np.ones(4, bool))[0]) and first.shape == (4,) and first.max() < 6
    r = run_batched_bench(16, 0.05, 2, 2, 0, single_rate=1000.0, memory_steps=0, parts=frozenset({"rollouts"}))
    assert r["rollout_1proc_steps_per_s"] > 0 and r["rollout_procs_steps_per_s"] > 0
    assert r["rollout_procs_vs_1proc"] == round(r["rollout_procs_steps_per_s"] / r["rollout_1proc_steps_per_s"], 3)
    assert r["rollout_1proc_vs_single"] == round(r["rollout_1proc_steps_per_s"] / 1000.0, 3)
    assert "batched_steps_per_s" not in r and "in-worker rollouts, 2 procs" in format_batched(r)


def test_learner_peak_counts_the_policys_arithmetic_and_steps_it():
    import torch

    from tools.bench import format_table
    from tools.learner_peak import learner_peak, ppo_step

    step, flops, policy = ppo_step(size=32, batch=8)
    # forward multiply-adds of the fast CNN at 32 px (16 8x8/4 -> 7x7, 32 4x4/2 -> 2x2, 128 -> 256) and the heads
    macs = 7 * 7 * 16 * 3 * 64 + 2 * 2 * 32 * 16 * 16 + 128 * 256 + 2 * 256 * 64 + 64 * 6 + 64
    assert 2.0 < flops / 8 / (2 * macs) < 3.0  # backward ~2x forward, less the first conv's input gradient
    before = [p.detach().clone() for p in policy.parameters()]
    step(False)  # a training step: the optimizer moves the weights
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters()))
    r = learner_peak(size=32, batch=8, matmul_n=128, repeats=1)
    assert r["matmul_fp32_gflops"] > 0 and r["ppo_step_fp32_ms"] > 0
    assert r["ppo_step_flops_per_sample"] == round(flops / 8)
    assert abs(r["ppo_step_fp32_vs_matmul"] - r["ppo_step_fp32_gflops"] / r["matmul_fp32_gflops"]) < 0.01
    assert "GFLOP/s" in format_table({"sizes": {}, "peak": r})
