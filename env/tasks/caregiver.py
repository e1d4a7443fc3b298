"""The caregiver's timing and hand: when the hiding motion ends, and where the hand is.

Hide phase schedule (fractions of ``hide_time``), the same in every task so that every frame from
:data:`STILL` on is identical whichever place hides the toy (hand included):

- ``0 → CARRIED``: the hand carries (or pushes) the toy to its final place;
- ``CARRIED → STILL``: the hand goes back to its rest pose, behind the display and above it (cups are lowered,
  the gate closes);
- from ``STILL``: nothing moves until the reveal.

At the reveal (after the choice or the end of search) the caregiver lifts the cups / screens so the infant sees
where the toy was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from env.tasks.base import World
from env.tasks.display import Display
from env.tasks.props import HAND

CARRIED = 0.55
"""Fraction of the hide phase by which the toy is in its final place."""
STILL = 0.9
"""Fraction of the hide phase from which nothing moves (the hand is at rest)."""
HAND_ABOVE = 0.025
"""Gap between the top of the toy and the palm when the hand holds it, metres."""
REVEAL_LIFT = 0.55
"""How high the caregiver lifts the screens at the reveal, metres."""
REVEAL_MOVE = 0.5
"""Fraction of the reveal phase the lifting takes."""


def smooth(s: float) -> float:
    """Ease-in-out of a fraction, clipped to [0, 1]."""
    s = min(max(s, 0.0), 1.0)
    return s * s * (3 - 2 * s)


def lerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """Linear interpolation from ``a`` to ``b``."""
    return a + (b - a) * s


def span(s: float, start: float, end: float) -> float:
    """Eased progress of ``s`` through the interval [start, end] (0 before, 1 after)."""
    return smooth((s - start) / (end - start))


def rest_pose(display: Display, row: float) -> np.ndarray:
    """Where the hand waits: behind the middle of the row, above the screens."""
    return display.xyz(row + 0.45, 0.0, 0.75)


def holding(toy: np.ndarray, toy_height: float) -> np.ndarray:
    """Hand position that holds a toy standing at ``toy`` (its base)."""
    return toy + np.array([0.0, 0.0, toy_height + HAND_ABOVE])


def retreat(last: np.ndarray, rest: np.ndarray, s: float, start: float = CARRIED) -> np.ndarray:
    """Hand position while going from ``last`` back to ``rest`` during [start, STILL] of the hide phase."""
    return lerp(last, rest, span(s, start, STILL))


@dataclass(frozen=True)
class Hand:
    """The caregiver's hand in one episode: it rests behind the row and holds this layout's toy from above."""

    display: Display
    """The episode's display (the arm reaches in along its forward axis, from behind)."""
    row: float
    """Forward distance of the row of choice objects."""
    toy_height: float
    """Height of the layout's toy, metres."""

    def place(self, world: World, position: np.ndarray) -> None:
        """Put the palm's centre at ``position``."""
        world.backend.set_pose(HAND, position, self.display.yaw)

    def rest(self, world: World) -> None:
        """The rest pose, behind and above the row."""
        self.place(world, rest_pose(self.display, self.row))

    def carry(self, world: World, toy: np.ndarray, s: float) -> None:
        """Hold the toy at ``toy`` up to :data:`CARRIED` of the hide phase (``s``), then go back to rest."""
        hand = holding(toy, self.toy_height)
        self.place(world, retreat(hand, rest_pose(self.display, self.row), s) if s > CARRIED else hand)
