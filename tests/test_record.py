"""tools.record writes an mp4 (eye view with overlay + third-person view) from a real checkpoint."""

from __future__ import annotations

import imageio.v2 as imageio
import pytest

from agent.checkpoint import save_model
from agent.policy import build_model, make_vec_env
from curriculum import from_dict
from curriculum.config import AgentConfig, StageConfig
from tools.record import main


@pytest.mark.slow
def test_record_writes_video(tmp_path):
    stage = from_dict(StageConfig, {"name": "s", "env_ids": ["Peekaboo/FindToy-v1"], "env_kwargs": {"max_steps": 12},
                                    "randomization": {"n_rooms": 1, "furniture_per_room": 0}})
    agent = AgentConfig(features_dim=32)
    venv = make_vec_env(stage, 1, 32, 32, "mujoco", agent, subprocess=False)
    save_model(build_model(agent, venv, 0, None), tmp_path / "model.zip", agent)
    venv.close()
    assert main(["--checkpoint", str(tmp_path / "model.zip"), "--task", "Peekaboo/FindToy-v1", "--episodes", "1",
                 "--out", str(tmp_path / "vid")]) == 0
    frames = imageio.mimread(tmp_path / "vid/FindToy-v1_ep00.mp4")
    assert len(frames) >= 1 and frames[0].shape[:2] == (256, 512)
    (tmp_path / "bad.zip").write_bytes(b"junk")
    assert main(["--checkpoint", str(tmp_path / "bad.zip"), "--out", str(tmp_path / "x")]) == 2
