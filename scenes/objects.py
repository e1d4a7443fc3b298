"""Builders for furniture, toys, screens and cups out of primitives.

Each builder returns a :class:`SceneObject` whose frame sits on the floor (z = 0 at the object's base) so
placing it is just choosing (x, y, yaw).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scenes.spec import SceneObject, Shape, Vec3

FurnitureBuilder = Callable[[str, Vec3, float, dict[str, str]], SceneObject]


def _box(hx: float, hy: float, hz: float, x: float, y: float, z: float, mat: str) -> Shape:
    return Shape("box", (hx, hy, hz), mat, (x, y, z))


def sofa(name: str, pos: Vec3, yaw: float, mats: dict[str, str]) -> SceneObject:
    """A three-seat sofa, 1.8 × 0.8 m, back along -y."""
    m, c = mats["main"], mats["accent"]
    return SceneObject(name, "furniture", (
        _box(0.9, 0.4, 0.2, 0, 0, 0.2, m),
        _box(0.9, 0.1, 0.4, 0, -0.3, 0.4, m),
        _box(0.1, 0.4, 0.3, -0.8, 0, 0.3, m),
        _box(0.1, 0.4, 0.3, 0.8, 0, 0.3, m),
        _box(0.35, 0.25, 0.06, -0.35, 0.05, 0.46, c),
        _box(0.35, 0.25, 0.06, 0.35, 0.05, 0.46, c),
    ), pos, yaw)


def table(name: str, pos: Vec3, yaw: float, mats: dict[str, str]) -> SceneObject:
    """A low table on four legs: the infant can see the floor beneath it but not cross it."""
    m = mats["main"]
    legs = tuple(_box(0.03, 0.03, 0.22, sx * 0.5, sy * 0.3, 0.22, m) for sx in (-1, 1) for sy in (-1, 1))
    return SceneObject(name, "furniture", (_box(0.58, 0.38, 0.03, 0, 0, 0.47, m),) + legs, pos, yaw)


def shelf(name: str, pos: Vec3, yaw: float, mats: dict[str, str]) -> SceneObject:
    """A bookshelf with coloured blocks as books, back along -y."""
    m, c = mats["main"], mats["accent"]
    shapes = [_box(0.6, 0.18, 0.02, 0, 0, z, m) for z in (0.02, 0.4, 0.8, 1.2)]
    shapes += [_box(0.02, 0.18, 0.6, sx * 0.58, 0, 0.6, m) for sx in (-1, 1)]
    shapes += [_box(0.6, 0.01, 0.6, 0, -0.17, 0.6, m)]
    shapes += [_box(0.2, 0.12, 0.14, -0.25 + 0.5 * i, 0, 0.18 + 0.4 * i, c) for i in range(2)]
    return SceneObject(name, "furniture", tuple(shapes), pos, yaw)


def bed(name: str, pos: Vec3, yaw: float, mats: dict[str, str]) -> SceneObject:
    """A bed with a mattress, pillow and headboard along -y."""
    m, c = mats["main"], mats["accent"]
    return SceneObject(name, "furniture", (
        _box(0.7, 1.0, 0.2, 0, 0, 0.2, m),
        _box(0.68, 0.98, 0.08, 0, 0, 0.48, c),
        _box(0.7, 0.05, 0.45, 0, -1.0, 0.45, m),
        _box(0.3, 0.15, 0.06, 0, -0.75, 0.6, c),
    ), pos, yaw)


def chair(name: str, pos: Vec3, yaw: float, mats: dict[str, str]) -> SceneObject:
    """A small chair with a back along -y."""
    m = mats["main"]
    legs = tuple(_box(0.02, 0.02, 0.2, sx * 0.18, sy * 0.18, 0.2, m) for sx in (-1, 1) for sy in (-1, 1))
    return SceneObject(name, "furniture", (_box(0.22, 0.22, 0.03, 0, 0, 0.42, m),
                                           _box(0.22, 0.02, 0.25, 0, -0.2, 0.7, m)) + legs, pos, yaw)


def rug(name: str, pos: Vec3, yaw: float, mats: dict[str, str]) -> SceneObject:
    """A flat patterned rug the infant crawls over."""
    return SceneObject(name, "rug", (_box(0.9, 0.6, 0.004, 0, 0, 0.004, mats["rug"]),), pos, yaw,
                       blocks_infant=False)


FURNITURE: dict[str, FurnitureBuilder] = {
    "sofa": sofa, "table": table, "shelf": shelf, "bed": bed, "chair": chair, "rug": rug,
}
"""Furniture kinds the generator draws from."""


def ball(name: str, pos: Vec3, material: str, radius: float = 0.08) -> SceneObject:
    """A rolling ball (free rigid body)."""
    return SceneObject(name, "toy", (Shape("sphere", (radius,), material, (0, 0, radius)),), pos,
                       dynamics="free", mass=0.15, blocks_infant=False)


def block(name: str, pos: Vec3, material: str, half: float = 0.06) -> SceneObject:
    """A toy cube."""
    return SceneObject(name, "toy", (Shape("box", (half, half, half), material, (0, 0, half)),), pos,
                       dynamics="free", mass=0.1, blocks_infant=False)


def duck(name: str, pos: Vec3, body_mat: str, beak_mat: str) -> SceneObject:
    """A rubber-duck-like composite: ellipsoid body, sphere head, ellipsoid beak."""
    return SceneObject(name, "toy", (
        Shape("ellipsoid", (0.09, 0.065, 0.055), body_mat, (0, 0, 0.055)),
        Shape("sphere", (0.045,), body_mat, (0.05, 0, 0.13)),
        Shape("ellipsoid", (0.03, 0.02, 0.01), beak_mat, (0.1, 0, 0.125)),
    ), pos, dynamics="free", mass=0.08, blocks_infant=False)


def stacker(name: str, pos: Vec3, ring_mats: tuple[str, ...], pole_mat: str) -> SceneObject:
    """A ring-stacker: decreasing cylinders on a pole."""
    rings = tuple(Shape("cylinder", (0.07 - 0.012 * i, 0.02), mat, (0, 0, 0.02 + 0.04 * i))
                  for i, mat in enumerate(ring_mats))
    pole = Shape("cylinder", (0.012, 0.1), pole_mat, (0, 0, 0.1))
    return SceneObject(name, "toy", rings + (pole,), pos, dynamics="free", mass=0.2, blocks_infant=False)


def cup(name: str, pos: Vec3, material: str, radius: float = 0.11, height: float = 0.2) -> SceneObject:
    """An upside-down opaque cup (a closed cylinder: what is under it cannot be seen), moved by the caregiver."""
    return SceneObject(name, "container", (Shape("cylinder", (radius, height / 2), material, (0, 0, height / 2)),),
                       pos, dynamics="kinematic", blocks_infant=False)


def screen(name: str, pos: Vec3, yaw: float, material: str, half_width: float = 0.3,
           height: float = 0.45) -> SceneObject:
    """A standing occluder panel (thin along its local x, wide along y) on two feet."""
    return SceneObject(name, "occluder", (
        Shape("box", (0.015, half_width, height / 2), material, (0, 0, height / 2)),
        Shape("box", (0.08, 0.02, 0.01), material, (0, -half_width * 0.8, 0.01)),
        Shape("box", (0.08, 0.02, 0.01), material, (0, half_width * 0.8, 0.01)),
    ), pos, yaw, dynamics="kinematic", blocks_infant=False)


BATTERY_TOY_KINDS: tuple[str, ...] = ("ball", "duck", "block", "ring")
"""The permanence battery's toy set (index = the ``battery_toy_kind`` randomization value)."""


def _about_y(angle: float) -> tuple[float, float, float, float]:
    return (math.cos(angle / 2), 0.0, math.sin(angle / 2), 0.0)


def _about_z(angle: float) -> tuple[float, float, float, float]:
    return (math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2))


def battery_toy(name: str, kind: str, size: float, material: str, accent: str) -> SceneObject:
    """One toy of :data:`BATTERY_TOY_KINDS`, ``size`` metres in radius (its footprint stays within 1.4 × size and
    its top below 2 × size, so a toy up to 0.075 m fits under a battery cup). Carried by the caregiver: kinematic,
    so nothing can push it once it is set down."""
    s = size
    if kind == "ball":
        shapes: tuple[Shape, ...] = (Shape("sphere", (s,), material, (0, 0, s)),)
    elif kind == "block":
        h = 0.85 * s
        shapes = (Shape("box", (h, h, h), material, (0, 0, h)),)
    elif kind == "duck":
        shapes = (Shape("ellipsoid", (s, 0.72 * s, 0.6 * s), material, (0, 0, 0.6 * s)),
                  Shape("sphere", (0.5 * s,), material, (0.55 * s, 0, 1.45 * s)),
                  Shape("ellipsoid", (0.33 * s, 0.22 * s, 0.11 * s), accent, (1.05 * s, 0, 1.4 * s)))
    elif kind == "ring":  # a torus lying flat: eight capsules around a circle
        ring, tube = 0.8 * s, 0.3 * s
        half = ring * math.tan(math.pi / 8)
        shapes = tuple(Shape("capsule", (tube, half), material, (ring * math.cos(a), ring * math.sin(a), tube),
                             _mul(_about_z(a + math.pi / 2), _about_y(math.pi / 2)))
                       for a in (k * math.pi / 4 for k in range(8)))
    else:
        raise ValueError(f"unknown battery toy {kind!r}; choose one of {BATTERY_TOY_KINDS}")
    return SceneObject(name, "toy", shapes, (0.0, 0.0, -3.0), dynamics="kinematic", blocks_infant=False)


def _mul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Quaternion product a * b (w, x, y, z)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def caregiver_arm(name: str, skin: str, sleeve: str) -> SceneObject:
    """A caregiver's hand and arm reaching in from behind the display: the object's frame is the palm's centre;
    the forearm and upper arm rise backwards (+x, away from the infant when the object's yaw is the display's)
    and up, out of the top of the infant's view. Moved by the task's script (kinematic, collides with nothing)."""
    fore_dir = math.radians(50)   # forearm tilted 50° from vertical, towards the back
    upper_dir = math.radians(20)
    fore_half, upper_half, r = 0.13, 0.16, 0.035
    elbow = (2 * fore_half * math.sin(fore_dir) + 0.05, 0.0, 2 * fore_half * math.cos(fore_dir) + 0.02)
    return SceneObject(name, "caregiver", (
        Shape("ellipsoid", (0.055, 0.045, 0.022), skin, (0.0, 0.0, 0.0)),
        Shape("capsule", (0.012, 0.025), skin, (-0.05, 0.035, -0.005), _about_z(-0.6 + math.pi / 2)),
        Shape("capsule", (r, fore_half), sleeve, (0.05 + fore_half * math.sin(fore_dir), 0.0,
                                                   0.02 + fore_half * math.cos(fore_dir)), _about_y(fore_dir)),
        Shape("capsule", (r * 1.2, upper_half), sleeve, (elbow[0] + upper_half * math.sin(upper_dir), 0.0,
                                                         elbow[2] + upper_half * math.cos(upper_dir)),
              _about_y(upper_dir)),
    ), (0.0, 0.0, -3.0), dynamics="kinematic", blocks_infant=False)
