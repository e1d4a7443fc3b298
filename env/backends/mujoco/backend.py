"""The embedded MuJoCo backend: physics, object motion and headless rendering of a scene spec."""

from __future__ import annotations

import math

import mujoco
import numpy as np

from env.backends.base import Backend, EyeSpec, Frame, RenderQuality
from env.backends.mujoco.compiler import CEILING_GROUP, INFANT_GROUP, SEETHROUGH_GROUP, compile_scene, eye_quat, yaw_quat
from env.backends.mujoco.culling import FrustumCuller
from env.backends.mujoco.renderer import GLRenderer
from scenes.spec import SceneSpec

_MAX_VIEW = 512  # largest overview render; the offscreen buffer grows to a view's size when one is asked for


class MujocoBackend(Backend):
    """One MuJoCo model + data + offscreen renderer. Reloading a scene keeps the GL context."""

    name = "mujoco"
    sleep = True
    """Let resting toys sleep (MuJoCo island sleeping, ``compiler.SLEEP_TOLERANCE``); read when a scene loads."""

    def __init__(self, quality: RenderQuality | None = None) -> None:
        self.quality = quality or RenderQuality()
        self._renderer: GLRenderer | None = None
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None
        self._dirty = True

    # ----------------------------------------------------------------- loading
    def load(self, scene: SceneSpec, eye: EyeSpec) -> None:
        self.scene = scene
        self.eye = eye
        # The offscreen buffer fits the eye alone (it grows for an overview render): llvmpipe's per-frame cost
        # grows with the framebuffer, and a 512x512 buffer under a 64x64 eye cost ~6% of a step.
        self.model = compile_scene(scene, eye, self.quality, 0, self.sleep)
        self.data = mujoco.MjData(self.model)
        self._attach_renderer()
        m = self.model
        self._names = tuple(o.name for o in scene.objects)
        self._free = {o.name: m.joint(f"{o.name}/free").qposadr[0] for o in scene.objects if o.dynamics == "free"}
        self._free_dof = {o.name: m.joint(f"{o.name}/free").dofadr[0] for o in scene.objects
                          if o.dynamics == "free"}
        self._mocap = {o.name: m.body(o.name).mocapid[0] for o in scene.objects if o.dynamics == "kinematic"}
        self._body = {o.name: m.body(o.name).id for o in scene.objects}
        self._infant_mocap = m.body("infant").mocapid[0]
        self._head_mocap = m.body("infant_head").mocapid[0]
        self._infant_bodies = {m.body("infant").id, m.body("infant_head").id}
        body_to_object = np.zeros(m.nbody, np.int32)
        for i, name in enumerate(self._names):
            body_to_object[self._body[name]] = i + 1
        self._geom_to_object = body_to_object[m.geom_bodyid]
        self._eye_cam = mujoco.MjvCamera()
        self._eye_cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._eye_cam.fixedcamid = m.camera("infant_eye").id
        self._eye_option = mujoco.MjvOption()
        self._eye_option.geomgroup[INFANT_GROUP] = 0
        self._culler = FrustumCuller(m, self._eye_option)
        self._light_diffuse = m.light_diffuse.copy()
        self._ambient = m.vis.headlight.ambient.copy()
        self._headlight_diffuse = m.vis.headlight.diffuse.copy()
        self._ray_groups = np.ones(6, np.uint8)
        self._ray_groups[[INFANT_GROUP, SEETHROUGH_GROUP]] = 0
        self.reset()

    def _attach_renderer(self) -> None:
        """Bind the eye's GL renderer to the loaded model (a backend rendered elsewhere, e.g. by Warp, skips it)."""
        if self._renderer is None:
            self._renderer = GLRenderer(self.quality, max(self.eye.width, _MAX_VIEW), max(self.eye.height, _MAX_VIEW))
        self._renderer.bind(self.model)

    def reset(self) -> None:
        assert self.model is not None and self.data is not None, "load() a scene first"
        mujoco.mj_resetData(self.model, self.data)
        self.set_lights(True)
        self._dirty = True

    # ----------------------------------------------------------------- physics
    def step(self, seconds: float) -> None:
        n = max(1, round(seconds / self.model.opt.timestep))
        mujoco.mj_step(self.model, self.data, n)
        self._dirty = True

    @property
    def time(self) -> float:
        return float(self.data.time)

    @property
    def object_names(self) -> tuple[str, ...]:
        return self._names

    def _sync(self) -> None:
        """Bring positions up to date after teleports or steps (mj_step leaves them one step stale)."""
        if self._dirty:
            mujoco.mj_kinematics(self.model, self.data)
            mujoco.mj_camlight(self.model, self.data)
            self._dirty = False

    def _check(self, name: str) -> None:
        if name not in self._body:
            raise KeyError(f"no object named {name!r} in the loaded scene; objects: {list(self._names)}")

    def get_position(self, name: str) -> np.ndarray:
        a = self._free.get(name)  # tasks ask several times a step: the common cases first, one lookup each
        if a is not None:
            return self.data.qpos[a:a + 3].copy()
        m = self._mocap.get(name)
        if m is not None:
            return self.data.mocap_pos[m].copy()
        self._check(name)
        self._sync()
        return self.data.xpos[self._body[name]].copy()

    def set_pose(self, name: str, position: np.ndarray, yaw: float | None = None) -> None:
        self._check(name)
        if name in self._free:
            a, v = self._free[name], self._free_dof[name]
            self.data.qpos[a:a + 3] = position
            if yaw is not None:
                self.data.qpos[a + 3:a + 7] = yaw_quat(yaw)
            self.data.qvel[v:v + 6] = 0.0
        elif name in self._mocap:
            self.data.mocap_pos[self._mocap[name]] = position
            if yaw is not None:
                self.data.mocap_quat[self._mocap[name]] = yaw_quat(yaw)
        else:
            raise ValueError(f"object {name!r} is static; only free and kinematic objects can move")
        self._dirty = True

    def set_velocity(self, name: str, linear: np.ndarray) -> None:
        self._check(name)
        if name not in self._free:
            raise ValueError(f"object {name!r} is not a free body; set_velocity needs dynamics='free'")
        v = self._free_dof[name]
        self.data.qvel[v:v + 3] = linear

    def set_eye(self, position: np.ndarray, yaw: float, pitch: float) -> None:
        d = self.data
        d.mocap_pos[self._head_mocap] = position
        d.mocap_quat[self._head_mocap] = eye_quat(yaw, pitch)
        d.mocap_pos[self._infant_mocap] = (position[0], position[1], 0.0)
        d.mocap_quat[self._infant_mocap] = yaw_quat(yaw)
        self._dirty = True

    def set_fovy(self, fovy: float) -> None:
        """Change the eye camera's vertical field of view (degrees)."""
        self.model.cam_fovy[self._eye_cam.fixedcamid] = fovy

    def set_lights(self, on: bool) -> None:
        m = self.model
        m.light_diffuse[:] = self._light_diffuse if on else 0.0
        m.vis.headlight.ambient[:] = self._ambient if on else 0.0
        m.vis.headlight.diffuse[:] = self._headlight_diffuse if on else 0.0
        self.lights_on = on

    def line_of_sight(self, start: np.ndarray, name: str) -> bool:
        self._check(name)
        self._sync()
        body = self._body[name]
        target = self.data.xipos[body]
        vec = target - start
        dist = float(np.linalg.norm(vec))
        if dist < 1e-6:
            return True
        geomid = np.zeros(1, np.int32)
        hit = mujoco.mj_ray(self.model, self.data, np.asarray(start, np.float64), vec / dist, self._ray_groups, 1,
                            -1, geomid)
        return hit < 0 or hit >= dist - 1e-3 or self.model.geom_bodyid[geomid[0]] == body

    # --------------------------------------------------------------- rendering
    def render(self, rgb: bool = True, depth: bool = False, segmentation: bool = False) -> Frame:
        self._sync()
        r = self._renderer
        w, h = self.eye.width, self.eye.height
        frame = Frame()
        if rgb or depth:
            self._update_eye()
            r.draw(w, h)
            if rgb:
                frame.rgb = r.read_rgb(w, h)
            if depth:
                frame.depth = r.read_depth(w, h)
        if segmentation:
            frame.segmentation = r.read_segmentation(self.data, self._eye_cam, w, h, self._geom_to_object)
        return frame

    def draw_eye(self, target: GLRenderer | None = None, left: int = 0, bottom: int = 0) -> None:
        """Draw the eye view into a rectangle of ``target``'s framebuffer (a batch tile) without reading it."""
        self._sync()
        self._update_eye()
        self._renderer.draw(self.eye.width, self.eye.height, left, bottom, target)

    def _update_eye(self) -> None:
        self._culler.update(self._renderer, self.data, self._eye_cam, self._eye_option,
                            self.eye.width / self.eye.height)

    def render_view(self, view: str, width: int, height: int) -> np.ndarray:
        if width > _MAX_VIEW or height > _MAX_VIEW or width <= 0 or height <= 0:
            raise ValueError(f"view size {width}x{height}: use 1..{_MAX_VIEW} pixels per side")
        self._sync()
        cam = mujoco.MjvCamera()
        if view == "overhead":
            cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
            cam.fixedcamid = self.model.camera("overhead").id
        elif view == "third_person":
            head = self.data.mocap_pos[self._head_mocap]
            quat = self.data.mocap_quat[self._head_mocap]
            yaw = 2 * math.atan2(quat[3], quat[0])
            cam.type = mujoco.mjtCamera.mjCAMERA_FREE
            cam.lookat[:] = (head[0] + 0.4 * math.cos(yaw), head[1] + 0.4 * math.sin(yaw), 0.15)
            cam.distance = 1.6
            cam.azimuth = math.degrees(yaw)  # behind the infant, looking where it looks
            cam.elevation = -30
        else:
            raise ValueError(f"unknown view {view!r}; use 'overhead' or 'third_person'")
        option = mujoco.MjvOption()  # shows the infant's own body too
        option.geomgroup[CEILING_GROUP] = view != "overhead"
        option.geomgroup[INFANT_GROUP] = 1  # hidden by MuJoCo's default option
        self._renderer.fit_offscreen(width, height)
        self._renderer.update(self.data, cam, option)
        self._renderer.draw(width, height)
        return self._renderer.read_rgb(width, height)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.model = None
        self.data = None
