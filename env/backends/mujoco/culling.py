"""View-frustum culling of geoms before ``mjv_updateScene``.

MuJoCo hands every geom to OpenGL and lets clipping discard what the camera cannot see; on Mesa llvmpipe each
draw call costs tens of microseconds whatever it covers, so at the infant's eye (a ~60-90° cone) about half of
the frame time went to geoms behind or beside it. Culled geoms are moved to a geom group the eye never shows,
only for the duration of the scene update, so physics, rays and other views see the model unchanged. The test
is conservative (bounding spheres), so frames are bit-identical with and without culling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

CULLED_GROUP = 5
"""Geom group a culled geom is moved to while the eye's scene is built (hidden by MuJoCo's default option)."""


def outside_frustum(model: mujoco.MjModel, data: mujoco.MjData, camera_id: int, aspect: float,
                    bounds: FrustumBounds | None = None) -> np.ndarray:
    """Boolean per geom: its bounding sphere lies wholly outside the side planes of camera ``camera_id``'s view
    (or behind it). ``aspect`` = width / height of the image. Needs ``mj_kinematics`` + ``mj_camlight`` done.
    ``bounds``: :func:`frustum_bounds` of these arguments, computed once (the same numbers, fewer per call)."""
    if bounds is None:
        bounds = frustum_bounds(model, camera_id, aspect)
    rel = data.geom_xpos - data.cam_xpos[camera_id]
    cam = rel @ data.cam_xmat[camera_id].reshape(3, 3)  # camera frame: x right, y up, looking along -z
    forward = -cam[:, 2]
    out = forward < -bounds.r
    out |= np.abs(cam[:, 0]) - bounds.tx * forward > bounds.rx
    out |= np.abs(cam[:, 1]) - bounds.ty * forward > bounds.ry
    out &= bounds.bounded
    return out


@dataclass(frozen=True)
class FrustumBounds:
    """The per-model, per-view constants of :func:`outside_frustum`'s test."""

    fovy: float
    """The camera's vertical field of view they were computed for, degrees."""
    aspect: float
    """Image width / height they were computed for."""
    tx: float
    """tan of half the horizontal field of view."""
    ty: float
    """tan of half the vertical field of view."""
    r: np.ndarray
    """Bounding-sphere radius per geom."""
    rx: np.ndarray
    """``r * sqrt(1 + tx²)``: how far outside a side plane a sphere's centre may lie, per geom."""
    ry: np.ndarray
    """``r * sqrt(1 + ty²)``, the same for the top and bottom planes."""
    bounded: np.ndarray
    """``r > 0`` per geom (rbound 0 = unbounded, e.g. planes: never culled)."""


def frustum_bounds(model: mujoco.MjModel, camera_id: int, aspect: float) -> FrustumBounds:
    """The constants of the frustum test of camera ``camera_id`` at ``aspect``."""
    fovy = float(model.cam_fovy[camera_id])
    ty = math.tan(math.radians(fovy) / 2)
    tx = ty * aspect
    r = model.geom_rbound.copy()
    return FrustumBounds(fovy, aspect, tx, ty, r, r * math.sqrt(1 + tx * tx), r * math.sqrt(1 + ty * ty), r > 0)


class FrustumCuller:
    """Hides out-of-view geoms of one model from one camera's scene updates."""

    def __init__(self, model: mujoco.MjModel, option: mujoco.MjvOption) -> None:
        if option.geomgroup[CULLED_GROUP]:
            raise ValueError(f"geom group {CULLED_GROUP} is reserved for culling; hide it in the camera's option")
        self.model = model
        self.groups = model.geom_group.copy()
        self._bounds: FrustumBounds | None = None
        self._out = np.zeros(model.ngeom, bool)

    @property
    def culled(self) -> int:
        """Geoms culled in the last update (for profiling; counted when asked, not every frame)."""
        return int(self._out.sum())

    def update(self, renderer, data: mujoco.MjData, camera: mujoco.MjvCamera, option: mujoco.MjvOption,
               aspect: float) -> None:
        """``renderer.update(data, camera, option)`` with the geoms outside the view hidden."""
        cam = camera.fixedcamid
        b = self._bounds
        if b is None or b.aspect != aspect or b.fovy != self.model.cam_fovy[cam]:  # set_fovy may change it
            b = self._bounds = frustum_bounds(self.model, cam, aspect)
        out = self._out = outside_frustum(self.model, data, cam, aspect, b)
        group = self.model.geom_group
        group[out] = CULLED_GROUP
        try:
            renderer.update(data, camera, option)
        finally:
            group[:] = self.groups
