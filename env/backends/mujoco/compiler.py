"""Compile a :class:`scenes.SceneSpec` into a MuJoCo model via ``mujoco.MjSpec``.

Naming (what the backend looks up by name): body = object name; geoms ``<object>/<i>``; the free joint of a
free object ``<object>/free``; the infant's mocap bodies ``infant`` and ``infant_head``; its camera
``infant_eye``; the overview camera ``overhead``.
"""

from __future__ import annotations

import dataclasses
import math

import mujoco
import numpy as np

from env.backends.base import TESSELLATION, EyeSpec, RenderQuality
from scenes.spec import SceneObject, SceneSpec, Shape
from scenes.textures import make_texture

PHYSICS_TIMESTEP = 0.02
"""Seconds per MuJoCo step: toys roll smoothly; static geometry is cheap to collide with."""
INFANT_GROUP = 3
"""Geom group of the infant's own body: hidden from its eye, shown in overview renders."""
SEETHROUGH_GROUP = 1
"""Geom group of transparent shapes: rendered, but they do not block line of sight."""
CEILING_GROUP = 2
"""Geom group of ceilings: hidden in the overhead view."""
SLEEP_TOLERANCE = 1e-5
"""Velocity (m/s) under which a toy at rest is put to sleep (MuJoCo's island sleeping: a resting toy costs no
contacts or dynamics until the caregiver or a task moves it: writing its qpos/qvel, or a contact with an awake or
mocap body, wakes it). MuJoCo's default 1e-3 stops a slowly rolling toy ~1 mm short and changed pixels; at 1e-5
frames and rewards stayed byte-identical to stepping without sleep (``tests/test_backend_mujoco.py``) while
resting toys still sleep within a step or two."""

_GEOM = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "ellipsoid": mujoco.mjtGeom.mjGEOM_ELLIPSOID,
}


def yaw_quat(yaw: float) -> np.ndarray:
    """Quaternion (w, x, y, z) of a rotation by ``yaw`` about z."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def eye_quat(yaw: float, pitch: float) -> np.ndarray:
    """Orientation of the infant's head: heading ``yaw``, looking ``pitch`` radians up."""
    q = np.empty(4)
    mujoco.mju_mulQuat(q, yaw_quat(yaw), np.array([math.cos(-pitch / 2), 0.0, math.sin(-pitch / 2), 0.0]))
    return q


# A MuJoCo camera looks along its -z with +y up; the head looks along +x with +z up.
_CAM_IN_HEAD = np.empty(4)
mujoco.mju_mat2Quat(_CAM_IN_HEAD, np.array([0, 0, -1, -1, 0, 0, 0, 1, 0], dtype=np.float64))


def _add_materials(spec: mujoco.MjSpec, scene: SceneSpec, quality: RenderQuality) -> None:
    for tex in scene.textures:
        if tex.size > quality.max_texture_size:
            tex = dataclasses.replace(tex, size=quality.max_texture_size)
        img = make_texture(tex)
        t = spec.add_texture(name=tex.name, type=mujoco.mjtTexture.mjTEXTURE_2D, width=img.shape[1],
                             height=img.shape[0], nchannel=3)
        t.data = img.tobytes()
    for mat in scene.materials:
        m = spec.add_material(name=mat.name, rgba=list(mat.rgba), specular=mat.specular, shininess=mat.shininess,
                              texrepeat=list(mat.texrepeat), texuniform=True)
        if mat.texture:
            m.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = mat.texture


def _add_shapes(body: mujoco.MjsBody, obj: SceneObject, scene: SceneSpec, collide: bool) -> None:
    for i, sh in enumerate(obj.shapes):
        alpha = scene.material(sh.material).rgba[3]
        body.add_geom(
            name=f"{obj.name}/{i}", type=_GEOM[sh.kind], size=_padded(sh), pos=list(sh.pos), quat=list(sh.quat),
            material=sh.material, contype=int(collide), conaffinity=int(collide),
            group=SEETHROUGH_GROUP if alpha < 1.0 else 0,
        )


def _padded(sh: Shape) -> list[float]:
    return list(sh.size) + [0.0] * (3 - len(sh.size))


def compile_scene(scene: SceneSpec, eye: EyeSpec, quality: RenderQuality = RenderQuality(),
                  max_view: int = 512, sleep: bool = True) -> mujoco.MjModel:
    """Build and compile the MuJoCo model of ``scene`` with the infant's eye camera; ``sleep``: resting toys
    sleep (see :data:`SLEEP_TOLERANCE`)."""
    spec = mujoco.MjSpec()
    spec.modelname = f"peekaboo_home_{scene.seed}"
    spec.option.timestep = PHYSICS_TIMESTEP
    if sleep:
        spec.option.enableflags |= mujoco.mjtEnableBit.mjENBL_SLEEP
        spec.option.sleep_tolerance = SLEEP_TOLERANCE
    vis = spec.visual
    vis.global_.offwidth = max(eye.width, max_view)
    vis.global_.offheight = max(eye.height, max_view)
    vis.quality.offsamples = quality.msaa_samples
    vis.quality.shadowsize = 1024 if quality.shadows else 0
    vis.quality.numquads, vis.quality.numslices, vis.quality.numstacks = TESSELLATION[quality.tessellation]
    vis.headlight.ambient = [scene.ambient] * 3
    folded = scene.lights[quality.max_lights:]
    vis.headlight.diffuse = (list(np.mean([lt.diffuse for lt in folded], axis=0) * 0.8) if folded else [0.15] * 3)
    vis.headlight.specular = [0.0] * 3
    vis.map.znear = 0.004
    vis.map.zfar = 3.0
    spec.stat.extent = 12.0  # fixes near/far planes at 5 cm / 36 m whatever the home's size
    spec.stat.center = [0.0, 0.0, 0.0]
    _add_materials(spec, scene, quality)

    world = spec.worldbody
    for room in scene.rooms:
        hx, hy = room.size
        world.add_geom(name=f"{room.name}/floor", type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx + 0.1, hy + 0.1, 0.05],
                       pos=[room.center[0], room.center[1], -0.05], material=room.floor_material)
        world.add_geom(name=f"{room.name}/ceiling", type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx + 0.1, hy + 0.1, 0.02],
                       pos=[room.center[0], room.center[1], scene.wall_height + 0.02], rgba=[0.93, 0.93, 0.9, 1],
                       contype=0, conaffinity=0, group=CEILING_GROUP)
    for obj in scene.objects:
        body = world.add_body(name=obj.name, pos=list(obj.pos), quat=list(yaw_quat(obj.yaw)))
        if obj.dynamics == "free":
            body.add_freejoint(name=f"{obj.name}/free").damping = [0.003] * 3
            body.mass = obj.mass
            _add_shapes(body, obj, scene, collide=True)
        elif obj.dynamics == "kinematic":
            body.mocap = True
            _add_shapes(body, obj, scene, collide=False)
        else:
            _add_shapes(body, obj, scene, collide=True)

    for light in scene.lights[:quality.max_lights]:
        world.add_light(name=light.name, pos=list(light.pos), dir=list(light.dir), diffuse=list(light.diffuse),
                        specular=[0.1, 0.1, 0.1], castshadow=quality.shadows, cutoff=80, exponent=1,
                        type=(mujoco.mjtLightType.mjLIGHT_DIRECTIONAL if light.directional
                              else mujoco.mjtLightType.mjLIGHT_SPOT))

    sx, sy, syaw = scene.spawn
    infant = world.add_body(name="infant", mocap=True, pos=[sx, sy, 0.0], quat=list(yaw_quat(syaw)))
    infant.add_geom(name="infant/torso", type=mujoco.mjtGeom.mjGEOM_CAPSULE, size=[0.1, 0.15, 0],
                    quat=list(eye_quat(0.0, -math.pi / 2)), pos=[-0.1, 0, 0.12], rgba=[0.95, 0.75, 0.65, 1],
                    contype=0, conaffinity=0, group=INFANT_GROUP)
    head = world.add_body(name="infant_head", mocap=True, pos=[sx, sy, 0.3], quat=list(yaw_quat(syaw)))
    head.add_geom(name="infant/head", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.07, 0, 0], pos=[-0.07, 0, 0],
                  rgba=[0.95, 0.75, 0.65, 1], contype=0, conaffinity=0, group=INFANT_GROUP)
    head.add_camera(name="infant_eye", fovy=eye.fovy, quat=list(_CAM_IN_HEAD))

    x0, y0, x1, y1 = scene.bounds()
    span = max(x1 - x0, (y1 - y0)) * 1.1
    world.add_camera(name="overhead", pos=[(x0 + x1) / 2, (y0 + y1) / 2, span / (2 * math.tan(math.radians(30)))],
                     fovy=60)
    try:
        return spec.compile()
    except ValueError as exc:
        raise ValueError(f"MuJoCo could not compile scene {scene.seed} ({scene.digest()}): {exc}") from exc
