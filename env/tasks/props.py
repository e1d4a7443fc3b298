"""The battery's objects: the toy (drawn from a small set), cups, screens with wings, a gate, the caregiver's arm.

All are kinematic (moved only by the caregiver script, colliding with nothing), so a hidden toy stays exactly
where it was put. Names: ``pb_toy``, ``pb_cup_<i>``, ``pb_screen_<i>``, ``pb_wing_<0|1>``, ``pb_gate``,
``pb_hand``.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from scenes import objects
from scenes.randomization import SceneRandomization
from scenes.spec import Material, SceneObject, Shape

TOY = "pb_toy"
"""Scene name of the battery's toy."""
HAND = "pb_hand"
"""Scene name of the caregiver's hand and arm."""
GATE = "pb_gate"
"""Scene name of the gate that closes the gap between two screens (occluded trajectory)."""
WINGS = ("pb_wing_0", "pb_wing_1")
"""Scene names of the side panels at the two ends of a row of screens."""
SCREEN_HEIGHT = 0.45
"""Height of screens, wings and the gate, metres."""
WING_DEPTH = 0.4
"""How far the wings reach back from the row of screens, metres: more than a hidden toy lies behind it, so the
region behind the row cannot be seen from anywhere in front of it."""
PANEL = 0.015
"""Half thickness of screens, wings and the gate, metres."""
CUP_RADIUS = 0.11
"""Radius of a battery cup, metres (a toy's footprint stays within it)."""
CUP_HEIGHT = 0.2
"""Height of a battery cup, metres."""

_CUP_MAT = Material("pb_cup_blue", (0.2, 0.35, 0.85, 1.0))
_GLASS_MAT = Material("pb_cup_glass", (0.7, 0.85, 1.0, 0.25))
_SCREEN_MAT = Material("pb_screen_green", (0.25, 0.6, 0.3, 1.0))
_SKIN_MAT = Material("pb_skin", (0.87, 0.68, 0.55, 1.0))
_SLEEVE_MAT = Material("pb_sleeve", (0.45, 0.3, 0.55, 1.0))


@dataclass(frozen=True)
class ToyChoice:
    """The toy of a layout, drawn when the task builds its display."""

    kind: str
    """One of :data:`scenes.objects.BATTERY_TOY_KINDS`."""
    size: float
    """Radius, metres."""
    rgb: tuple[float, float, float]
    """Colour."""


def draw_toy(rng: np.random.Generator, randomization: SceneRandomization | None) -> ToyChoice:
    """A toy within the ``battery_toy_*`` ranges (their defaults: the v1 red ball of radius 0.06)."""
    rand = randomization if randomization is not None else SceneRandomization()
    kind = objects.BATTERY_TOY_KINDS[int(rand.sample("battery_toy_kind", rng))]
    size = float(rand.sample("battery_toy_size", rng))
    hue = float(rand.sample("battery_toy_hue", rng))
    return ToyChoice(kind, size, colorsys.hsv_to_rgb(hue, 0.85, 0.9))


def toy_objects(toy: ToyChoice) -> tuple[list[SceneObject], list[Material]]:
    """The toy and its materials."""
    body = Material("pb_toy_body", (*toy.rgb, 1.0), specular=0.3, shininess=0.3)
    accent = Material("pb_toy_accent", (0.95, 0.45, 0.05, 1.0))
    return [objects.battery_toy(TOY, toy.kind, toy.size, body.name, accent.name)], [body, accent]


def cup_objects(n: int, transparent: bool = False) -> tuple[list[SceneObject], list[Material]]:
    """``n`` identical cups named ``pb_cup_<i>``; ``transparent`` ones show what is under them."""
    mat = _GLASS_MAT if transparent else _CUP_MAT
    return [objects.cup(f"pb_cup_{i}", (0.0, 0.0, -3.0), mat.name, CUP_RADIUS, CUP_HEIGHT) for i in range(n)], [mat]


def screen_objects(n: int, half_width: float) -> tuple[list[SceneObject], list[Material]]:
    """``n`` identical screens named ``pb_screen_<i>`` and the two wings that close the row's ends."""
    park = (0.0, 0.0, -3.0)
    screens = [objects.screen(f"pb_screen_{i}", park, 0.0, _SCREEN_MAT.name, half_width, SCREEN_HEIGHT)
               for i in range(n)]
    return screens + [wing(name) for name in WINGS], [_SCREEN_MAT]


def wing(name: str) -> SceneObject:
    """A side panel reaching back from its frame (at the row's end) along +x by :data:`WING_DEPTH`."""
    h = SCREEN_HEIGHT / 2
    return SceneObject(name, "occluder", (Shape("box", (WING_DEPTH / 2, PANEL, h), _SCREEN_MAT.name,
                                                (WING_DEPTH / 2, 0.0, h)),),
                       (0.0, 0.0, -3.0), dynamics="kinematic", blocks_infant=False)


def gate_object(half_width: float) -> SceneObject:
    """The panel that closes the gap between two screens once the toy has rolled past it."""
    return objects.screen(GATE, (0.0, 0.0, -3.0), 0.0, _SCREEN_MAT.name, half_width, SCREEN_HEIGHT)


def hand_objects() -> tuple[list[SceneObject], list[Material]]:
    """The caregiver's hand and arm."""
    return [objects.caregiver_arm(HAND, _SKIN_MAT.name, _SLEEVE_MAT.name)], [_SKIN_MAT, _SLEEVE_MAT]
