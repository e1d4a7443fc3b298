"""View-frustum culling of geoms before ``mjv_updateScene``.

MuJoCo hands every geom to OpenGL and lets clipping discard what the camera cannot see; on Mesa llvmpipe each
draw call costs tens of microseconds whatever it covers, so at the infant's eye (a ~60-90° cone) about half of
the frame time went to geoms behind or beside it. Culled geoms are moved to a geom group the eye never shows,
only for the duration of the scene update, so physics, rays and other views see the model unchanged. The test
is conservative (bounding spheres), so frames are bit-identical with and without culling.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

CULLED_GROUP = 5
"""Geom group a culled geom is moved to while the eye's scene is built (hidden by MuJoCo's default option)."""


def outside_frustum(model: mujoco.MjModel, data: mujoco.MjData, camera_id: int, aspect: float) -> np.ndarray:
    """Boolean per geom: its bounding sphere lies wholly outside the side planes of camera ``camera_id``'s view
    (or behind it). ``aspect`` = width / height of the image. Needs ``mj_kinematics`` + ``mj_camlight`` done."""
    rel = data.geom_xpos - data.cam_xpos[camera_id]
    cam = rel @ data.cam_xmat[camera_id].reshape(3, 3)  # camera frame: x right, y up, looking along -z
    x, y, forward = cam[:, 0], cam[:, 1], -cam[:, 2]
    ty = math.tan(math.radians(model.cam_fovy[camera_id]) / 2)
    tx = ty * aspect
    r = model.geom_rbound
    out = ((forward < -r)
           | (np.abs(x) - tx * forward > r * math.sqrt(1 + tx * tx))
           | (np.abs(y) - ty * forward > r * math.sqrt(1 + ty * ty)))
    out &= r > 0  # rbound 0 = unbounded (planes)
    return out


class FrustumCuller:
    """Hides out-of-view geoms of one model from one camera's scene updates."""

    def __init__(self, model: mujoco.MjModel, option: mujoco.MjvOption) -> None:
        if option.geomgroup[CULLED_GROUP]:
            raise ValueError(f"geom group {CULLED_GROUP} is reserved for culling; hide it in the camera's option")
        self.model = model
        self.groups = model.geom_group.copy()
        self.culled = 0
        """Geoms culled in the last update (for profiling)."""

    def update(self, renderer, data: mujoco.MjData, camera: mujoco.MjvCamera, option: mujoco.MjvOption,
               aspect: float) -> None:
        """``renderer.update(data, camera, option)`` with the geoms outside the view hidden."""
        out = outside_frustum(self.model, data, camera.fixedcamid, aspect)
        self.culled = int(out.sum())
        group = self.model.geom_group
        group[out] = CULLED_GROUP
        try:
            renderer.update(data, camera, option)
        finally:
            group[:] = self.groups
