"""The infant's body: a kinematic crawler/walker with a head that turns and tilts.

Movement is planar with circle-vs-box collisions against the scene's blocking footprints, so every backend
moves the infant the same way; the backend only places the eye where the body says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from env.development import Posture
from scenes.spec import SceneSpec

DISCRETE_ACTIONS: tuple[str, ...] = ("noop", "forward", "turn_left", "turn_right", "look_up", "look_down")
"""Meaning of each discrete action index."""
PITCH_RATE = 1.0
"""Head tilt speed, radians per second."""
BODY_RADIUS = 0.15
"""Radius of the infant's collision circle, metres."""

Box2 = tuple[float, float, float, float]


@dataclass
class Pose:
    """Where the infant is and where it looks."""

    x: float
    y: float
    yaw: float
    pitch: float = 0.0


def blocking_boxes(scene: SceneSpec) -> np.ndarray:
    """(N, 4) array of (xmin, ymin, xmax, ymax) footprints the infant cannot enter."""
    boxes = [o.footprint() for o in scene.objects if o.blocks_infant and o.dynamics == "static"]
    return np.array(boxes, np.float64).reshape(-1, 4)


class InfantBody:
    """Moves the infant's pose by actions, never through walls or furniture."""

    def __init__(self, posture: Posture, eye_height: float) -> None:
        self.posture = posture
        self.eye_height = eye_height
        self.pose = Pose(0.0, 0.0, 0.0)
        self._boxes = np.zeros((0, 4))
        self.collided = False

    def reset(self, scene: SceneSpec, x: float, y: float, yaw: float) -> None:
        """Start a new episode at (x, y, yaw) in ``scene``."""
        self._boxes = blocking_boxes(scene)
        self.pose = Pose(x, y, yaw, 0.0)
        self.collided = False

    def free(self, x: float, y: float, radius: float = BODY_RADIUS) -> bool:
        """Whether a circle of ``radius`` at (x, y) is clear of every blocking box."""
        b = self._boxes
        if len(b) == 0:
            return True
        dx = np.maximum(np.maximum(b[:, 0] - x, 0.0), x - b[:, 2])
        dy = np.maximum(np.maximum(b[:, 1] - y, 0.0), y - b[:, 3])
        return bool(np.all(dx * dx + dy * dy >= radius * radius))

    def move(self, forward: float, turn: float, tilt: float, dt: float) -> None:
        """Apply commands in [-1, 1] (fractions of the posture's speeds) for ``dt`` seconds."""
        p = self.pose
        p.yaw = (p.yaw + turn * self.posture.turn_rate * dt + math.pi) % (2 * math.pi) - math.pi
        lo, hi = self.posture.pitch_range
        p.pitch = min(max(p.pitch + tilt * PITCH_RATE * dt, lo), hi)
        dist = forward * self.posture.speed * dt
        self.collided = False
        if dist == 0.0:
            return
        nx, ny = p.x + dist * math.cos(p.yaw), p.y + dist * math.sin(p.yaw)
        if self.free(nx, ny):
            p.x, p.y = nx, ny
        elif self.free(nx, p.y):  # slide along the obstacle
            p.x, self.collided = nx, True
        elif self.free(p.x, ny):
            p.y, self.collided = ny, True
        else:
            self.collided = True

    def act_discrete(self, action: int, dt: float) -> None:
        """Apply one of :data:`DISCRETE_ACTIONS` for ``dt`` seconds."""
        name = DISCRETE_ACTIONS[action]
        self.move(float(name == "forward"), float(name == "turn_left") - float(name == "turn_right"),
                  float(name == "look_up") - float(name == "look_down"), dt)

    def eye_position(self) -> np.ndarray:
        """World position of the eye."""
        return np.array([self.pose.x, self.pose.y, self.eye_height])

    def bearing_to(self, point: np.ndarray) -> tuple[float, float]:
        """(planar distance, heading error in radians) from the infant to ``point``."""
        dx, dy = point[0] - self.pose.x, point[1] - self.pose.y
        err = (math.atan2(dy, dx) - self.pose.yaw + math.pi) % (2 * math.pi) - math.pi
        return math.hypot(dx, dy), err
