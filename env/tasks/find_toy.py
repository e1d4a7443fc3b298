"""find-the-toy: crawl to the rubber duck and look at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from env.body import BODY_RADIUS
from env.tasks.base import PRIVILEGED, Task, TaskConfig, World
from scenes.generator import free_point


@dataclass(frozen=True)
class FindToyConfig(TaskConfig):
    """Options of the find-the-toy task."""

    target: str = "duck"
    """Name of the toy to find (every generated home has a ``duck``)."""
    reach_distance: float = 0.6
    """Success when the infant is this close (metres, planar)..."""
    look_angle: float = 0.35
    """...and the toy is within this many radians of the gaze direction, in sight."""
    progress_weight: float = 0.5
    """Reward per metre of distance closed (potential-based shaping)."""
    step_cost: float = 0.002
    """Cost per step, to prefer short searches."""
    relocate: bool = True
    """Move the toy to a random free spot each episode (else keep the generator's spot)."""


class FindToy(Task):
    """Reward for getting close to and looking at a named toy.

    Reward: ``+1`` on success, ``progress_weight`` × metres closed, ``-step_cost`` per step.
    Success: within ``reach_distance`` and looking at the toy (in view, not occluded). Terminates on success.
    """

    name = "find_toy"
    Config = FindToyConfig
    config: FindToyConfig

    def reset(self, world: World) -> None:
        c = self.config
        world.scene.object(c.target)  # fails early with the list of names
        if c.relocate:
            occupied = [o.footprint() for o in world.scene.objects if o.blocks_infant]
            p = world.body.pose
            occupied.append((p.x - 0.8, p.y - 0.8, p.x + 0.8, p.y + 0.8))  # not right under the infant's nose
            room = world.scene.rooms[int(world.rng.integers(len(world.scene.rooms)))]
            xy = free_point(world.rng, room, occupied, 0.12)
            if xy is not None:
                world.backend.set_pose(c.target, (xy[0], xy[1], 0.0), float(world.rng.uniform(-3.14, 3.14)))
        self._last_distance = world.distance_to(c.target)
        self._progress = 0.0

    def after_physics(self, world: World) -> list[str]:
        d = world.distance_to(self.config.target)
        self._progress, self._last_distance = self._last_distance - d, d
        return []

    def _looking(self, world: World) -> bool:
        _, err = world.body.bearing_to(world.position(self.config.target))
        return abs(err) <= self.config.look_angle and world.visible(self.config.target)

    def reward(self, world: World) -> dict[str, float]:
        c = self.config
        return {"progress": c.progress_weight * self._progress, "step": -c.step_cost,
                "success": 1.0 if self.success(world) else 0.0}

    def success(self, world: World) -> bool:
        return world.distance_to(self.config.target) <= self.config.reach_distance + BODY_RADIUS and \
            self._looking(world)

    def info(self, world: World) -> dict[str, Any]:
        t = self.config.target
        return {"target": t, "target_visible": world.visible(t),
                PRIVILEGED: {"target_distance": world.distance_to(t), "target_location": world.position(t)[:2].tolist()}}
