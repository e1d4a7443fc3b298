"""cups: a toy is put under one of N identical cups while the infant watches (PCTB 3-cup style)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from env.tasks.base import World
from env.tasks.permanence import TOY, PermanenceConfig, PermanenceTask, cup_objects, lerp, smooth, toy_object
from scenes.spec import Material, SceneObject

CUP_LIFT = 0.3
"""Height the caregiver holds the cups at while showing, metres."""


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
    """Distance between neighbouring cups, metres."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.n_cups <= 4:
            raise ValueError(f"n_cups={self.n_cups}: use 2..4 cups")


class Cups(PermanenceTask):
    """The caregiver holds N identical cups up, shows the toy in front of them, slides it under one cup and lowers
    all cups together; after the delay the infant chooses a cup by crawling to it.

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

    def location_offsets(self) -> list[tuple[float, float]]:
        c = self.config
        return [(c.cup_distance, (i - (c.n_cups - 1) / 2) * c.cup_spacing) for i in range(c.n_cups)]

    def location_names(self) -> list[str]:
        return [f"pb_cup_{i}" for i in range(self.config.n_cups)]

    def scene_objects(self) -> tuple[list[SceneObject], list[Material]]:
        cups, cup_mat = cup_objects(self.config.n_cups, transparent=self.config.condition == "transparent")
        toy, toy_mat = toy_object()
        return [*cups, toy], [cup_mat, toy_mat]

    def script(self, world: World, phase: str, t: float) -> None:
        offsets = self.location_offsets()
        st = self.stage
        front = st.xyz(self.config.cup_distance - 0.4, 0.0, 0.0)
        target = self.target
        if phase == "show":
            lift, toy = CUP_LIFT, front
        elif phase == "hide":
            s = self.hide_fraction(t)
            under = st.xyz(*offsets[target], 0.0) if target is not None else front
            toy = lerp(front, under, smooth(2 * s))
            toy[2] = 0.1 * (1 - (2 * smooth(2 * s) - 1) ** 2)  # a little hop on the way
            lift = CUP_LIFT * (1 - smooth(2 * s - 1))
        else:
            lift, toy = 0.0, None
        for i, (name, off) in enumerate(zip(self.location_names(), offsets)):
            z = lift
            if phase == "search" and self.config.condition == "reshown" and i == target:
                z = CUP_LIFT * smooth(t / 0.3)
            world.backend.set_pose(name, st.xyz(*off, z), 0.0)
        if toy is not None:
            world.backend.set_pose(TOY, toy, 0.0)
