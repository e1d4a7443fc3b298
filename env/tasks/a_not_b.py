"""A-not-B (Piaget stage IV): K trials hidden at A, then one hidden at B in full view, delay D.

Design: one episode = ``n_a_trials`` A-trials followed by one B-trial, all with the same two (or more) cups and
the same start pose; each trial ends with its reveal (the infant sees the toy at A), then the caregiver puts the
infant back. A-trials are recorded (``info['privileged']['choices']``) but only the B-trial scores: success =
choosing B; a *perseverative error* = choosing A on the B-trial (``info['perseverative_error']``, public once the
episode is over). The control ``no_history`` runs the B-trial alone (A is still drawn, so the same error can be
counted without any A history). A and B are privileged (``info['privileged']['a_location'/'b_location']``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from env.tasks.base import PRIVILEGED, World
from env.tasks.cups import Cups, CupsConfig


@dataclass(frozen=True)
class ANotBConfig(CupsConfig):
    """Options of the A-not-B task."""

    condition: str = "hidden"
    """hidden (A-trials then the B-trial); no_history (control: the B-trial only)."""
    n_cups: int = 2
    """Number of identical cups; A and B are two different ones."""
    n_a_trials: int = 3
    """Number of A-trials before the B-trial."""
    delay: float = 2.0
    """Delay of every trial (Diamond 1985: the error appears from ~2 s at 7½ months)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_a_trials < 0:
            raise ValueError(f"n_a_trials={self.n_a_trials}: must be >= 0")


class ANotB(Cups):
    """A-not-B over cups; see the module docstring for the trial design and scoring."""

    name = "a_not_b"
    Config = ANotBConfig
    config: ANotBConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "no_history": "hidden"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"condition": "hidden"}, "no_history": {"condition": "no_history"},
    }

    def trial_targets(self, world: World) -> list[int | None]:
        n = self.config.n_cups
        a = int(world.rng.integers(n))
        b = (a + 1 + int(world.rng.integers(n - 1))) % n
        if self.config.target is not None:  # forced B (tests); A is then the next cup
            b = self.config.target
            a = (b + 1) % n
        self.a_location, self.b_location = a, b
        k = self.config.n_a_trials if self.config.condition == "hidden" else 0
        return [a] * k + [b]

    def n_trials(self) -> int:
        return self.config.n_a_trials + 1 if self.config.condition == "hidden" else 1

    def info(self, world: World) -> dict[str, Any]:
        out = super().info(world)
        b_choice = self.record.choices[-1] if self._done else None
        out["perseverative_error"] = bool(self._done and b_choice == self.a_location)
        out[PRIVILEGED].update({"a_location": self.a_location, "b_location": self.b_location})
        return out
