"""The habitat-sim backend: the scene spec exported to GLB (:mod:`scenes.export`), simulated with Bullet and
rendered by habitat-sim's sensors.

Mapping onto habitat-sim (y-up, see :mod:`scenes.axes`):

- the scene mesh (habitat-sim's "stage"): ``SimulatorConfiguration.scene_id`` = the exported ``stage.glb`` (rooms,
  walls, furniture), physics on;
- movable objects: templates loaded with the object-template manager, instanced by the rigid-object manager with
  ``semantic_id = 1 + scene index`` (DYNAMIC for free toys, KINEMATIC for cups and screens);
- the infant's eye: agent 0 with RGB, depth and semantic ``CameraSensorSpec`` s (pinhole, the eye's resolution,
  ``hfov`` derived from the vertical fov); ``set_eye`` places the agent on the floor under the eye and the
  sensors at the eye;
- people's views: agent 1, one colour sensor per requested size.

Differences from MuJoCo: static objects are part of the scene mesh, so segmentation shows them as 0 (only
rigid objects carry ids); shadows/MSAA/reflections switches are not applied; lights-out blacks the RGB image
(habitat's Phong shader keeps a material ambient term without lights, MuJoCo's frame is black).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from env.backends.base import Backend, EyeSpec, Frame, RenderQuality
from scenes.axes import camera_pose_yup, points_to_yup, points_to_zup, vertical_to_horizontal_fov, yaw_quat_yup
from scenes.spec import SceneSpec

INSTALL_HINT = (
    "the habitat backend needs habitat-sim, which is not on PyPI for Linux: install it with conda, "
    "`conda install habitat-sim withbullet headless -c conda-forge -c aihabitat` (drop `headless` on a desktop; "
    "plain `conda install habitat-sim -c conda-forge -c aihabitat` has no Bullet physics), then "
    "`pip install -e '.[habitat]'` for trimesh and numpy-quaternion. Or use backend='mujoco'."
)
DEFAULT_EYE_HEIGHT = 0.3
"""Sensor height above the agent until the first ``set_eye`` (the MuJoCo compiler's head height)."""
MAX_VIEW = 512
"""Largest ``render_view`` size, as in the MuJoCo backend."""
_EYE_SENSORS = ("rgb", "depth", "semantic")


def require_habitat_sim() -> Any:
    """Import and return ``habitat_sim``; ImportError with the install line when it is missing."""
    try:
        import habitat_sim
    except ImportError as exc:
        raise ImportError(f"habitat_sim is not installed: {INSTALL_HINT}") from exc
    return habitat_sim


class HabitatBackend(Backend):
    """One habitat-sim ``Simulator`` running an exported scene. Reloading closes and recreates it."""

    name = "habitat"

    def __init__(self, quality: RenderQuality | None = None, gpu_device_id: int = 0,
                 cache_dir: str | Path | None = None) -> None:
        self._hs = require_habitat_sim()
        import magnum  # ships with habitat-sim

        self._mn = magnum
        if not self._hs.built_with_bullet:
            raise ImportError("this habitat-sim build has no Bullet physics, which rolling toys need: "
                              f"{INSTALL_HINT}")
        self.quality = quality or RenderQuality()
        self.gpu_device_id = gpu_device_id
        self.cache_dir = cache_dir
        self._sim: Any = None
        self._time = 0.0
        self.lights_on = True

    # ----------------------------------------------------------------- loading
    def load(self, scene: SceneSpec, eye: EyeSpec) -> None:
        from scenes.export import export_scene

        hs = self._hs
        self.close()
        self.scene, self.eye = scene, eye
        self.exported = export_scene(scene, self.cache_dir, texture_size=self.quality.max_texture_size)

        sim_cfg = hs.SimulatorConfiguration()
        sim_cfg.scene_dataset_config_file = str(self.exported.dataset_config)
        sim_cfg.scene_id = str(self.exported.scene_mesh_glb)
        sim_cfg.enable_physics = True
        sim_cfg.gpu_device_id = self.gpu_device_id
        sim_cfg.random_seed = int(scene.seed)
        sim_cfg.override_scene_light_defaults = True
        sim_cfg.scene_light_setup = hs.gfx.DEFAULT_LIGHTING_KEY

        hfov = vertical_to_horizontal_fov(eye.fovy, eye.width, eye.height)
        specs = [self._camera_spec(uuid, kind, eye.width, eye.height, hfov) for uuid, kind in
                 zip(_EYE_SENSORS, (hs.SensorType.COLOR, hs.SensorType.DEPTH, hs.SensorType.SEMANTIC))]
        eye_agent = hs.agent.AgentConfiguration(height=DEFAULT_EYE_HEIGHT, radius=0.1, sensor_specifications=specs)
        view_agent = hs.agent.AgentConfiguration(height=DEFAULT_EYE_HEIGHT, radius=0.1, sensor_specifications=[])
        self._sim = hs.Simulator(hs.Configuration(sim_cfg, [eye_agent, view_agent]))
        self._agent = self._sim.initialize_agent(0)
        self._view_agent = self._sim.initialize_agent(1)
        self._view_sensors: set[str] = set()

        otm = self._sim.get_object_template_manager()
        rom = self._sim.get_rigid_object_manager()
        motion = {"DYNAMIC": hs.physics.MotionType.DYNAMIC, "KINEMATIC": hs.physics.MotionType.KINEMATIC,
                  "STATIC": hs.physics.MotionType.STATIC}
        self._objects: dict[str, Any] = {}
        self._see_through: set[int] = set()
        for name, exp in self.exported.objects.items():
            template_ids = otm.load_configs(str(exp.config))
            if not template_ids:
                raise RuntimeError(f"habitat-sim could not load the object config {exp.config} for {name!r}")
            handle = otm.get_template_by_id(template_ids[0]).handle
            obj = rom.add_object_by_template_handle(handle)
            if obj is None or not obj.is_alive:
                raise RuntimeError(f"habitat-sim could not instance object {name!r} from template {handle}")
            obj.semantic_id = exp.semantic_id
            obj.motion_type = motion[exp.motion_type]
            self._objects[name] = obj
            spec_obj = scene.object(name)
            if any(scene.material(sh.material).rgba[3] < 1.0 for sh in spec_obj.shapes):
                self._see_through.add(obj.object_id)
        self._names = tuple(o.name for o in scene.objects)
        self._lights = [
            hs.gfx.LightInfo(
                vector=([*points_to_yup(np.asarray(light.dir, np.float64)), 0.0] if light.directional
                        else [*points_to_yup(np.asarray(light.pos, np.float64)), 1.0]),
                color=list(light.diffuse), model=hs.gfx.LightPositionModel.Global)
            for light in scene.lights
        ]
        sx, sy, syaw = scene.spawn
        self.set_eye(np.array([sx, sy, DEFAULT_EYE_HEIGHT]), syaw, 0.0)
        self.reset()

    def _camera_spec(self, uuid: str, kind: Any, width: int, height: int, hfov: float) -> Any:
        spec = self._hs.CameraSensorSpec()
        spec.uuid = uuid
        spec.sensor_type = kind
        spec.sensor_subtype = self._hs.SensorSubType.PINHOLE
        spec.resolution = [height, width]
        spec.position = [0.0, DEFAULT_EYE_HEIGHT, 0.0]
        spec.hfov = self._mn.Deg(hfov)
        spec.near = 0.05  # the MuJoCo eye's near plane
        return spec

    def reset(self) -> None:
        assert self._sim is not None, "load() a scene first"
        for name, obj in self._objects.items():
            exp = self.exported.objects[name]
            self._place(obj, np.asarray(exp.translation), np.asarray(exp.rotation))
        self._time = 0.0
        self.set_lights(True)

    # ----------------------------------------------------------------- physics
    def step(self, seconds: float) -> None:
        self._sim.step_physics(float(seconds))
        self._time += float(seconds)

    @property
    def time(self) -> float:
        return self._time

    @property
    def object_names(self) -> tuple[str, ...]:
        return self._names

    def _check(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(f"no object named {name!r} in the loaded scene; objects: {list(self._names)}")

    def _vec(self, v: np.ndarray) -> Any:
        return self._mn.Vector3(*(float(x) for x in v))

    def _place(self, obj: Any, translation: np.ndarray, rotation: np.ndarray | None) -> None:
        obj.translation = self._vec(translation)
        if rotation is not None:
            w, x, y, z = (float(v) for v in rotation)
            obj.rotation = self._mn.Quaternion(self._mn.Vector3(x, y, z), w)
        if obj.motion_type == self._hs.physics.MotionType.DYNAMIC:
            obj.linear_velocity = self._vec(np.zeros(3))
            obj.angular_velocity = self._vec(np.zeros(3))

    def get_position(self, name: str) -> np.ndarray:
        self._check(name)
        if name in self._objects:
            return points_to_zup(np.array(list(self._objects[name].translation)))
        return np.asarray(self.scene.object(name).pos, np.float64)  # baked into the scene mesh: never moves

    def set_pose(self, name: str, position: np.ndarray, yaw: float | None = None) -> None:
        self._check(name)
        obj = self._objects.get(name)
        if obj is None or obj.motion_type == self._hs.physics.MotionType.STATIC:
            raise ValueError(f"object {name!r} is static; only free and kinematic objects can move")
        self._place(obj, points_to_yup(np.asarray(position, np.float64)),
                    None if yaw is None else yaw_quat_yup(yaw))

    def set_velocity(self, name: str, linear: np.ndarray) -> None:
        self._check(name)
        obj = self._objects.get(name)
        if obj is None or obj.motion_type != self._hs.physics.MotionType.DYNAMIC:
            raise ValueError(f"object {name!r} is not a free body; set_velocity needs dynamics='free'")
        obj.linear_velocity = self._vec(points_to_yup(np.asarray(linear, np.float64)))

    def _pose_agent(self, agent: Any, sensors: tuple[str, ...] | list[str], position: np.ndarray, yaw: float,
                    pitch: float) -> None:
        """Agent on the floor below ``position`` facing ``yaw``; its ``sensors`` at ``position``, pitched."""
        hs = self._hs
        cam_pos, cam_rot = camera_pose_yup(position, yaw, pitch)
        state = hs.AgentState()
        state.position = points_to_yup(np.array([position[0], position[1], 0.0]))
        state.rotation = _npq(yaw_quat_yup(yaw))
        state.sensor_states = {uuid: hs.SixDOFPose(position=cam_pos, rotation=_npq(cam_rot)) for uuid in sensors}
        agent.set_state(state, reset_sensors=False, infer_sensor_states=False)

    def set_eye(self, position: np.ndarray, yaw: float, pitch: float) -> None:
        self._pose_agent(self._agent, _EYE_SENSORS, np.asarray(position, np.float64), yaw, pitch)

    def set_lights(self, on: bool) -> None:
        self._sim.set_light_setup(self._lights if on else [])
        self.lights_on = on

    def line_of_sight(self, start: np.ndarray, name: str) -> bool:
        self._check(name)
        obj = self._objects.get(name)
        start = np.asarray(start, np.float64)
        if obj is not None:
            centre = obj.transformation.transform_point(obj.root_scene_node.cumulative_bb.center())
            target = np.array(list(centre))
            slack = 1e-3
        else:  # part of the scene mesh: aim at its middle and accept hits on its own surface
            spec_obj = self.scene.object(name)
            target = points_to_yup(np.array([*spec_obj.pos[:2], spec_obj.pos[2] + spec_obj.height() / 2]))
            slack = max(max(sh.half_extents()) for sh in spec_obj.shapes)
        origin = points_to_yup(start)
        vec = target - origin
        dist = float(np.linalg.norm(vec))
        if dist < 1e-6:
            return True
        ray = self._hs.geo.Ray(self._vec(origin), self._vec(vec / dist))
        hits = self._sim.cast_ray(ray, max_distance=dist)
        for hit in sorted(hits.hits, key=lambda h: h.ray_distance) if hits.has_hits() else []:
            if obj is not None and hit.object_id == obj.object_id:
                return True
            if hit.object_id in self._see_through:
                continue
            return hit.ray_distance >= dist - slack
        return True

    # --------------------------------------------------------------- rendering
    def render(self, rgb: bool = True, depth: bool = False, segmentation: bool = False) -> Frame:
        obs = self._sim.get_sensor_observations(0)
        frame = Frame()
        if rgb:
            img = np.ascontiguousarray(np.asarray(obs["rgb"])[..., :3], dtype=np.uint8)
            frame.rgb = img if self.lights_on else np.zeros_like(img)
        if depth:
            frame.depth = np.asarray(obs["depth"], np.float32)
        if segmentation:
            frame.segmentation = np.asarray(obs["semantic"]).astype(np.int32)
        return frame

    def render_view(self, view: str, width: int, height: int) -> np.ndarray:
        if width > MAX_VIEW or height > MAX_VIEW or width <= 0 or height <= 0:
            raise ValueError(f"view size {width}x{height}: use 1..{MAX_VIEW} pixels per side")
        if view == "overhead":
            x0, y0, x1, y1 = self.scene.bounds()
            span = max(x1 - x0, y1 - y0) * 1.1
            pos = np.array([(x0 + x1) / 2, (y0 + y1) / 2, span / (2 * math.tan(math.radians(30)))])
            yaw, pitch = math.pi / 2, -math.pi / 2  # looking straight down, image up = +y, like MuJoCo's camera
        elif view == "third_person":
            head = points_to_zup(np.asarray(self._agent.get_state().sensor_states["rgb"].position, np.float64))
            yaw = self._eye_yaw()
            pitch = math.radians(-30)
            lookat = np.array([head[0] + 0.4 * math.cos(yaw), head[1] + 0.4 * math.sin(yaw), 0.15])
            fwd = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch)])
            pos = lookat - 1.6 * fwd
        else:
            raise ValueError(f"unknown view {view!r}; use 'overhead' or 'third_person'")
        uuid = f"{view}_{width}x{height}"
        if uuid not in self._view_sensors:
            # MuJoCo's overhead camera has fovy 60; its free camera the default 45
            hfov = vertical_to_horizontal_fov(60.0 if view == "overhead" else 45.0, width, height)
            self._sim.add_sensor(self._camera_spec(uuid, self._hs.SensorType.COLOR, width, height, hfov), 1)
            self._view_sensors.add(uuid)
        self._pose_agent(self._view_agent, [uuid], pos, yaw, pitch)
        return np.ascontiguousarray(np.asarray(self._sim.get_sensor_observations(1)[uuid])[..., :3], np.uint8)

    def _eye_yaw(self) -> float:
        from scenes.axes import yaw_from_quat_yup

        rot = self._agent.get_state().rotation
        return yaw_from_quat_yup((rot.w, rot.x, rot.y, rot.z))

    def close(self) -> None:
        if self._sim is not None:
            self._sim.close()
            self._sim = None


def _npq(wxyz: np.ndarray) -> Any:
    import quaternion

    return quaternion.quaternion(*(float(v) for v in wxyz))


__all__ = ["DEFAULT_EYE_HEIGHT", "INSTALL_HINT", "HabitatBackend", "require_habitat_sim"]
