"""What a task is: a caregiver script, a reward and a success test, over a :class:`World` it may touch."""

from __future__ import annotations

import abc
import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from env.backends.base import Backend
from env.body import InfantBody
from scenes.spec import SceneSpec


class World:
    """The slice of the environment a task can see and move: named objects, the infant's pose, time."""

    def __init__(self, backend: Backend, body: InfantBody, scene: SceneSpec, rng: np.random.Generator,
                 fovy: float, aspect: float) -> None:
        self.backend = backend
        self.body = body
        self.scene = scene
        self.rng = rng
        self.fovy = fovy
        self.aspect = aspect
        self.frozen = False
        """Set by a task to hold the infant still (its actions are ignored)."""

    @property
    def time(self) -> float:
        """Simulated seconds since reset."""
        return self.backend.time

    def position(self, name: str) -> np.ndarray:
        """World position of object ``name``."""
        return self.backend.get_position(name)

    def distance_to(self, name: str) -> float:
        """Planar distance from the infant to object ``name``."""
        return self.body.bearing_to(self.position(name))[0]

    def in_view(self, name: str, margin: float = 1.0) -> bool:
        """Whether ``name``'s centre is inside the eye's field of view (scaled by ``margin``)."""
        p = self.position(name)
        eye = self.body.eye_position()
        dist, yaw_err = self.body.bearing_to(p)
        half_h = math.atan(math.tan(math.radians(self.fovy) / 2) * self.aspect)
        elev = math.atan2(p[2] + 0.05 - eye[2], max(dist, 1e-6)) - self.body.pose.pitch
        return abs(yaw_err) <= half_h * margin and abs(elev) <= math.radians(self.fovy) / 2 * margin

    def visible(self, name: str) -> bool:
        """In the field of view, with nothing opaque in between, and the lights on."""
        lights = getattr(self.backend, "lights_on", True)
        return lights and self.in_view(name) and self.backend.line_of_sight(self.body.eye_position(), name)


@dataclass(frozen=True)
class TaskConfig:
    """Options every task shares; subclasses add their own fields (each with a docstring)."""

    max_steps: int = 300
    """Episode length limit (truncation)."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TaskConfig:
        """Build from a dict; unknown keys are an error that names them and lists the valid ones."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown option(s) {sorted(unknown)} for {cls.__name__}; valid: {sorted(known)}")
        hints = typing.get_type_hints(cls)
        for name, value in values.items():
            _check_number(name, hints[name], value)
        if "max_steps" in values and values["max_steps"] < 1:
            raise ValueError(f"max_steps={values['max_steps']}: an episode needs at least 1 step")
        return cls(**values)


def _check_number(name: str, tp: Any, value: Any) -> None:
    """Numbers of a task config: integers whole, floats finite (a NaN reward would poison every return)."""
    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    kinds = set(typing.get_args(tp)) if union else {tp}
    if value is None and type(None) in kinds:
        return
    if int in kinds and float not in kinds:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}={value!r}: expected a whole number")
    elif float in kinds and (isinstance(value, bool) or not isinstance(value, (int, float))
                             or not math.isfinite(value)):
        raise ValueError(f"{name}={value!r}: expected a finite number")


class Task(abc.ABC):
    """One kind of episode. Hooks run in this order each step:
    ``before_physics`` (caregiver script) → physics → ``reward``/``success``/``terminated`` → ``info``."""

    name: ClassVar[str]
    """Short id, e.g. ``find_toy``."""
    Config: ClassVar[type[TaskConfig]] = TaskConfig

    def __init__(self, config: TaskConfig) -> None:
        self.config = config

    def build(self, scene: SceneSpec, rng: np.random.Generator) -> SceneSpec:
        """Add the task's own objects to a freshly generated home (before compile). Default: none."""
        return scene

    @abc.abstractmethod
    def reset(self, world: World) -> None:
        """Place objects and start the caregiver script for a new episode."""

    def before_physics(self, world: World) -> list[str]:
        """Advance the caregiver script; return the names of events that happened this step."""
        return []

    @abc.abstractmethod
    def reward(self, world: World) -> dict[str, float]:
        """Reward terms for this step (summed into the reward, reported in ``info``)."""

    @abc.abstractmethod
    def success(self, world: World) -> bool:
        """Whether the episode counts as solved."""

    def terminated(self, world: World) -> bool:
        """Whether the episode ends now (default: on success)."""
        return self.success(world)

    def info(self, world: World) -> dict[str, Any]:
        """Task diagnostics for ``info`` (target location, visibility, phase…)."""
        return {}
