"""Physics and eye rendering of many MuJoCo worlds in MuJoCo Warp: the backend of :mod:`env.warp_vector`.

Each world keeps a :class:`WarpMemberBackend`: a :class:`MujocoBackend` without OpenGL whose host ``MjData`` is
the world's state as the task sees it (named poses, teleports, line of sight: the plain backend's code). Worlds
whose compiled homes are identical (same scene digest) form a :class:`WarpGroup`: one ``mujoco_warp`` model
with one Warp ``Data`` of as many worlds. A batch step copies the members' state (qpos, qvel, act, warm start,
time, mocap poses, ctrl) into the group's Warp data, runs every physics substep of every world in one launch
per kernel (``mujoco_warp.step``), and copies the integrated state back; a batch render ray-casts every world's
eye in one launch (``mujoco_warp.render``) into a device buffer that can stay on the device
(:meth:`WarpGroup.render`, ``wp.to_torch``).

What runs where: physics and rendering on the Warp device (a CUDA GPU, or Warp's CPU device, slowly, which is
what CI uses); task scripts, rewards, the infant's planar body and line-of-sight rays on the host, per world,
through the same :class:`env.tasks.World` as the EGL env. The host↔device copies are a few hundred floats per
world and step.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from env.backends.base import Frame, RenderQuality
from env.backends.mujoco.backend import MujocoBackend
from env.backends.mujoco.compiler import CEILING_GROUP, SEETHROUGH_GROUP
from env.backends.mujoco.warp_renderer import EYE_CAMERA, import_warp

_STATE_IN = ("qpos", "qvel", "act", "qacc_warmstart", "time", "ctrl", "mocap_pos", "mocap_quat")
"""MjData fields a physics step reads (copied host → device before a step)."""
_STATE_OUT = ("qpos", "qvel", "act", "qacc_warmstart")
"""MjData fields a physics step writes that the host needs (copied back after a step). Not ``time``: Warp keeps
it in float32, and task phases end on time thresholds, so the host adds the substeps in float64 as ``mj_step``
does (the EGL env's times exactly)."""


class WarpMemberBackend(MujocoBackend):
    """One world of a Warp batch: the plain MuJoCo backend's state and queries, physics and eye renders by its
    :class:`WarpGroup` (``step`` only records the time to advance; ``render`` returns the frame the batch served).
    """

    name = "mujoco"
    sleep = False
    """MuJoCo's island sleeping is a lever of the CPU stepper (``mj_step``); Warp steps every world in a batch."""

    def __init__(self, quality: RenderQuality | None = None) -> None:
        super().__init__(quality)
        self.digest: str | None = None
        self.pending_steps = 0
        self._served: Frame | None = None

    def load(self, scene, eye) -> None:
        super().load(scene, eye)
        self.digest = f"{scene.digest()}:{eye}"

    def _attach_renderer(self) -> None:
        """No GL: the group ray-casts the eye."""

    def step(self, seconds: float) -> None:
        self.pending_steps = max(1, round(seconds / self.model.opt.timestep))

    def serve(self, frame: Frame | None) -> None:
        self._served = frame

    def render(self, rgb: bool = True, depth: bool = False, segmentation: bool = False) -> Frame:
        if self._served is None:
            return Frame()
        frame, self._served = self._served, None
        return frame

    def render_view(self, view: str, width: int, height: int) -> np.ndarray:
        raise NotImplementedError("views for people are drawn with OpenGL; a Warp world has none. Render them "
                                  "with the plain env (env.make) on the same seed")

    def state_changed(self) -> None:
        """The group wrote new physics state into ``data``: derived positions are stale."""
        self._dirty = True


class WarpGroup:
    """Worlds that share one compiled home, stepped and rendered as one Warp batch.

    :param members: the worlds' backends (same digest, all loaded).
    :param device: a Warp device name (``"cuda:0"``, ``"cpu"``).
    """

    def __init__(self, members: list[WarpMemberBackend], device: str) -> None:
        wp, mjw = import_warp()
        self._wp, self._mjw = wp, mjw
        self.members = members
        first = members[0]
        self.digest = first.digest
        model: mujoco.MjModel = first.model
        self.width, self.height = first.eye.width, first.eye.height
        self.device = wp.get_device(device)
        n = len(members)
        groups = [0, SEETHROUGH_GROUP, CEILING_GROUP]  # the eye's option: never INFANT_GROUP (its own body)
        with wp.ScopedDevice(self.device):
            self._m = mjw.put_model(model)
            # Warp allocates contacts and constraint rows up front; the homes' worst seen is 23 contacts and 92
            # rows (pyramidal cones, toys at rest on the floor): room for ~3x that
            self._d = mjw.put_data(model, first.data, nworld=n, nconmax=max(64, 2 * model.nv),
                                   njmax=max(256, 8 * model.nv))
            self._rc = mjw.create_render_context(
                model, nworld=n, cam_res=(self.width, self.height), render_rgb=True, render_depth=False,
                render_seg=False, cam_active=[EYE_CAMERA], enabled_geom_groups=groups, use_shadows=False,
                background_color=(0.0, 0.0, 0.0, 1.0))
            self.rgb = wp.zeros((n, self.height, self.width), dtype=wp.vec3)
        self._host = {k: np.stack([getattr(b.data, k) for b in members]) for k in _STATE_IN}
        self._graphs: dict[int, Any] = {}  # substeps → captured CUDA graph of them (a GPU's launch overhead)

    def _upload(self, fields: tuple[str, ...]) -> None:
        for k in fields:
            buf = self._host[k]
            for i, b in enumerate(self.members):
                buf[i] = getattr(b.data, k)
            getattr(self._d, k).assign(buf)

    def step(self) -> None:
        """Advance the members with pending substeps (all the same: one ``control_dt``) in one batch; members
        with none (reset this step) keep their host state."""
        n = {b.pending_steps for b in self.members} - {0}
        if not n:
            return
        if len(n) != 1:
            raise RuntimeError(f"the worlds of a Warp batch must advance together; pending substeps {sorted(n)}")
        steps = n.pop()
        wp, mjw = self._wp, self._mjw
        self._upload(_STATE_IN)
        with wp.ScopedDevice(self.device):
            if self.device.is_cuda:  # one graph launch instead of ~10^3 kernel launches (not run in CI: no GPU)
                if steps not in self._graphs:
                    mjw.step(self._m, self._d)  # compile every kernel before capturing
                    self._upload(_STATE_IN)
                    with wp.ScopedCapture() as capture:
                        for _ in range(steps):
                            mjw.step(self._m, self._d)
                    self._graphs[steps] = capture.graph
                wp.capture_launch(self._graphs[steps])
            else:
                for _ in range(steps):
                    mjw.step(self._m, self._d)
            out = {k: getattr(self._d, k).numpy() for k in _STATE_OUT}
        for i, b in enumerate(self.members):
            if b.pending_steps != steps:
                continue  # a world reset this step: its host state is the truth, the batch's copy is scrap
            for k in _STATE_OUT:
                getattr(b.data, k)[:] = out[k][i]
            for _ in range(steps):
                b.data.time += b.model.opt.timestep
            b.pending_steps = 0
            b.state_changed()

    def render(self) -> Any:
        """Ray-cast every member's eye in its current state: a Warp array on the device, ``(worlds, H, W)`` of
        ``vec3`` RGB in [0, 1] (overwritten by the next render)."""
        wp, mjw = self._wp, self._mjw
        self._upload(("qpos", "mocap_pos", "mocap_quat"))
        with wp.ScopedDevice(self.device):
            mjw.kinematics(self._m, self._d)
            mjw.camlight(self._m, self._d)
            mjw.refit_bvh(self._m, self._d, self._rc)
            mjw.render(self._m, self._d, self._rc)
            mjw.get_rgb(self._rc, 0, self.rgb)
        return self.rgb


def rgb_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] as uint8, rounded as the single-world Warp renderer does."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
