"""GLB export for habitat-sim: files load back, geometry and poses match the spec after z-up → y-up, textures are
embedded, configs carry only fields habitat-sim reads, and a MuJoCo render of the exported meshes from the
habitat camera pose looks like the MuJoCo primitive scene (and a wrong axis conversion does not)."""

from __future__ import annotations

import json
import math
import struct
import time

import mujoco
import numpy as np
import pytest
import quaternion
import trimesh

from env.backends import EyeSpec, RenderQuality
from env.backends.mujoco import MujocoBackend
from scenes import generate_home
from scenes.axes import (ZUP_TO_YUP, camera_pose_yup, eye_quat_zup, points_to_yup, points_to_zup, quat_to_yup,
                         quat_to_zup, yaw_from_quat_yup, yaw_quat_yup, yaw_quat_zup)
from scenes.export import export_scene, validate
from scenes.export.meshes import in_scene_mesh, room_shapes
from scenes.objects import cup, screen
from scenes.spec import Material, Shape

SIZE = 64


@pytest.fixture(scope="module")
def scene():
    s = generate_home(np.random.default_rng(3), seed=3)
    sx, sy, syaw = s.spawn
    ahead = lambda d, side=0.0: (sx + d * math.cos(syaw) - side * math.sin(syaw),
                                 sy + d * math.sin(syaw) + side * math.cos(syaw), 0.0)
    mats = (Material("test_red", (0.8, 0.2, 0.2, 1.0)), Material("test_glass", (0.7, 0.8, 0.9, 0.4)))
    # every motion type: free toys (generated), kinematic cups and a yawed screen in view of the spawn pose
    return s.with_objects(cup("test_cup", ahead(1.0, 0.3), "test_red"), cup("test_glass_cup", ahead(1.0, -0.3),
                                                                          "test_glass"),
                          screen("test_screen", ahead(1.6), syaw + 0.7, s.materials[1].name), materials=mats)


@pytest.fixture(scope="module")
def exported(scene, tmp_path_factory):
    t0 = time.perf_counter()
    exp = export_scene(scene, tmp_path_factory.mktemp("glb"))
    print(f"\nexport: {time.perf_counter() - t0:.3f} s")
    return exp


# ------------------------------------------------------------------------ axes
def test_axis_conversion_is_a_proper_rotation() -> None:
    assert np.allclose(ZUP_TO_YUP @ ZUP_TO_YUP.T, np.eye(3)) and np.isclose(np.linalg.det(ZUP_TO_YUP), 1.0)
    assert np.allclose(points_to_yup([0, 0, 1]), [0, 1, 0])  # up stays up
    assert np.allclose(points_to_yup([0, 1, 0]), [0, 0, -1])  # z-up +y is habitat's forward (-z)
    p = np.random.default_rng(0).normal(size=(5, 3))
    assert np.allclose(points_to_zup(points_to_yup(p)), p)
    q = quaternion.as_float_array(quaternion.from_rotation_vector([0.3, -0.2, 0.9]))
    assert np.allclose(np.abs(quat_to_zup(quat_to_yup(q))), np.abs(q))


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, math.pi])
def test_yaw_maps_to_rotation_about_y(yaw: float) -> None:
    rot = quaternion.as_rotation_matrix(quaternion.from_float_array(yaw_quat_yup(yaw)))
    assert np.allclose(rot @ points_to_yup([1, 0, 0]), points_to_yup([math.cos(yaw), math.sin(yaw), 0]))
    assert np.allclose(rot @ [0, 1, 0], [0, 1, 0])
    assert math.isclose(math.remainder(yaw_from_quat_yup(yaw_quat_yup(yaw)) - yaw, 2 * math.pi), 0, abs_tol=1e-9)


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (1.2, 0.3), (-2.0, -0.4)])
def test_camera_pose_looks_where_the_infant_looks(yaw: float, pitch: float) -> None:
    pos, q = camera_pose_yup([1.0, 2.0, 0.3], yaw, pitch)
    rot = quaternion.as_rotation_matrix(quaternion.from_float_array(q))
    fwd = [math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch)]
    assert np.allclose(pos, [1.0, 0.3, -2.0])
    assert np.allclose(rot @ [0, 0, -1], points_to_yup(fwd))  # habitat cameras look along -z
    up = [-math.sin(pitch) * math.cos(yaw), -math.sin(pitch) * math.sin(yaw), math.cos(pitch)]
    assert np.allclose(rot @ [0, 1, 0], points_to_yup(up))


# ---------------------------------------------------------------- export files
def _shape_aabb(sh: Shape, pos: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact world AABB of a primitive posed by (pos, rot) (z-up)."""
    r = rot @ quaternion.as_rotation_matrix(quaternion.from_float_array(sh.quat))
    c = pos + rot @ np.asarray(sh.pos)
    s = sh.size
    if sh.kind == "box":
        half = np.abs(r) @ np.asarray(s[:3])
    elif sh.kind == "ellipsoid":
        half = np.sqrt((r * np.asarray(s[:3])) ** 2 @ np.ones(3))
    elif sh.kind == "sphere":
        half = np.full(3, s[0])
    else:
        a = np.abs(r[:, 2])
        half = (s[0] * np.sqrt(np.clip(1 - a**2, 0, 1)) if sh.kind == "cylinder" else np.full(3, s[0])) + s[1] * a
    return c - half, c + half


def _rotz(yaw: float) -> np.ndarray:
    return quaternion.as_rotation_matrix(quaternion.from_float_array(yaw_quat_zup(yaw)))


def _check_bounds(mesh_bounds_yup: np.ndarray, lo: np.ndarray, hi: np.ndarray, what: str) -> None:
    corners = points_to_zup(np.array([[x, y, z] for x in mesh_bounds_yup[:, 0] for y in mesh_bounds_yup[:, 1]
                                      for z in mesh_bounds_yup[:, 2]]))
    got_lo, got_hi = corners.min(0), corners.max(0)
    tol = 0.004 + 0.03 * (hi - lo)  # tessellated round shapes are inscribed in the exact surface
    assert np.all(np.abs(got_lo - lo) <= tol) and np.all(np.abs(got_hi - hi) <= tol), (what, got_lo, lo, got_hi, hi)


def test_scene_mesh_glb_loads_and_matches_spec(scene, exported) -> None:
    glb = trimesh.load(exported.scene_mesh_glb, force="scene")
    nodes = {n: glb.graph[n] for n in glb.graph.nodes_geometry}
    expected = {}
    for room in scene.rooms:
        for name, sh, pos in room_shapes(room, scene.wall_height):
            expected[name] = _shape_aabb(sh, np.asarray(pos), np.eye(3))
    for obj in scene.objects:
        if in_scene_mesh(obj, scene):
            for i, sh in enumerate(obj.shapes):
                expected[f"{obj.name}/{i}"] = _shape_aabb(sh, np.asarray(obj.pos), _rotz(obj.yaw))
    assert set(nodes) == set(expected)
    for name, (transform, geom) in nodes.items():
        mesh = glb.geometry[geom].copy().apply_transform(transform)
        _check_bounds(mesh.bounds, *expected[name], name)
    assert set(exported.scene_mesh_objects) == {o.name for o in scene.objects if in_scene_mesh(o, scene)}


def test_object_glbs_and_poses_match_spec(scene, exported) -> None:
    movable = [o for o in scene.objects if not in_scene_mesh(o, scene)]
    assert [o.name for o in movable] == list(exported.objects)
    instances = json.loads(exported.scene_instance.read_text())["object_instances"]
    assert len(instances) == len(movable)
    for obj, inst in zip(movable, instances):
        exp = exported.objects[obj.name]
        glb = trimesh.load(exp.glb, force="scene")
        assert len(glb.geometry) == len(obj.shapes)
        for i, sh in enumerate(obj.shapes):  # each mesh in the object's own (y-up) frame
            transform, geom = glb.graph[f"{obj.name}/{i}"]
            mesh = glb.geometry[geom].copy().apply_transform(transform)
            _check_bounds(mesh.bounds, *_shape_aabb(sh, np.zeros(3), np.eye(3)), f"{obj.name}/{i}")
        # the instance pose, converted back, is the spec pose
        assert np.allclose(points_to_zup(inst["translation"]), obj.pos)
        rot = quaternion.as_rotation_matrix(quaternion.from_float_array(inst["rotation"]))
        assert np.allclose(points_to_zup(rot @ points_to_yup([1, 0, 0])), [math.cos(obj.yaw), math.sin(obj.yaw), 0])
        assert inst["motion_type"] == {"free": "DYNAMIC", "kinematic": "KINEMATIC", "static": "STATIC"}[obj.dynamics]
        assert exp.semantic_id == scene.objects.index(obj) + 1
    assert {"DYNAMIC"} <= {i["motion_type"] for i in instances}


def _glb_json(path) -> dict:
    data = path.read_bytes()
    assert data[:4] == b"glTF"
    (n,) = struct.unpack("<I", data[12:16])
    return json.loads(data[20:20 + n])


def test_textures_are_embedded(scene, exported) -> None:
    doc = _glb_json(exported.scene_mesh_glb)
    assert doc["images"], "the stage has textured materials"
    assert all("bufferView" in im and "uri" not in im for im in doc["images"])  # inside the GLB, no side files
    glb = trimesh.load(exported.scene_mesh_glb, force="scene")
    textured = {g.visual.material.name for g in glb.geometry.values()
                if getattr(g.visual.material, "baseColorTexture", None) is not None}
    assert {m.name for m in scene.materials if m.texture} & textured
    for g in glb.geometry.values():
        if getattr(g.visual.material, "baseColorTexture", None) is not None:
            assert g.visual.uv is not None and len(g.visual.uv) == len(g.vertices)
            assert g.visual.material.baseColorTexture.size == (64, 64)


def test_configs_validate(exported) -> None:
    files = [exported.dataset_config, exported.scene_mesh_config, exported.scene_instance]
    files += [o.config for o in exported.objects.values()]
    for f in files:
        assert validate(f) == [], f
    cfg = json.loads(next(iter(exported.objects.values())).config.read_text())
    assert cfg["COM"] == [0.0, 0.0, 0.0]  # keeps habitat from re-centring the mesh on its bounding box
    bad = dict(cfg, rendr_asset="x.glb", mass="heavy")
    problems = validate(next(iter(exported.objects.values())).config, bad)
    assert any("rendr_asset" in p for p in problems) and any("mass" in p for p in problems)


def test_cache_is_reused_and_keyed_by_content(scene, exported, tmp_path_factory) -> None:
    again = export_scene(scene, exported.root.parent)
    assert again.root == exported.root and again.scene_mesh_glb.stat().st_mtime == exported.scene_mesh_glb.stat().st_mtime
    other = generate_home(np.random.default_rng(4), seed=4)
    assert export_scene(other, exported.root.parent).root != exported.root


def test_cache_dir_from_env(monkeypatch, tmp_path, scene) -> None:
    monkeypatch.setenv("PEEKABOO_CACHE", str(tmp_path))
    exp = export_scene(scene)
    assert exp.root.parent == tmp_path / "glb" and exp.scene_mesh_glb.is_file()


# ------------------------------------------------------- render of the export
def _mesh_color(mesh: trimesh.Trimesh) -> list[float]:
    mat = mesh.visual.material
    rgba = np.asarray(mat.baseColorFactor if mat.baseColorFactor is not None else [255] * 4, np.float64) / 255
    if getattr(mat, "baseColorTexture", None) is not None:
        rgba[:3] *= np.asarray(mat.baseColorTexture.convert("RGB")).reshape(-1, 3).mean(0) / 255
    return list(rgba)


def _add_glb(spec: mujoco.MjSpec, body: mujoco.MjsBody, path, prefix: str) -> None:
    glb = trimesh.load(path, force="scene")
    for k, node in enumerate(glb.graph.nodes_geometry):
        transform, geom = glb.graph[node]
        mesh = glb.geometry[geom].copy().apply_transform(transform)
        name = f"{prefix}{k}"
        spec.add_mesh(name=name, uservert=mesh.vertices.ravel().tolist(), userface=mesh.faces.ravel().tolist())
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name, rgba=_mesh_color(mesh), contype=0,
                      conaffinity=0)


def _exported_world(scene, exported) -> mujoco.MjSpec:
    """A y-up MuJoCo world built only from the exported files (stage GLB, object GLBs, scene instance)."""
    spec = mujoco.MjSpec()
    spec.compiler.degree = False
    spec.visual.headlight.ambient = [scene.ambient] * 3
    spec.visual.headlight.diffuse = [0.15] * 3
    spec.visual.headlight.specular = [0.0] * 3
    spec.visual.map.znear, spec.visual.map.zfar = 0.004, 3.0
    spec.stat.extent, spec.stat.center = 12.0, [0.0, 0.0, 0.0]
    _add_glb(spec, spec.worldbody, exported.scene_mesh_glb, "stage")
    instances = json.loads(exported.scene_instance.read_text())["object_instances"]
    for exp, inst in zip(exported.objects.values(), instances):
        body = spec.worldbody.add_body(name=exp.name, pos=inst["translation"], quat=inst["rotation"])
        _add_glb(spec, body, exp.glb, f"{exp.name}_")
    for light in scene.lights:
        spec.worldbody.add_light(pos=list(points_to_yup(light.pos)), dir=list(points_to_yup(light.dir)),
                                 diffuse=list(light.diffuse), specular=[0.1] * 3, castshadow=False, cutoff=80,
                                 exponent=1, type=(mujoco.mjtLightType.mjLIGHT_DIRECTIONAL if light.directional
                                                   else mujoco.mjtLightType.mjLIGHT_SPOT))
    spec.worldbody.add_camera(name="cam", fovy=scene_fovy(scene))
    return spec


def scene_fovy(scene) -> float:
    return 60.0 + scene.camera_fov_offset


_WRONG = {
    # forgetting the conversion: the z-up camera pose used as is in the y-up world
    "unconverted": lambda p, yaw, pitch: (np.asarray(p, float), _cam_zup(yaw, pitch)),
    # a sign error: +90° about x instead of -90°
    "flipped": lambda p, yaw, pitch: (np.array([p[0], -p[2], p[1]]),
                                      quaternion.as_float_array(quaternion.from_rotation_vector([math.pi / 2, 0, 0])
                                                                * quaternion.from_float_array(_cam_zup(yaw, pitch)))),
}


def _cam_zup(yaw: float, pitch: float) -> np.ndarray:
    cam_in_head = quaternion.from_rotation_matrix(np.array([[0.0, 0, -1], [-1, 0, 0], [0, 1, 0]]))
    return quaternion.as_float_array(quaternion.from_float_array(eye_quat_zup(yaw, pitch)) * cam_in_head)


def _gray16(rgb: np.ndarray) -> np.ndarray:
    g = rgb.astype(np.float64).mean(-1)
    return g.reshape(16, SIZE // 16, 16, SIZE // 16).mean((1, 3))


def _similarity(ref_rgb, ref_depth, rgb, depth) -> tuple[float, float]:
    """(correlation of 16×16 grayscale, fraction of pixels whose depth agrees within 5 cm + 3 %)."""
    a, b = _gray16(ref_rgb).ravel(), _gray16(rgb).ravel()
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-6 and b.std() > 1e-6 else 0.0
    agree = float(np.mean(np.abs(ref_depth - depth) <= 0.05 + 0.03 * ref_depth))
    return corr, agree


def test_render_of_export_matches_mujoco_scene(scene, exported) -> None:
    fovy = scene_fovy(scene)
    sx, sy, syaw = scene.spawn
    toy = next(o for o in scene.objects if o.dynamics == "free")
    to_toy = math.atan2(toy.pos[1] - sy, toy.pos[0] - sx)
    poses = [((sx, sy, 0.3), syaw, 0.0), ((sx, sy, 0.3), to_toy, -0.3), ((sx, sy, 0.45), syaw + 2.0, 0.2)]
    ref = MujocoBackend(RenderQuality())  # reference frames first: one GL context at a time
    try:
        ref.load(scene, EyeSpec(SIZE, SIZE, fovy))
        frames = []
        for pos, yaw, pitch in poses:
            ref.set_eye(np.asarray(pos), yaw, pitch)
            frames.append(ref.render(rgb=True, depth=True))
    finally:
        ref.close()
    model = _exported_world(scene, exported).compile()
    data = mujoco.MjData(model)
    renderer = mujoco.Renderer(model, SIZE, SIZE)
    scores: dict[str, list[tuple[float, float]]] = {"right": [], **{k: [] for k in _WRONG}}
    cam = model.camera("cam").id
    try:
        for (pos, yaw, pitch), f in zip(poses, frames):
            variants = {"right": camera_pose_yup(pos, yaw, pitch)}
            variants.update({k: fn(pos, yaw, pitch) for k, fn in _WRONG.items()})
            for key, (cpos, cquat) in variants.items():
                model.cam_pos[cam], model.cam_quat[cam] = cpos, cquat
                mujoco.mj_forward(model, data)
                renderer.disable_depth_rendering()
                renderer.update_scene(data, camera="cam")
                rgb = renderer.render()
                renderer.enable_depth_rendering()
                renderer.update_scene(data, camera="cam")
                depth = renderer.render()
                scores[key].append(_similarity(f.rgb, f.depth, rgb, depth))
    finally:
        renderer.close()
    mean = {k: tuple(float(x) for x in np.mean(v, axis=0).round(3)) for k, v in scores.items()}
    print("\n(grayscale correlation, depth agreement) right vs wrong transforms:", mean)
    right_corr, right_depth = mean["right"]
    # geometry (depth) must match closely; colour only roughly: the export's flat mean colours stand in for
    # MuJoCo's textures (measured: right ≈ (0.49, 0.99), unconverted ≈ (-0.10, 0.22), flipped ≈ (-0.71, 0.01))
    assert right_depth >= 0.9 and right_corr >= 0.3, mean
    for key in _WRONG:
        assert mean[key][1] < 0.5 and mean[key][0] < right_corr - 0.2, (key, mean)
