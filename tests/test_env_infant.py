"""The infant env: gymnasium API compliance, determinism, stage geometry, collisions, errors."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import env
from env.development import POSTURES


@pytest.mark.parametrize("env_id", sorted(env.ENV_IDS))
def test_check_env_passes_for_every_registered_id(env_id: str):
    e = gym.make(env_id, width=32, height=32)
    check_env(e.unwrapped, skip_render_check=True)
    e.close()


def _rollout(seed: int, n: int = 25, **kwargs) -> list[np.ndarray]:
    e = env.make("Peekaboo/FindToy-v1", width=32, height=32, **kwargs)
    obs, _ = e.reset(seed=seed)
    frames = [obs]
    for i in range(n):
        obs, *_ = e.step([1, 1, 2, 1, 3, 4, 0, 1][i % 8])
        frames.append(obs)
    digest = e.unwrapped.scene.digest()
    e.close()
    return frames + [digest]  # type: ignore[list-item]


def test_same_seed_identical_frames_and_scene():
    a, b = _rollout(3), _rollout(3)
    assert a[-1] == b[-1]
    for fa, fb in zip(a[:-1], b[:-1]):
        np.testing.assert_array_equal(fa, fb)


def test_different_seeds_different_scenes_and_frames():
    a, b = _rollout(3, n=2), _rollout(4, n=2)
    assert a[-1] != b[-1]
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize("stage", sorted(POSTURES))
def test_camera_height_matches_stage(stage: str):
    e = env.make("Peekaboo/FindToy-v1", width=32, height=32, stage=stage,
                 randomization={"camera_height_jitter": 0.0, "camera_fov_jitter": 0.0})
    e.reset(seed=0)
    backend = e.unwrapped.backend
    backend._sync()
    cam_z = backend.data.cam("infant_eye").xpos[2]  # read by name from the simulator
    assert cam_z == pytest.approx(POSTURES[stage].eye_height, abs=1e-9)
    assert backend.model.cam("infant_eye").fovy[0] == pytest.approx(POSTURES[stage].fovy)
    e.close()


def test_camera_looks_where_the_body_faces():
    """Project a point 1 m ahead at eye height: it must land on the image centre."""
    e = env.make("Peekaboo/FindToy-v1", width=32, height=32)
    e.reset(seed=1)
    inner = e.unwrapped
    b = inner.backend
    b._sync()
    cam = b.data.cam("infant_eye")
    p = inner.body.pose
    target = np.array([p.x + math.cos(p.yaw), p.y + math.sin(p.yaw), inner.eye_height])
    local = cam.xmat.reshape(3, 3).T @ (target - cam.xpos)  # camera frame: looks along -z
    assert local[2] < 0 and abs(local[0]) < 1e-6 and abs(local[1]) < 1e-6
    e.close()


def test_infant_never_walks_through_walls():
    e = env.make("Peekaboo/FindToy-v1", width=16, height=16, randomization={"n_rooms": 1})
    e.reset(seed=2)
    inner = e.unwrapped
    x0, y0, x1, y1 = inner.scene.bounds()
    bumped = False
    for _ in range(200):  # straight ahead until long after the wall
        _, _, term, trunc, info = e.step(1)
        bumped |= "bump" in info["events"]
        p = inner.body.pose
        assert x0 < p.x < x1 and y0 < p.y < y1
        if term or trunc:
            break
    assert bumped
    e.close()


def test_depth_and_segmentation_observations():
    e = env.make("Peekaboo/FindToy-v1", width=32, height=24, observations=("rgb", "depth", "segmentation"))
    obs, _ = e.reset(seed=0)
    assert obs["rgb"].shape == (24, 32, 3) and obs["depth"].shape == (24, 32, 1)
    assert 0.05 < obs["depth"].min() and obs["depth"].max() < 40
    names = e.unwrapped.backend.object_names
    ids = np.unique(obs["segmentation"])
    assert ids.max() <= len(names) and any(names[i - 1].startswith("wall") for i in ids if i > 0)
    assert e.observation_space.contains(obs)
    e.close()


def test_continuous_actions_move_the_infant():
    e = env.make("Peekaboo/FindToy-v1", width=16, height=16, action_type="continuous")
    e.reset(seed=0)
    p0 = (e.unwrapped.body.pose.x, e.unwrapped.body.pose.y, e.unwrapped.body.pose.pitch)
    e.step(np.array([0.0, 0.0, 1.0], np.float32))
    assert e.unwrapped.body.pose.pitch > p0[2]
    e.close()


@pytest.mark.parametrize("kwargs, match", [
    ({"stage": "flying"}, "unknown developmental stage 'flying'"),
    ({"width": 0}, "width=0.*positive integer"),
    ({"height": -8}, "height=-8.*positive integer"),
    ({"observations": ("rgb", "sound")}, "observations"),
    ({"age_months": -1}, "age_months"),
])
def test_bad_config_errors_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        env.make("Peekaboo/FindToy-v1", **kwargs)


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match="unknown env option.*'colour'"):
        env.make("Peekaboo/FindToy-v1", colour="red")


def test_unknown_task_id_suggests_close_matches():
    with pytest.raises(ValueError, match=r"unknown task id 'Peekaboo/FindToys-v1'.*Did you mean.*FindToy-v1"):
        env.make("Peekaboo/FindToys-v1")


def test_relayout_every_keeps_the_home_between_episodes():
    e = env.make("Peekaboo/FindToy-v1", width=16, height=16, relayout_every=3)
    e.reset(seed=0)
    d0 = e.unwrapped.scene.digest()
    e.reset()
    e.reset()
    assert e.unwrapped.scene.digest() == d0
    e.reset()
    assert e.unwrapped.scene.digest() != d0
    e.close()


def test_v0_ids_stay_registered_with_their_original_frames():
    """v1 only changed tessellation: the v0 id is v1 with ``tessellation='fine'``, frames close to v1's."""
    fine = _rollout(4, n=8, tessellation="fine")
    e = gym.make("Peekaboo/FindToy-v0", width=32, height=32)
    assert e.unwrapped.config.quality.tessellation == "fine"
    obs, _ = e.reset(seed=4)
    assert np.array_equal(obs, fine[0])
    e.close()
    coarse = _rollout(4, n=8)
    assert coarse[-1] == fine[-1]  # the same home
    moved = [(np.abs(a.astype(int) - b.astype(int)).max(-1) > 8).mean() for a, b in zip(fine[:-1], coarse[:-1])]
    assert np.mean(moved) < 0.01
