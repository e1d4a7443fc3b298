"""Typed scene description: the data every backend compiles.

A scene is plain data (frozen dataclasses). Coordinates are metres in a right-handed, **z-up** frame
(MuJoCo's convention); the habitat backend converts to y-up on export. Sizes follow MuJoCo's half-size
convention (a box of ``size=(0.5, 0.5, 0.5)`` is 1 m on a side).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Literal

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]  # (w, x, y, z)
RGBA = tuple[float, float, float, float]

ShapeKind = Literal["box", "sphere", "cylinder", "capsule", "ellipsoid"]
Category = Literal["wall", "furniture", "rug", "toy", "occluder", "container", "caregiver"]
Pattern = Literal["plain", "checker", "stripes", "noise", "wood", "dots"]

IDENTITY: Quat = (1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Texture:
    """A procedural texture, generated from its parameters by :func:`scenes.textures.make_texture`."""

    name: str
    """Unique texture name."""
    pattern: Pattern
    """Which generator draws it."""
    rgb1: tuple[float, float, float]
    """Primary colour in [0, 1]."""
    rgb2: tuple[float, float, float]
    """Secondary colour in [0, 1]."""
    size: int = 64
    """Side of the square image in pixels."""
    seed: int = 0
    """Seed for patterns with noise (drawn from the scene generator's rng, so same scene → same texture)."""
    scale: float = 8.0
    """Pattern frequency: checks, stripes or planks per texture side."""


@dataclass(frozen=True)
class Material:
    """Surface appearance shared by shapes."""

    name: str
    """Unique material name."""
    rgba: RGBA
    """Base colour (multiplied with the texture if any); alpha < 1 makes it transparent."""
    texture: str | None = None
    """Name of a :class:`Texture` in the scene, or None for a flat colour."""
    texrepeat: tuple[float, float] = (1.0, 1.0)
    """How many times the texture repeats per metre (uniform texture mapping)."""
    specular: float = 0.1
    """Specular strength in [0, 1]."""
    shininess: float = 0.1
    """Shininess in [0, 1]."""


@dataclass(frozen=True)
class Shape:
    """One primitive of an object, posed in the object's frame."""

    kind: ShapeKind
    """Primitive type."""
    size: tuple[float, ...]
    """MuJoCo half-sizes: box (x, y, z); sphere (r,); cylinder/capsule (r, half-length); ellipsoid (rx, ry, rz)."""
    material: str
    """Name of a :class:`Material` in the scene."""
    pos: Vec3 = (0.0, 0.0, 0.0)
    """Position in the object frame."""
    quat: Quat = IDENTITY
    """Orientation in the object frame."""

    def half_extents(self) -> Vec3:
        """Axis-aligned half extents of the shape in its own (unrotated) frame."""
        s = self.size
        if self.kind == "box" or self.kind == "ellipsoid":
            return (s[0], s[1], s[2])
        if self.kind == "sphere":
            return (s[0], s[0], s[0])
        if self.kind == "cylinder":
            return (s[0], s[0], s[1])
        return (s[0], s[0], s[1] + s[0])  # capsule


@dataclass(frozen=True)
class SceneObject:
    """A named thing in the home: a wall segment, a piece of furniture, a toy, a screen or a cup."""

    name: str
    """Unique name; backends expose the object under this name."""
    category: Category
    """What role the object plays (tasks and collision use it)."""
    shapes: tuple[Shape, ...]
    """Primitives that make up the object."""
    pos: Vec3
    """Initial position of the object frame in the world."""
    yaw: float = 0.0
    """Initial rotation about the world z axis, radians."""
    dynamics: Literal["static", "free", "kinematic"] = "static"
    """static: never moves; free: a rigid body under physics (rolling toys); kinematic: moved by scripts (cups,
    screens carried by the caregiver)."""
    mass: float = 0.1
    """Mass in kg for free bodies."""
    blocks_infant: bool = True
    """Whether the infant's body collides with the object's footprint."""
    region: str = ""
    """Room the object was placed in (diagnostics only)."""

    def footprint(self) -> tuple[float, float, float, float]:
        """World-aligned (xmin, ymin, xmax, ymax) of the object at its initial pose (yaw in 90° steps)."""
        xs: list[float] = []
        ys: list[float] = []
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        for sh in self.shapes:
            hx, hy, _ = sh.half_extents()
            for dx in (-hx, hx):
                for dy in (-hy, hy):
                    lx, ly = sh.pos[0] + dx, sh.pos[1] + dy
                    xs.append(self.pos[0] + c * lx - s * ly)
                    ys.append(self.pos[1] + s * lx + c * ly)
        return (min(xs), min(ys), max(xs), max(ys))

    def height(self) -> float:
        """Top of the object above its frame origin."""
        return max(sh.pos[2] + sh.half_extents()[2] for sh in self.shapes)


@dataclass(frozen=True)
class Room:
    """A rectangular room; walls are separate :class:`SceneObject` entries."""

    name: str
    """Unique room name."""
    center: tuple[float, float]
    """Centre of the floor, metres."""
    size: tuple[float, float]
    """Interior half extents along x and y, metres."""
    floor_material: str
    """Material of the floor."""
    wall_material: str
    """Material of the room's walls."""


@dataclass(frozen=True)
class Light:
    """A light source."""

    name: str
    """Unique light name."""
    pos: Vec3
    """Position, metres."""
    diffuse: tuple[float, float, float]
    """Colour times intensity."""
    dir: Vec3 = (0.0, 0.0, -1.0)
    """Direction (spot and directional lights)."""
    directional: bool = False
    """True for a sun-like light, False for a ceiling spot."""


@dataclass(frozen=True)
class SceneSpec:
    """A whole home, ready to be compiled by a backend."""

    seed: int
    """Seed the generator was given (diagnostics and cache keys)."""
    rooms: tuple[Room, ...]
    """Rooms, connected by door gaps in shared walls."""
    objects: tuple[SceneObject, ...]
    """Walls, furniture, toys, occluders and containers."""
    materials: tuple[Material, ...]
    """All materials used by shapes and floors."""
    textures: tuple[Texture, ...]
    """All procedural textures used by materials."""
    lights: tuple[Light, ...]
    """Light sources."""
    spawn: tuple[float, float, float]
    """Infant start (x, y, yaw) in free floor space."""
    wall_height: float = 2.4
    """Height of the walls, metres."""
    camera_height_offset: float = 0.0
    """Sampled jitter added to the stage's eye height, metres."""
    camera_fov_offset: float = 0.0
    """Sampled jitter added to the stage's vertical field of view, degrees."""
    ambient: float = 0.3
    """Ambient light level in [0, 1]."""

    def object(self, name: str) -> SceneObject:
        """The object called ``name``; KeyError lists the names that exist."""
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object named {name!r}; the scene has {[o.name for o in self.objects]}")

    def material(self, name: str) -> Material:
        """The material called ``name``."""
        for m in self.materials:
            if m.name == name:
                return m
        raise KeyError(f"no material named {name!r}")

    def by_category(self, *categories: Category) -> tuple[SceneObject, ...]:
        """Objects whose category is one of ``categories``."""
        return tuple(o for o in self.objects if o.category in categories)

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of all rooms' interiors."""
        xs = [r.center[0] - r.size[0] for r in self.rooms] + [r.center[0] + r.size[0] for r in self.rooms]
        ys = [r.center[1] - r.size[1] for r in self.rooms] + [r.center[1] + r.size[1] for r in self.rooms]
        return (min(xs), min(ys), max(xs), max(ys))

    def with_objects(self, *extra: SceneObject, materials: tuple[Material, ...] = ()) -> SceneSpec:
        """A copy with ``extra`` objects (and their materials) added; names must stay unique."""
        names = {o.name for o in self.objects}
        for o in extra:
            if o.name in names:
                raise ValueError(f"object name {o.name!r} is already used in the scene")
            names.add(o.name)
        have = {m.name for m in self.materials}
        new_mats = tuple(m for m in materials if m.name not in have)
        return dataclasses.replace(self, objects=self.objects + tuple(extra), materials=self.materials + new_mats)

    def replace_object(self, obj: SceneObject) -> SceneSpec:
        """A copy with the object of the same name replaced by ``obj``."""
        self.object(obj.name)
        return dataclasses.replace(self, objects=tuple(obj if o.name == obj.name else o for o in self.objects))

    def to_dict(self) -> dict:
        """JSON-friendly nested dict."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """Stable content hash (hex) of the scene's contents (the recorded seed is not part of it)."""
        content = self.to_dict()
        content.pop("seed")
        blob = json.dumps(content, sort_keys=True, default=float).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


__all__ = [
    "IDENTITY",
    "RGBA",
    "Category",
    "Light",
    "Material",
    "Pattern",
    "Quat",
    "Room",
    "SceneObject",
    "SceneSpec",
    "Shape",
    "ShapeKind",
    "Texture",
    "Vec3",
]
