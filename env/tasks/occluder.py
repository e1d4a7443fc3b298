"""occluder (visible displacement): the caregiver carries the toy behind one of 1–3 identical screens."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from env.tasks.base import World
from env.tasks.permanence import PARK, TOY, PermanenceConfig, PermanenceTask, screen_objects, smooth, toy_object
from scenes.spec import Material, SceneObject

CARRY_HEIGHT = 0.6
"""Height the toy is carried at over the screens, metres (screens are 0.4 m tall)."""
BEHIND = 0.15
"""How far behind its screen a hidden toy rests, metres."""
IN_FRONT = 0.22
"""How far in front of its screen the toy rests in the ``visible`` control, metres."""


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
    """Distance between neighbouring screens' centres, metres."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.n_screens <= 3:
            raise ValueError(f"n_screens={self.n_screens}: use 1..3 screens")


class Occluder(PermanenceTask):
    """The toy sits on the floor in front of a row of screens, is lifted over them and put down behind one;
    the infant finds it by crawling to that screen.

    Reward/success/termination: see :class:`env.tasks.permanence.PermanenceTask`; chance is 1/n_screens.
    """

    name = "occluder"
    Config = OccluderConfig
    config: OccluderConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "visible": "control", "empty": "catch"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"condition": "hidden"}, "visible": {"condition": "visible"}, "empty": {"condition": "empty"},
    }

    def location_offsets(self) -> list[tuple[float, float]]:
        c = self.config
        return [(c.screen_distance, (i - (c.n_screens - 1) / 2) * c.screen_spacing) for i in range(c.n_screens)]

    def location_names(self) -> list[str]:
        return [f"pb_screen_{i}" for i in range(self.config.n_screens)]

    def scene_objects(self) -> tuple[list[SceneObject], list[Material]]:
        screens, mat = screen_objects(self.config.n_screens)
        toy, toy_mat = toy_object()
        return [*screens, toy], [mat, toy_mat]

    def trial_targets(self, world: World) -> list[int | None]:
        target = self.draw_target(world)
        return [None if self.config.condition == "empty" else target]

    def script(self, world: World, phase: str, t: float) -> None:
        st = self.stage
        for name, off in zip(self.location_names(), self.location_offsets()):
            world.backend.set_pose(name, st.xyz(*off), st.yaw)
        target = self.target
        if target is None:
            world.backend.set_pose(TOY, PARK, 0.0)
            return
        if phase not in ("show", "hide"):
            return
        fwd, lat = self.location_offsets()[target]
        start = np.array([fwd - 0.5, 0.0])
        end = np.array([fwd + BEHIND if self.config.condition == "hidden" else fwd - IN_FRONT, lat])
        s = self.hide_fraction(t) if phase == "hide" else 0.0
        # up (first quarter), across (middle half), down (last quarter)
        across = smooth((s - 0.25) / 0.5)
        f, la = start + (end - start) * across
        z = CARRY_HEIGHT * math.sin(math.pi / 2 * min(s / 0.25, 1.0)) if s < 0.75 else \
            CARRY_HEIGHT * (1 - smooth((s - 0.75) / 0.25))
        world.backend.set_pose(TOY, st.xyz(f, la, z), 0.0)
