"""occluded trajectory (chick-occluder style): the toy rolls behind one of two screens and stays there."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from env.tasks.base import World
from env.tasks.permanence import HIDE_DONE, TOY, PermanenceConfig, PermanenceTask, screen_objects, toy_object
from scenes.spec import Material, SceneObject

BEHIND = 0.15
"""How far behind the screens' plane the toy rolls, metres."""


@dataclass(frozen=True)
class OccludedTrajectoryConfig(PermanenceConfig):
    """Options of the occluded-trajectory task."""

    condition: str = "hidden"
    """hidden (the toy rolls behind a screen and stays); emerges (control: it rolls out past the screen's far edge
    and stops there, in view)."""
    screen_distance: float = 1.3
    """Distance of the two screens in front of the infant, metres."""
    screen_offset: float = 0.45
    """Lateral offset of each screen's centre from the midline, metres."""


class OccludedTrajectory(PermanenceTask):
    """Two identical screens stand left and right of the midline; the toy waits in the gap between them, then
    rolls (MuJoCo physics, pushed at constant speed) sideways behind one and stops. The infant must go to the
    screen it entered.

    Reward/success/termination: see :class:`env.tasks.permanence.PermanenceTask`; chance is 1/2.
    """

    name = "occluded_trajectory"
    Config = OccludedTrajectoryConfig
    config: OccludedTrajectoryConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "emerges": "control"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"condition": "hidden"}, "emerges": {"condition": "emerges"},
    }

    def location_offsets(self) -> list[tuple[float, float]]:
        c = self.config
        return [(c.screen_distance, -c.screen_offset), (c.screen_distance, c.screen_offset)]

    def location_names(self) -> list[str]:
        return ["pb_screen_0", "pb_screen_1"]

    def scene_objects(self) -> tuple[list[SceneObject], list[Material]]:
        screens, mat = screen_objects(2)
        toy, toy_mat = toy_object()
        return [*screens, toy], [mat, toy_mat]

    def _waypoints(self) -> list[np.ndarray]:
        c = self.config
        fwd, lat = self.location_offsets()[self.target]
        side = float(np.sign(lat))
        if c.condition == "hidden":
            return [self.stage.xyz(fwd + BEHIND, side * c.screen_offset)]
        # out past the screen's far edge, then forward to stop in front of it, well inside the field of view
        return [self.stage.xyz(fwd + BEHIND, side * (c.screen_offset + 0.35)),
                self.stage.xyz(fwd - 0.4, side * c.screen_offset * 0.6)]

    def start_trial(self, world: World) -> None:
        self._leg = 0

    def script(self, world: World, phase: str, t: float) -> None:
        st = self.stage
        for name, off in zip(self.location_names(), self.location_offsets()):
            world.backend.set_pose(name, st.xyz(*off), st.yaw)
        start = st.xyz(self.config.screen_distance + BEHIND, 0.0, 0.0)
        if phase == "show":
            world.backend.set_pose(TOY, start, 0.0)
            return
        if phase != "hide":
            return
        legs = self._waypoints()
        if t >= HIDE_DONE * self.config.hide_time:  # the roll is over: settle exactly at the end, at rest
            world.backend.set_pose(TOY, legs[-1], 0.0)
            return
        if self._leg >= len(legs):
            return
        points = [start, *legs]
        length = sum(float(np.hypot(*(b[:2] - a[:2]))) for a, b in itertools.pairwise(points))
        speed = length / (0.8 * HIDE_DONE * self.config.hide_time)
        goal = legs[self._leg]
        gap = goal[:2] - world.position(TOY)[:2]
        dist = float(np.hypot(*gap))
        if dist < 0.05:
            world.backend.set_pose(TOY, goal, 0.0)
            self._leg += 1
            return
        v = gap / dist * min(speed, dist / 0.1)
        world.backend.set_velocity(TOY, np.array([v[0], v[1], 0.0]))
