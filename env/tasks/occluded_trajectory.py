"""occluded trajectory (chick-occluder style): the toy rolls behind one of two screens and stays there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from env.tasks.base import World
from env.tasks.caregiver import CARRIED, REVEAL_LIFT, REVEAL_MOVE, STILL, smooth, span
from env.tasks.permanence import PermanenceConfig, PermanenceTask
from env.tasks.props import GATE, TOY, WINGS, gate_object, screen_objects
from scenes.spec import Material, SceneObject

BEHIND = 0.18
"""How far behind the screens' plane the toy rolls, metres."""
GATE_HALF = 0.12
"""Half width of the gap between the two screens (closed by the gate after the roll), metres."""
GATE_UP = 0.6
"""Height of the gate's lower edge before it closes, metres (above the toy and the hand)."""


@dataclass(frozen=True)
class OccludedTrajectoryConfig(PermanenceConfig):
    """Options of the occluded-trajectory task."""

    condition: str = "hidden"
    """hidden (the toy rolls behind a screen and stays); emerges (control: it rolls out through the gap and stops
    in front of that screen, in view)."""
    screen_distance: float = 1.3
    """Distance of the two screens in front of the infant, metres."""
    screen_offset: float = 0.45
    """Lateral offset of each screen's centre from the midline, metres."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.screen_offset < GATE_HALF + 0.1:
            raise ValueError(f"screen_offset={self.screen_offset}: use at least {GATE_HALF + 0.1} m")


class OccludedTrajectory(PermanenceTask):
    """Two identical screens stand left and right of the midline with a gap between them, where the toy waits
    (held by the caregiver's hand); the hand rolls it sideways behind one, withdraws, and a gate closes the gap
    (wings close the row's ends). The infant must go to the screen the toy entered.

    Reward/success/termination: see :class:`env.tasks.permanence.PermanenceTask`; chance is 1/2.
    """

    name = "occluded_trajectory"
    Config = OccludedTrajectoryConfig
    config: OccludedTrajectoryConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "emerges": "control"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"condition": "hidden"}, "emerges": {"condition": "emerges"},
    }
    spacing_option = "screen_offset"
    distance_option = "screen_distance"

    def location_offsets(self) -> list[tuple[float, float]]:
        c = self.config
        return [(c.screen_distance, -c.screen_offset), (c.screen_distance, c.screen_offset)]

    def location_names(self) -> list[str]:
        return ["pb_screen_0", "pb_screen_1"]

    def display_objects(self) -> tuple[list[SceneObject], list[Material]]:
        screens, mats = screen_objects(2, self.config.screen_offset - GATE_HALF)
        return [*screens, gate_object(GATE_HALF)], mats

    def _path(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of the roll, (forward, lateral)."""
        c = self.config
        fwd, lat = self.location_offsets()[self.target]
        start = np.array([fwd + BEHIND, 0.0])
        if c.condition == "hidden":
            return start, np.array([fwd + BEHIND, lat])
        return start, np.array([fwd - 0.4, 0.6 * lat])

    def script(self, world: World, phase: str, t: float) -> None:
        c, d = self.config, self.display
        s = t / c.hide_time if phase == "hide" else (0.0 if phase == "show" else 1.0)
        lift = REVEAL_LIFT * span(t / max(c.reveal_time, 1e-6), 0.0, REVEAL_MOVE) if phase == "reveal" else 0.0
        edge = 2 * c.screen_offset - GATE_HALF
        for name, (f, lat) in zip(self.location_names(), self.location_offsets()):
            world.backend.set_pose(name, d.xyz(f, lat, lift), d.yaw)
        for name, side in zip(WINGS, (-1.0, 1.0)):
            world.backend.set_pose(name, d.xyz(c.screen_distance, side * edge, lift), d.yaw)
        gate = GATE_UP * (1 - span(s, CARRIED, STILL)) + lift
        world.backend.set_pose(GATE, d.xyz(c.screen_distance, 0.0, gate), d.yaw)
        start, end = self._path()
        f, lat = start + (end - start) * smooth(s / CARRIED)
        toy = d.xyz(f, lat, 0.0)
        world.backend.set_pose(TOY, toy, d.yaw)
        self.hand.carry(world, toy, s)
