"""The Warp (GPU) rendering path, run on Warp's CPU device: the same eye view as the EGL renderer."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("mujoco_warp", reason="mujoco-warp not installed (pip install -e '.[gpu]')")

import env as peekaboo_env
from env.backends.mujoco.compiler import eye_quat, yaw_quat
from env.backends.mujoco.warp_renderer import WarpEyeRenderer


def test_warp_batch_matches_egl_and_worlds_differ():
    e = peekaboo_env.make("Peekaboo/FindToy-v1", width=32, height=32)
    obs, _ = e.reset(seed=3)
    for _ in range(2):
        obs, *_ = e.step(1)
    b = e.unwrapped.backend
    d = b.data
    head, infant = b.model.body("infant_head").mocapid[0], b.model.body("infant").mocapid[0]
    try:
        r = WarpEyeRenderer(b.model, 2, 32, 32, device="cpu")
        pos = np.repeat(d.mocap_pos[None], 2, 0)
        quat = np.repeat(d.mocap_quat[None], 2, 0)
        yaw = 2 * math.atan2(d.mocap_quat[infant][3], d.mocap_quat[infant][0]) + math.pi
        quat[1, head], quat[1, infant] = eye_quat(yaw, 0.0), yaw_quat(yaw)  # world 1 turned round
        imgs = r.render(np.repeat(d.qpos[None], 2, 0), pos, quat)
    finally:
        e.close()
    assert imgs.shape == (2, 32, 32, 3) and imgs.dtype == np.uint8
    diff = np.abs(imgs[0].astype(int) - obs.astype(int))
    assert diff.mean() < 8 and (diff.max(-1) <= 24).mean() > 0.9, diff.mean()
    assert np.abs(imgs[1].astype(int) - imgs[0].astype(int)).mean() > 10  # the turned infant sees another view
