"""cups: the caregiver's hand puts a toy under one of N identical cups while the infant watches (PCTB 3-cup
style)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from env.tasks.base import World
from env.tasks.caregiver import CARRIED, REVEAL_MOVE, STILL, lerp, smooth, span
from env.tasks.permanence import PermanenceConfig, PermanenceTask
from env.tasks.props import CUP_RADIUS, TOY, cup_objects
from scenes.spec import Material, SceneObject

CUP_LIFT = 0.3
"""Height the caregiver holds the cups at while showing (and at the reveal), metres."""
FRONT = 0.4
"""How far in front of the row the toy is shown, metres."""


@dataclass(frozen=True)
class CupsConfig(PermanenceConfig):
    """Options of the cups task."""

    condition: str = "hidden"
    """hidden (opaque cups); transparent (control: see-through cups); reshown (control: the right cup is lifted
    again at search, showing the toy)."""
    n_cups: int = 3
    """Number of identical cups (2–4)."""
    cup_distance: float = 1.1
    """Distance of the row of cups in front of the infant, metres."""
    cup_spacing: float = 0.35
    """Distance between neighbouring cups' centres, metres."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.n_cups <= 4:
            raise ValueError(f"n_cups={self.n_cups}: use 2..4 cups")


class Cups(PermanenceTask):
    """The caregiver holds N identical cups up; the hand shows the toy in front of them, slides it under one cup
    and withdraws, and all cups come down together; after the delay the infant chooses a cup by crossing the
    choice line towards it. At the reveal all cups are lifted.

    Reward/success/termination: see :class:`env.tasks.permanence.PermanenceTask`; chance is 1/N.
    """

    name = "cups"
    Config = CupsConfig
    config: CupsConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "transparent": "control", "reshown": "control"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"condition": "hidden"}, "transparent": {"condition": "transparent"},
        "reshown": {"condition": "reshown"},
    }
    min_spacing = 2 * CUP_RADIUS + 0.05
    spacing_option = "cup_spacing"
    distance_option = "cup_distance"
    violations = ("vanish", "swap")

    def location_offsets(self) -> list[tuple[float, float]]:
        c = self.config
        return [(c.cup_distance, (i - (c.n_cups - 1) / 2) * c.cup_spacing) for i in range(c.n_cups)]

    def location_names(self) -> list[str]:
        return [f"pb_cup_{i}" for i in range(self.config.n_cups)]

    def display_objects(self) -> tuple[list[SceneObject], list[Material]]:
        return cup_objects(self.config.n_cups, transparent=self.config.condition == "transparent")

    def script(self, world: World, phase: str, t: float) -> None:
        c, d = self.config, self.display
        offsets = self.location_offsets()
        front = d.xyz(c.cup_distance - FRONT, 0.0, 0.0)
        target = self.target
        under = d.xyz(*offsets[target], 0.0) if target is not None else front
        s = t / c.hide_time if phase == "hide" else (0.0 if phase == "show" else 1.0)
        a = smooth(s / CARRIED)
        toy = lerp(front, under, a)
        toy[2] = 0.1 * (1 - (2 * a - 1) ** 2)  # a little hop on the way
        lift = CUP_LIFT * (1 - span(s, CARRIED, STILL))
        world.backend.set_pose(TOY, self.revealed_toy(phase, toy), d.yaw)
        self.hand.carry(world, toy, s)
        for i, (name, off) in enumerate(zip(self.location_names(), offsets)):
            z = lift
            if phase in ("search", "reveal") and c.condition == "reshown" and i == target:
                z = CUP_LIFT * (smooth(t / 0.3) if phase == "search" else 1.0)
            elif phase == "reveal":
                z = CUP_LIFT * span(t / max(c.reveal_time, 1e-6), 0.0, REVEAL_MOVE)
            world.backend.set_pose(name, d.xyz(*off, z), 0.0)
