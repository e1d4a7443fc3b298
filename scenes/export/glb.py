"""Write a scene spec as habitat-sim assets: the scene mesh (habitat-sim's "stage") as one GLB, one GLB + object config per movable object, a
scene-dataset config and a scene instance, cached by the scene's content hash.

Layout of ``<cache>/glb/<digest>-<texture size>px/``::

    peekaboo.scene_dataset_config.json   links the scene mesh, the objects and the scene instance
    stage.glb, stage.stage_config.json   the scene mesh: rooms (floor, ceiling), walls, furniture, rugs, static
    objects/<name>.glb, objects/<name>.object_config.json   toys, cups, screens (one rigid object each)
    peekaboo.scene_instance.json         the initial pose and motion type of every object
    manifest.json                        what was written (read back on a cache hit)

All geometry is y-up (glTF's and habitat-sim's convention, see :mod:`scenes.axes`). An object's GLB is in the
object's own frame, so its scene pose is the spec's position and yaw converted to y-up. The cache root is
``$PEEKABOO_CACHE`` if set, else ``~/.cache/peekaboo``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from scenes.axes import ZUP_TO_YUP, pose_to_yup
from scenes.export.meshes import MaterialBank, in_scene_mesh, object_meshes, scene_mesh_parts
from scenes.spec import SceneObject, SceneSpec

EXPORT_VERSION = 2
"""Bump when the exported files change, so stale cache folders are rewritten."""
DATASET_CONFIG = "peekaboo.scene_dataset_config.json"
SCENE_INSTANCE = "peekaboo.scene_instance.json"
_ZUP_TO_YUP_4 = np.eye(4)
_ZUP_TO_YUP_4[:3, :3] = ZUP_TO_YUP
_MOTION = {"free": "DYNAMIC", "kinematic": "KINEMATIC", "static": "STATIC"}


@dataclass(frozen=True)
class ExportedObject:
    """One rigid object's files and initial pose (y-up)."""

    name: str
    """Scene object name."""
    glb: Path
    """Render and collision mesh, in the object's own y-up frame."""
    config: Path
    """Its ``*.object_config.json``."""
    translation: tuple[float, float, float]
    """Initial position, y-up."""
    rotation: tuple[float, float, float, float]
    """Initial orientation (w, x, y, z), y-up."""
    motion_type: str
    """habitat-sim motion type: DYNAMIC (free), KINEMATIC or STATIC."""
    semantic_id: int
    """1 + index of the object in the scene (the segmentation id of the backend interface)."""


@dataclass(frozen=True)
class ExportedScene:
    """Paths of an exported scene."""

    root: Path
    """The cache folder."""
    dataset_config: Path
    """``peekaboo.scene_dataset_config.json``."""
    scene_mesh_glb: Path
    """The scene mesh, ``stage.glb`` (pass as ``SimulatorConfiguration.scene_id``)."""
    scene_mesh_config: Path
    """``stage.stage_config.json`` next to it (habitat-sim's stage attributes)."""
    scene_instance: Path
    """``peekaboo.scene_instance.json``."""
    objects: dict[str, ExportedObject] = field(default_factory=dict)
    """Rigid objects by scene name, in scene order."""
    scene_mesh_objects: tuple[str, ...] = ()
    """Names of the scene objects baked into the scene mesh."""


def cache_root() -> Path:
    """``$PEEKABOO_CACHE`` or ``~/.cache/peekaboo``."""
    return Path(os.environ.get("PEEKABOO_CACHE") or Path.home() / ".cache" / "peekaboo")


def _file_stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "object"
    base, i = stem, 1
    while stem in used:
        stem, i = f"{base}_{i}", i + 1
    used.add(stem)
    return stem


def _glb(meshes: list[tuple[str, trimesh.Trimesh]]) -> bytes:
    scene = trimesh.Scene()
    for name, mesh in meshes:
        mesh = mesh.copy()
        mesh.apply_transform(_ZUP_TO_YUP_4)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    return scene.export(file_type="glb")


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))


def _object_config(obj: SceneObject, glb_name: str, semantic_id: int) -> dict:
    return {
        "render_asset": glb_name, "collision_asset": glb_name, "up": [0.0, 1.0, 0.0], "front": [0.0, 0.0, -1.0],
        "scale": [1.0, 1.0, 1.0], "units_to_meters": 1.0, "mass": float(obj.mass), "margin": 0.005,
        # an explicit COM stops habitat-sim from moving the origin to the bounding-box centre, so the object's
        # translation stays the spec's frame origin (MuJoCo's body position)
        "COM": [0.0, 0.0, 0.0],
        "friction_coefficient": 0.8, "restitution_coefficient": 0.1, "shader_type": "phong",
        # free toys collide; cups and screens carried by the caregiver pass through the scene, as in MuJoCo
        "is_collidable": obj.dynamics == "free" or obj.dynamics == "static", "join_collision_meshes": True,
        "use_bounding_box_for_collision": False, "semantic_id": semantic_id,
    }


def _write(scene: SceneSpec, root: Path, texture_size: int) -> dict:
    bank = MaterialBank(scene, texture_size)
    (root / "objects").mkdir(parents=True)
    (root / "stage.glb").write_bytes(_glb(scene_mesh_parts(scene, bank)))
    _write_json(root / "stage.stage_config.json", {
        "render_asset": "stage.glb", "collision_asset": "stage.glb", "up": [0.0, 1.0, 0.0],
        "front": [0.0, 0.0, -1.0], "origin": [0.0, 0.0, 0.0], "units_to_meters": 1.0, "margin": 0.01,
        "friction_coefficient": 0.8, "restitution_coefficient": 0.1, "gravity": [0.0, -9.81, 0.0],
        "shader_type": "phong",
    })
    used: set[str] = set()
    objects, instances, scene_mesh_objects = [], [], []
    for i, obj in enumerate(scene.objects):
        if in_scene_mesh(obj, scene):
            scene_mesh_objects.append(obj.name)
            continue
        stem = _file_stem(obj.name, used)
        glb = f"objects/{stem}.glb"
        cfg = f"objects/{stem}.object_config.json"
        (root / glb).write_bytes(_glb(object_meshes(obj, bank)))
        _write_json(root / cfg, _object_config(obj, f"{stem}.glb", i + 1))
        t, q = pose_to_yup(obj.pos, obj.yaw)
        entry = {"name": obj.name, "glb": glb, "config": cfg, "translation": [float(v) for v in t],
                 "rotation": [float(v) for v in q], "motion_type": _MOTION[obj.dynamics], "semantic_id": i + 1}
        objects.append(entry)
        instances.append({"template_name": cfg, "translation": entry["translation"], "rotation": entry["rotation"],
                          "motion_type": entry["motion_type"], "translation_origin": "asset_local"})
    _write_json(root / SCENE_INSTANCE, {"stage_instance": {"template_name": "stage.stage_config.json"},
                                        "object_instances": instances, "translation_origin": "asset_local"})
    _write_json(root / DATASET_CONFIG, {
        "stages": {"paths": {".json": ["stage.stage_config.json"]}},
        "objects": {"paths": {".json": ["objects/*.object_config.json"]}},
        "scene_instances": {"paths": {".json": [SCENE_INSTANCE]}},
    })
    manifest = {"version": EXPORT_VERSION, "digest": scene.digest(), "seed": scene.seed,
                "texture_size": texture_size, "objects": objects,
                "stage_objects": scene_mesh_objects}  # key kept: cached folders are read back by it
    _write_json(root / "manifest.json", manifest)
    return manifest


def _load(root: Path, manifest: dict) -> ExportedScene:
    objects = {
        o["name"]: ExportedObject(o["name"], root / o["glb"], root / o["config"], tuple(o["translation"]),
                                  tuple(o["rotation"]), o["motion_type"], o["semantic_id"])
        for o in manifest["objects"]
    }
    return ExportedScene(root, root / DATASET_CONFIG, root / "stage.glb", root / "stage.stage_config.json",
                         root / SCENE_INSTANCE, objects,
                         tuple(manifest["stage_objects"]))  # the key cached folders already have


def export_scene(scene: SceneSpec, cache_dir: Path | str | None = None, texture_size: int = 64,
                 overwrite: bool = False) -> ExportedScene:
    """Export ``scene`` for habitat-sim into ``<cache_dir or cache_root()/glb>/<digest>-<size>px/``.

    A folder already written for the same scene content, texture size and exporter version is reused.
    Files are written to a temporary folder and renamed into place, so parallel envs never see half a scene.
    """
    base = Path(cache_dir) if cache_dir is not None else cache_root() / "glb"
    root = base / f"{scene.digest()}-{texture_size}px"
    manifest_path = root / "manifest.json"
    if not overwrite and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("version") == EXPORT_VERSION:
            return _load(root, manifest)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=base))
    try:
        manifest = _write(scene, tmp / "scene", texture_size)
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)
        try:
            os.replace(tmp / "scene", root)
        except OSError:  # another process won the race; its files are identical
            if not manifest_path.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _load(root, manifest)


__all__ = [
    "DATASET_CONFIG",
    "EXPORT_VERSION",
    "SCENE_INSTANCE",
    "ExportedObject",
    "ExportedScene",
    "cache_root",
    "export_scene",
]
