"""The habitat-sim JSON configs Peekaboo writes, and a validator for them.

Field names and types follow habitat-sim's attribute JSON documentation ("Using JSON Files to configure
Attributes"); only the subset Peekaboo can write is listed. habitat-sim ignores (with a warning) keys it does not
know, so a typo would silently fall back to a default: :func:`validate` catches that here, without habitat-sim.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_VEC3 = "vec3"
_QUAT = "quat"

_ASSET_FIELDS: dict[str, Any] = {
    "render_asset": str, "collision_asset": str, "up": _VEC3, "front": _VEC3, "scale": _VEC3,
    "units_to_meters": float, "margin": float, "friction_coefficient": float, "restitution_coefficient": float,
    "shader_type": str, "force_flat_shading": bool, "is_collidable": bool, "semantic_id": int,
}
STAGE_FIELDS: dict[str, Any] = {**_ASSET_FIELDS, "origin": _VEC3, "gravity": _VEC3, "semantic_asset": str}
"""``*.stage_config.json`` keys (habitat_sim.attributes.StageAttributes)."""
OBJECT_FIELDS: dict[str, Any] = {
    **_ASSET_FIELDS, "mass": float, "COM": _VEC3, "inertia": _VEC3, "use_bounding_box_for_collision": bool,
    "join_collision_meshes": bool, "linear_damping": float, "angular_damping": float,
}
"""``*.object_config.json`` keys (habitat_sim.attributes.ObjectAttributes)."""
DATASET_SECTIONS = ("stages", "objects", "articulated_objects", "light_setups", "scene_instances",
                    "semantic_scene_descriptor_instances", "navmesh_instances")
"""Top-level keys of ``*.scene_dataset_config.json``; each holds ``paths`` {extension: [paths]}."""
SHADER_TYPES = ("material", "flat", "phong", "pbr")
MOTION_TYPES = ("STATIC", "KINEMATIC", "DYNAMIC")
INSTANCE_FIELDS: dict[str, Any] = {"template_name": str, "translation": _VEC3, "rotation": _QUAT,
                                   "motion_type": str, "translation_origin": str, "shader_type": str}
"""Keys of a stage or object instance in ``*.scene_instance.json`` (rotation is [w, x, y, z])."""
SCENE_INSTANCE_FIELDS = ("stage_instance", "object_instances", "default_lighting", "translation_origin",
                         "user_defined")


def _check_value(where: str, key: str, kind: Any, value: Any) -> list[str]:
    n = {_VEC3: 3, _QUAT: 4}.get(kind)
    if n is not None:
        ok = isinstance(value, list) and len(value) == n and all(isinstance(v, (int, float)) for v in value)
        return [] if ok else [f"{where}: {key!r} must be a list of {n} numbers, got {value!r}"]
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    return [] if ok else [f"{where}: {key!r} must be {kind.__name__}, got {value!r}"]


def _check_fields(where: str, cfg: dict, fields: dict[str, Any]) -> list[str]:
    errors = []
    for key, value in cfg.items():
        if key not in fields:
            errors.append(f"{where}: unknown key {key!r} (habitat-sim would ignore it); known: {sorted(fields)}")
        else:
            errors += _check_value(where, key, fields[key], value)
    if cfg.get("shader_type", "material") not in SHADER_TYPES:
        errors.append(f"{where}: shader_type {cfg['shader_type']!r} is not one of {SHADER_TYPES}")
    return errors


def _check_assets(where: str, cfg: dict, base: Path) -> list[str]:
    return [f"{where}: {key} {cfg[key]!r} does not exist next to the config"
            for key in ("render_asset", "collision_asset", "semantic_asset") if key in cfg
            and not (base / cfg[key]).is_file()]


def validate(path: Path, cfg: dict | None = None) -> list[str]:
    """Problems with the habitat config file at ``path`` (kind from its suffix); empty when it is valid.

    Checks keys against the fields habitat-sim reads, value types, enum values, and that referenced files exist.
    """
    import json

    path = Path(path)
    cfg = json.loads(path.read_text()) if cfg is None else cfg
    name = path.name
    if not isinstance(cfg, dict):
        return [f"{name}: top level must be a JSON object"]
    if name.endswith(".stage_config.json"):
        return _check_fields(name, cfg, STAGE_FIELDS) + _check_assets(name, cfg, path.parent)
    if name.endswith(".object_config.json"):
        errors = _check_fields(name, cfg, OBJECT_FIELDS) + _check_assets(name, cfg, path.parent)
        mass = cfg.get("mass", 1.0)
        if isinstance(mass, (int, float)) and not mass > 0:
            errors.append(f"{name}: mass must be positive")
        return errors
    if name.endswith(".scene_dataset_config.json"):
        errors = []
        for section, body in cfg.items():
            if section not in DATASET_SECTIONS:
                errors.append(f"{name}: unknown section {section!r}; known: {DATASET_SECTIONS}")
                continue
            for ext, entries in body.get("paths", {}).items():
                for entry in entries:
                    if not list(path.parent.glob(entry)):
                        errors.append(f"{name}: {section}.paths[{ext!r}] entry {entry!r} matches no file")
        return errors
    if name.endswith(".scene_instance.json"):
        errors = [f"{name}: unknown key {k!r}" for k in cfg if k not in SCENE_INSTANCE_FIELDS]
        instances = [("stage_instance", cfg.get("stage_instance", {}))]
        instances += [(f"object_instances[{i}]", o) for i, o in enumerate(cfg.get("object_instances", []))]
        for where, inst in instances:
            errors += _check_fields(f"{name} {where}", inst, INSTANCE_FIELDS)
            if inst.get("motion_type", "STATIC") not in MOTION_TYPES:
                errors.append(f"{name} {where}: motion_type {inst['motion_type']!r} not in {MOTION_TYPES}")
        return errors
    return [(f"{name}: not a habitat config (expected *.stage_config.json, *.object_config.json, "
             "*.scene_dataset_config.json or *.scene_instance.json)")]


__all__ = ["DATASET_SECTIONS", "INSTANCE_FIELDS", "MOTION_TYPES", "OBJECT_FIELDS", "STAGE_FIELDS", "validate"]
