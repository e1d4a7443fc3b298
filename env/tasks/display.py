"""Where a battery display stands and how the infant chooses one of its locations.

- :class:`Display`: the display's pose for an episode (the infant's start pose); points are given in its frame as
  (forward, lateral, z).
- :class:`ChoiceLine`: the infant *chooses* when its centre crosses a line ``reach`` metres in front of the row
  of choice objects, anywhere along it (so no path leads behind the display without choosing); the location
  chosen is the one the infant is heading for (where its heading meets the row).
- :func:`find_display` / :func:`fallback_display`: a spot with clear floor, drawn from the env's generator only;
  home toys in the display area are tidied away.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from env.body import BODY_RADIUS
from env.tasks.base import World
from scenes.spec import SceneSpec

PARK = np.array([0.0, 0.0, -3.0])
"""Where unused objects wait: under the floor, out of every view."""


@dataclass(frozen=True)
class Display:
    """Where the display stands this episode: the infant's start pose; offsets are (forward, lateral)."""

    x: float
    """World x of the infant's start."""
    y: float
    """World y of the infant's start."""
    yaw: float
    """Heading of the infant at the start: the display's forward axis."""

    def xy(self, forward: float, lateral: float) -> np.ndarray:
        """World (x, y) of a point ``forward`` metres ahead and ``lateral`` metres to the infant's left."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([self.x + c * forward - s * lateral, self.y + s * forward + c * lateral])

    def xyz(self, forward: float, lateral: float, z: float = 0.0) -> np.ndarray:
        """World (x, y, z) of a display point."""
        return np.array([*self.xy(forward, lateral), z])

    def local(self, x: float, y: float) -> tuple[float, float]:
        """(forward, lateral) of the world point (x, y)."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = x - self.x, y - self.y
        return c * dx + s * dy, -s * dx + c * dy


@dataclass(frozen=True)
class ChoiceLine:
    """The choice rule: crossing ``forward = row - reach`` commits to the location the infant is heading for."""

    row: float
    """Forward distance of the row of choice objects from the start."""
    reach: float
    """How far in front of the row the line lies (``touch_distance``)."""
    laterals: tuple[float, ...]
    """Lateral offset of each location."""

    @property
    def forward(self) -> float:
        """Forward distance of the line from the start."""
        return self.row - self.reach

    def crossed(self, display: Display, x: float, y: float) -> bool:
        """Whether the infant's centre (x, y) is on or beyond the line."""
        return display.local(x, y)[0] >= self.forward - 1e-9

    def choice(self, display: Display, x: float, y: float, yaw: float) -> int | None:
        """The location chosen by an infant at (x, y) heading ``yaw``, or None before the line."""
        f, lat = display.local(x, y)
        if f < self.forward - 1e-9:
            return None
        rel = (yaw - display.yaw + math.pi) % (2 * math.pi) - math.pi
        aim = lat + math.tan(max(min(rel, 1.2), -1.2)) * max(self.row - f, 0.0)
        return min(range(len(self.laterals)), key=lambda i: (abs(self.laterals[i] - aim), i))


def fallback_display(scene: SceneSpec, rng: np.random.Generator, depth: float, half: float) -> tuple[Display,
                                                                                                     SceneSpec]:
    """A display spot reserved at build time in the first room (the infant 0.6 m behind the room's centre, looking
    along its longer axis), and the scene with the furniture in that display area removed."""
    room = scene.rooms[0]
    yaw = (0.0 if room.size[0] >= room.size[1] else math.pi / 2) + (math.pi if rng.random() < 0.5 else 0.0)
    yaw = (yaw + math.pi) % (2 * math.pi) - math.pi
    spot = Display(room.center[0] - 0.6 * math.cos(yaw), room.center[1] - 0.6 * math.sin(yaw), yaw)
    corners = np.array([spot.xy(f, lat) for f in (-0.3, depth) for lat in (-half, half)])
    (x0, y0), (x1, y1) = corners.min(0), corners.max(0)

    def clear(o) -> bool:
        b = o.footprint()
        return o.category != "furniture" or not o.blocks_infant or b[2] < x0 or b[0] > x1 or b[3] < y0 or b[1] > y1

    return spot, dataclasses.replace(scene, objects=tuple(o for o in scene.objects if clear(o)))


def find_display(world: World, depth: float, half: float, fallback: Display, skip: str, tries: int = 100) -> Display:
    """A start pose with clear floor under the whole display (``depth`` ahead, ``half`` to each side), drawn from
    the env's generator; else ``fallback``. Home toys (other than ``skip``) in the display area are parked."""
    grid = [(f, lat) for f in np.arange(0.0, depth + 1e-6, 0.2) for lat in np.linspace(-half, half, 7)]
    rooms = world.scene.rooms
    for _ in range(tries):
        room = rooms[int(world.rng.integers(len(rooms)))]
        (cx, cy), (hx, hy) = room.center, room.size
        x = float(world.rng.uniform(cx - hx + 0.3, cx + hx - 0.3))
        y = float(world.rng.uniform(cy - hy + 0.3, cy + hy - 0.3))
        yaw0 = float(world.rng.uniform(-math.pi, math.pi))
        if not world.body.free(x, y, BODY_RADIUS + 0.05):
            continue
        for k in range(8):
            spot = Display(x, y, (yaw0 + k * math.pi / 4 + math.pi) % (2 * math.pi) - math.pi)
            if all(world.body.free(*(float(v) for v in spot.xy(f, lat)), 0.1) for f, lat in grid):
                _tidy(world, spot, depth, half, skip)
                return spot
    _tidy(world, fallback, depth, half, skip)  # reserved in build(): always clear
    return fallback


def _tidy(world: World, spot: Display, depth: float, half: float, skip: str) -> None:
    for i, o in enumerate(world.scene.by_category("toy")):
        if o.name == skip:
            continue
        q = world.position(o.name)
        f, lat = spot.local(q[0], q[1])
        if -0.5 <= f <= depth + 0.3 and abs(lat) <= half + 0.3:
            world.backend.set_pose(o.name, PARK + [2.0 * i, 0.0, 0.0])
