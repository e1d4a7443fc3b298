"""Batched ray-cast rendering of many infant eyes in one home with MuJoCo Warp (``pip install -e '.[gpu]'``).

The GPU path: every world of a batch is the same compiled home in a different state (infant pose, toys), and
one kernel launch ray-casts all their eye views at once (``mujoco_warp.render``), with no OpenGL at all. On a
CUDA device this is the route to thousands of frames per second; Warp also runs the same kernels on the CPU
(slower than llvmpipe's rasterizer there, but useful to check the images without a GPU).

Differences from the EGL rasterizer: a ray-cast is shaded per pixel from the same materials, textures and
headlight, so colours agree closely but not bit for bit (``tools.bench --warp`` reports the agreement).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from env.backends.mujoco.compiler import CEILING_GROUP, SEETHROUGH_GROUP

EYE_CAMERA = "infant_eye"
"""The camera every world renders."""


def import_warp() -> tuple[Any, Any]:
    """``(warp, mujoco_warp)``, quiet, or an ImportError with the install line."""
    try:
        import warp as wp
        wp.config.log_level = getattr(wp, "LOG_WARNING", 30)  # no banner or per-kernel compile lines on stdout
        import mujoco_warp as mjw
    except ImportError as exc:
        raise ImportError("the Warp renderer needs mujoco-warp and warp-lang: pip install -e '.[gpu]' "
                          "(runs on a CUDA GPU, or slowly on the CPU)") from exc
    return wp, mjw


class WarpEyeRenderer:
    """Eye views of ``nworld`` states of one MuJoCo model, ray-cast in one launch.

    :param model: the compiled home (every world shares it).
    :param nworld: worlds rendered per call.
    :param width: image width in pixels (height likewise).
    :param device: a Warp device (``"cuda:0"``, ``"cpu"``); None = Warp's default (the GPU when there is one).
    """

    def __init__(self, model: mujoco.MjModel, nworld: int, width: int, height: int,
                 device: str | None = None) -> None:
        wp, mjw = import_warp()
        self._wp, self._mjw = wp, mjw
        self.model, self.nworld, self.width, self.height = model, nworld, width, height
        self.device = wp.get_device(device)
        self._data = mujoco.MjData(model)
        mujoco.mj_forward(model, self._data)
        groups = [0, SEETHROUGH_GROUP, CEILING_GROUP]  # as the eye's option: never INFANT_GROUP (its own body)
        with wp.ScopedDevice(self.device):
            self._m = mjw.put_model(model)
            self._d = mjw.put_data(model, self._data, nworld=nworld)
            self._rc = mjw.create_render_context(
                model, nworld=nworld, cam_res=(width, height), render_rgb=True, render_depth=False,
                render_seg=False, cam_active=[EYE_CAMERA], enabled_geom_groups=groups, use_shadows=False,
                background_color=(0.0, 0.0, 0.0, 1.0))
            self._rgb = wp.zeros((nworld, height, width), dtype=wp.vec3)
        self._mocap_pos = np.repeat(self._data.mocap_pos[None], nworld, axis=0)
        self._mocap_quat = np.repeat(self._data.mocap_quat[None], nworld, axis=0)
        self._qpos = np.repeat(self._data.qpos[None], nworld, axis=0)

    def render(self, qpos: np.ndarray | None = None, mocap_pos: np.ndarray | None = None,
               mocap_quat: np.ndarray | None = None) -> np.ndarray:
        """RGB uint8 images ``(nworld, height, width, 3)`` of the worlds in the given states (each array has a
        leading world axis; a state not given keeps its last value)."""
        wp, mjw = self._wp, self._mjw
        for src, dst in ((qpos, self._qpos), (mocap_pos, self._mocap_pos), (mocap_quat, self._mocap_quat)):
            if src is not None:
                dst[:] = src
        with wp.ScopedDevice(self.device):
            self._d.qpos.assign(self._qpos)
            self._d.mocap_pos.assign(self._mocap_pos)
            self._d.mocap_quat.assign(self._mocap_quat)
            mjw.kinematics(self._m, self._d)
            mjw.camlight(self._m, self._d)
            mjw.refit_bvh(self._m, self._d, self._rc)
            mjw.render(self._m, self._d, self._rc)
            mjw.get_rgb(self._rc, 0, self._rgb)
            rgb = self._rgb.numpy()
        return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
