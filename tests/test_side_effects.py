"""Library code leaves the process as it found it: torch's thread count and global generator after training a
curriculum and after a checkpoint agent played (both used to be changed for good)."""

from __future__ import annotations

import numpy as np
import torch

import env
from agent.runner import RunOptions, run_curriculum
from curriculum import from_dict
from curriculum.config import CurriculumConfig

ENV = "Peekaboo/FindToy-v1"


def _one_stage() -> CurriculumConfig:
    return from_dict(CurriculumConfig, {
        "name": "tiny", "width": 32, "height": 32, "checkpoint_every": 64,
        "agent": {"features_dim": 16, "ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 1}},
        "stages": [{"name": "one", "budget": 32, "env_ids": [ENV], "env_kwargs": {"max_steps": 20},
                    "randomization": {"n_rooms": 1, "furniture_per_room": 0, "n_toys": 0},
                    "graduation": {"threshold": 1.0, "episodes": 1, "eval_every": 100000}}]})


def test_run_curriculum_restores_torch_threads(tmp_path) -> None:
    before = torch.get_num_threads()
    wanted = before + 1  # differs from both threads training uses (1 for rollouts, torch_threads=1 for epochs)
    torch.set_num_threads(wanted)
    try:
        run_curriculum(_one_stage(), tmp_path / "run", RunOptions(n_envs=1, subprocess=False, progress=False,
                                                                 torch_threads=1))
        assert torch.get_num_threads() == wanted
        assert (tmp_path / "run/stages/00_one/model.zip").is_file()
    finally:
        torch.set_num_threads(before)


def test_policy_agent_keeps_threads_and_global_generator(tmp_path) -> None:
    from agent.checkpoint import save_model
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig
    from tools.agents import make_agent

    agent = AgentConfig(features_dim=16, recurrent=True, lstm_hidden_size=8,
                        ppo=PPOConfig(n_steps=8, batch_size=8, n_epochs=1))
    stage = StageConfig(name="t", env_ids=(ENV,))
    venv = make_vec_env(stage, 1, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    try:
        save_model(build_model(agent, venv, 0, None), tmp_path / "model.zip", agent)
    finally:
        venv.close()
    before = torch.get_num_threads()
    torch.set_num_threads(before + 1)
    torch.manual_seed(11)
    np.random.seed(12)
    rng, np_rng = torch.get_rng_state(), np.random.get_state()[1].copy()
    e = env.make(ENV, width=32, height=32)
    try:
        actions = []
        for _ in range(2):  # sampled actions repeat with the episode's seed, from the agent's own generator
            a = make_agent(str(tmp_path / "model.zip"), e, sampled=True)
            obs, info = e.reset(seed=3)
            a.reset(3)
            run = []
            for _ in range(6):
                run.append(a.act(obs, info))
                obs, _, _, _, info = e.step(run[-1])
            actions.append(run)
        assert actions[0] == actions[1]
        assert torch.get_num_threads() == before + 1
        assert torch.equal(torch.get_rng_state(), rng)  # SB3's loader would reseed it with the checkpoint's seed
        np.testing.assert_array_equal(np.random.get_state()[1], np_rng)
    finally:
        e.close()
        torch.set_num_threads(before)
