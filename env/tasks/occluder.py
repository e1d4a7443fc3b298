"""occluder (visible displacement): the caregiver's hand carries the toy over a row of 1–3 identical screens and
puts it down behind one."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from env.tasks.base import World
from env.tasks.caregiver import CARRIED, REVEAL_LIFT, REVEAL_MOVE, smooth, span
from env.tasks.display import PARK
from env.tasks.permanence import PermanenceConfig, PermanenceTask
from env.tasks.props import TOY, WINGS, screen_objects
from scenes.spec import Material, SceneObject

CARRY_HEIGHT = 0.65
"""Height of the toy's base while it is carried over the screens, metres (screens are 0.45 m tall)."""
BEHIND = 0.18
"""How far behind its screen a hidden toy rests, metres (the wings reach further back)."""
IN_FRONT = 0.22
"""How far in front of its screen the toy rests in the ``visible`` control, metres."""
START = 0.55
"""How far in front of the row the toy is shown, metres."""


@dataclass(frozen=True)
class OccluderConfig(PermanenceConfig):
    """Options of the occluder task."""

    condition: str = "hidden"
    """hidden (toy put down behind a screen); visible (control: put down in front of it); empty (catch: no toy
    is shown or hidden; success is not searching)."""
    n_screens: int = 3
    """Number of identical screens (1–3)."""
    screen_distance: float = 1.3
    """Distance of the row of screens in front of the infant, metres."""
    screen_spacing: float = 0.5
    """Distance between neighbouring screens' centres, metres; each screen is this wide, so neighbours meet."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.n_screens <= 3:
            raise ValueError(f"n_screens={self.n_screens}: use 1..3 screens")
        if self.screen_spacing < 0.2:
            raise ValueError(f"screen_spacing={self.screen_spacing}: use at least 0.2 m (a screen must hide the toy)")


class Occluder(PermanenceTask):
    """A row of screens that meet (no gaps), closed at both ends by wings reaching back; the hand lifts the toy
    over them and puts it down behind one; the infant finds it by crossing the choice line towards that screen.

    Reward/success/termination: see :class:`env.tasks.permanence.PermanenceTask`; chance is 1/n_screens.
    """

    name = "occluder"
    Config = OccluderConfig
    config: OccluderConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "visible": "control", "empty": "catch"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"condition": "hidden"}, "visible": {"condition": "visible"}, "empty": {"condition": "empty"},
    }
    spacing_option = "screen_spacing"
    distance_option = "screen_distance"
    violations = ("vanish", "swap", "pass_through")

    def location_offsets(self) -> list[tuple[float, float]]:
        c = self.config
        return [(c.screen_distance, (i - (c.n_screens - 1) / 2) * c.screen_spacing) for i in range(c.n_screens)]

    def location_names(self) -> list[str]:
        return [f"pb_screen_{i}" for i in range(self.config.n_screens)]

    def display_objects(self) -> tuple[list[SceneObject], list[Material]]:
        return screen_objects(self.config.n_screens, self.config.screen_spacing / 2)

    def trial_targets(self, world: World) -> list[int | None]:
        target = self.draw_target(world)
        return [None if self.config.condition == "empty" else target]

    def place_screens(self, world: World, lift: float) -> None:
        """The row of screens and its wings, raised by ``lift`` metres."""
        d, c = self.display, self.config
        for name, (f, lat) in zip(self.location_names(), self.location_offsets()):
            world.backend.set_pose(name, d.xyz(f, lat, lift), d.yaw)
        edge = c.n_screens * c.screen_spacing / 2
        for name, side in zip(WINGS, (-1.0, 1.0)):
            world.backend.set_pose(name, d.xyz(c.screen_distance, side * edge, lift), d.yaw)

    def script(self, world: World, phase: str, t: float) -> None:
        c, d = self.config, self.display
        lift = REVEAL_LIFT * span(t / max(c.reveal_time, 1e-6), 0.0, REVEAL_MOVE) if phase == "reveal" else 0.0
        self.place_screens(world, lift)
        target = self.target
        if target is None:
            world.backend.set_pose(TOY, PARK, 0.0)
            self.hand.rest(world)
            return
        fwd, lat = self.location_offsets()[target]
        start = np.array([fwd - START, 0.0])
        end = np.array([fwd + BEHIND if c.condition == "hidden" else fwd - IN_FRONT, lat])
        s = t / c.hide_time if phase == "hide" else (0.0 if phase == "show" else 1.0)
        a = min(s / CARRIED, 1.0)
        # up (first quarter), across (middle half), down (last quarter)
        f, la = start + (end - start) * smooth((a - 0.25) / 0.5)
        z = CARRY_HEIGHT * math.sin(math.pi / 2 * min(a / 0.25, 1.0)) if a < 0.75 else \
            CARRY_HEIGHT * (1 - smooth((a - 0.75) / 0.25))
        if c.violation == "pass_through":  # impossible: slid along the floor, through the solid screen
            z = 0.0
        toy = d.xyz(f, la, z)
        world.backend.set_pose(TOY, self.revealed_toy(phase, toy), d.yaw)
        self.hand.carry(world, toy, s)
