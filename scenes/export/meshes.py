"""Scene spec → textured trimesh meshes, with MuJoCo's primitive conventions.

Sizes are MuJoCo half-sizes (box half extents; cylinder and capsule (radius, half-length) along the shape's z;
ellipsoid semi-axes). Rooms get the same floor and ceiling slabs as the MuJoCo compiler. Textures are mapped
per triangle by projecting onto the plane of its dominant normal axis, in metres times the material's
``texrepeat`` — close to MuJoCo's ``texuniform`` mapping, so checks and planks keep their physical size.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import quaternion
import trimesh
from PIL import Image
from trimesh.visual.material import PBRMaterial
from trimesh.visual.texture import TextureVisuals

from scenes.spec import Material, Room, SceneObject, SceneSpec, Shape
from scenes.textures import make_texture

CEILING_MATERIAL = Material("__ceiling__", (0.93, 0.93, 0.9, 1.0))
"""Flat material of the ceiling slabs (the MuJoCo compiler gives them this rgba)."""
SPHERE_SUBDIVISIONS = 3
"""Icosphere subdivisions for spheres and ellipsoids (1280 triangles: silhouettes within 0.3 % of the radius)."""
ROUND_SECTIONS = 32
"""Segments around cylinders and capsules."""


def _transform(pos: tuple[float, ...] | np.ndarray, wxyz: tuple[float, ...] | np.ndarray) -> np.ndarray:
    t = np.eye(4)
    t[:3, :3] = quaternion.as_rotation_matrix(quaternion.quaternion(*(float(v) for v in wxyz)))
    t[:3, 3] = pos
    return t


def yaw_transform(pos: tuple[float, float, float], yaw: float) -> np.ndarray:
    """4×4 pose of an object frame: translation ``pos`` and rotation ``yaw`` about z."""
    return _transform(pos, (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)))


def primitive(shape: Shape) -> trimesh.Trimesh:
    """The shape's primitive in its own frame (centred, axis along z), MuJoCo half-size convention."""
    s = shape.size
    if shape.kind == "box":
        return trimesh.creation.box(extents=[2 * s[0], 2 * s[1], 2 * s[2]])
    if shape.kind == "sphere":
        return trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=s[0])
    if shape.kind == "ellipsoid":
        m = trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=1.0)
        m.apply_scale([s[0], s[1], s[2]])
        return m
    if shape.kind == "cylinder":
        return trimesh.creation.cylinder(radius=s[0], height=2 * s[1], sections=ROUND_SECTIONS)
    if shape.kind == "capsule":
        return trimesh.creation.capsule(height=2 * s[1], radius=s[0], count=[ROUND_SECTIONS, ROUND_SECTIONS // 2])
    raise ValueError(f"unknown shape kind {shape.kind!r}; expected box, sphere, cylinder, capsule or ellipsoid")


def _triplanar_uv(mesh: trimesh.Trimesh, repeat: tuple[float, float]) -> trimesh.Trimesh:
    """Unmerge vertices and give each triangle planar UVs along its dominant normal axis."""
    mesh = mesh.copy()
    mesh.unmerge_vertices()  # vertex i belongs to face i // 3
    axis = np.argmax(np.abs(mesh.face_normals), axis=1).repeat(3)
    v = mesh.vertices
    u_axis = np.where(axis == 0, 1, 0)
    v_axis = np.where(axis == 2, 1, 2)
    idx = np.arange(len(v))
    uv = np.stack([v[idx, u_axis] * repeat[0], v[idx, v_axis] * repeat[1]], axis=1)
    mesh.visual = TextureVisuals(uv=uv)
    return mesh


class MaterialBank:
    """One trimesh PBR material per spec material (shared, so the GLB stores each texture once)."""

    def __init__(self, scene: SceneSpec, texture_size: int = 64) -> None:
        self.scene = scene
        self.texture_size = texture_size
        self._cache: dict[str, PBRMaterial] = {}

    def spec(self, name: str) -> Material:
        return CEILING_MATERIAL if name == CEILING_MATERIAL.name else self.scene.material(name)

    def get(self, name: str) -> PBRMaterial:
        if name not in self._cache:
            mat = self.spec(name)
            image = None
            if mat.texture:
                tex = next(t for t in self.scene.textures if t.name == mat.texture)
                if tex.size > self.texture_size:
                    tex = dataclasses.replace(tex, size=self.texture_size)
                image = Image.fromarray(np.asarray(make_texture(tex)), mode="RGB")
            rgba = np.clip(np.round(np.asarray(mat.rgba) * 255), 0, 255).astype(np.uint8)
            self._cache[name] = PBRMaterial(
                name=name, baseColorFactor=rgba, baseColorTexture=image, metallicFactor=0.0,
                roughnessFactor=float(1.0 - 0.5 * mat.shininess), doubleSided=mat.rgba[3] < 1.0,
                alphaMode="BLEND" if mat.rgba[3] < 1.0 else "OPAQUE",
            )
        return self._cache[name]


def shape_mesh(shape: Shape, bank: MaterialBank) -> trimesh.Trimesh:
    """The shape posed in its object's frame (z-up), textured with its material."""
    mat = bank.spec(shape.material)
    mesh = _triplanar_uv(primitive(shape), mat.texrepeat)
    mesh.visual.material = bank.get(shape.material)
    mesh.apply_transform(_transform(shape.pos, shape.quat))
    return mesh


def object_meshes(obj: SceneObject, bank: MaterialBank) -> list[tuple[str, trimesh.Trimesh]]:
    """``(name/i, mesh)`` for each shape of ``obj`` in the object's own z-up frame."""
    return [(f"{obj.name}/{i}", shape_mesh(sh, bank)) for i, sh in enumerate(obj.shapes)]


def room_shapes(room: Room, wall_height: float) -> list[tuple[str, Shape, tuple[float, float, float]]]:
    """Floor and ceiling slabs of ``room`` as (name, shape, world position), sized like the MuJoCo compiler's."""
    hx, hy = room.size
    cx, cy = room.center
    return [
        (f"{room.name}/floor", Shape("box", (hx + 0.1, hy + 0.1, 0.05), room.floor_material), (cx, cy, -0.05)),
        (f"{room.name}/ceiling", Shape("box", (hx + 0.1, hy + 0.1, 0.02), CEILING_MATERIAL.name),
         (cx, cy, wall_height + 0.02)),
    ]


def in_scene_mesh(obj: SceneObject, scene: SceneSpec) -> bool:
    """Static, opaque objects are baked into the scene mesh (what habitat-sim calls the "stage"); the rest become rigid objects of their own.

    Transparent static objects stay separate so that ray casts (line of sight) can look through them.
    """
    return obj.dynamics == "static" and all(scene.material(sh.material).rgba[3] >= 1.0 for sh in obj.shapes)


def scene_mesh_parts(scene: SceneSpec, bank: MaterialBank) -> list[tuple[str, trimesh.Trimesh]]:
    """The scene mesh's parts: rooms' floors and ceilings plus every object baked into it, posed in the z-up
    world."""
    out: list[tuple[str, trimesh.Trimesh]] = []
    for room in scene.rooms:
        for name, shape, pos in room_shapes(room, scene.wall_height):
            m = shape_mesh(shape, bank)
            m.apply_translation(pos)
            out.append((name, m))
    for obj in scene.objects:
        if in_scene_mesh(obj, scene):
            pose = yaw_transform(obj.pos, obj.yaw)
            for name, m in object_meshes(obj, bank):
                m.apply_transform(pose)
                out.append((name, m))
    return out


__all__ = [
    "CEILING_MATERIAL", "MaterialBank", "in_scene_mesh", "object_meshes", "primitive", "room_shapes",
    "scene_mesh_parts", "shape_mesh", "yaw_transform",
]
