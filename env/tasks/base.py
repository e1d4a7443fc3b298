"""What a task is: a caregiver script, a reward and a success test, over a :class:`World` it may touch.

Step order (``env.infant_env.InfantEnv.step``), and which hooks may change state:

1. the infant acts (unless ``world.frozen``);
2. ``Task.before_physics`` — may change state (e.g. push a free object);
3. physics advances ``control_dt``;
4. ``Task.after_physics`` — may change state: advances the caregiver script and the trial (phases, choices,
   lights, holding the infant) to the new time, and records this step's reward terms;
5. the eye is placed and the observation rendered;
6. ``Task.reward``, ``Task.success``, ``Task.terminated``, ``Task.info`` — pure reads: calling any of them again
   changes nothing.

``info`` is public; anything that tells where something is hidden goes in ``info[PRIVILEGED]`` (a dict), which
only the oracle and the evaluator's scoring may read (``tools.evaluate`` strips it with :func:`public_info`
before any other agent sees ``info``).
"""

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
from scenes.randomization import SceneRandomization
from scenes.spec import SceneSpec

PRIVILEGED = "privileged"
"""Key of the privileged block of ``info`` (where the toy is hidden and the like): for the oracle and scoring only."""


def public_info(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` without its privileged block: what an agent other than the oracle may see."""
    return {k: v for k, v in info.items() if k != PRIVILEGED}


def horizontal_half_fov(fovy_deg: float, aspect: float) -> float:
    """Half of the horizontal field of view (radians) of a camera with vertical ``fovy_deg`` and ``aspect``."""
    return math.atan(math.tan(math.radians(fovy_deg) / 2) * aspect)


@dataclass(frozen=True)
class TaskContext:
    """What a task may check its options against when the env is made (before any scene exists)."""

    speed: float
    """The stage's forward speed, m/s."""
    turn_rate: float
    """The stage's turning speed, rad/s."""
    fovy_min: float
    """Narrowest vertical field of view the randomization allows, degrees."""
    aspect: float
    """Image width / height."""
    control_dt: float
    """Simulated seconds per env step."""
    room_half_min: float
    """Smallest half extent a room can have, metres."""
    posture: str = ""
    """The developmental stage's (posture's) name, as the env's ``stage=`` option gives it (for error messages)."""


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

    @property
    def lights_on(self) -> bool:
        """Whether the lights are on (in the dark nothing is visible)."""
        return bool(getattr(self.backend, "lights_on", True))

    def in_view(self, name: str, margin: float = 1.0, elevation: bool = True) -> bool:
        """Whether ``name``'s centre is inside the eye's field of view (scaled by ``margin``). ``elevation=False``
        checks the horizontal angle only (an infant close to a cup would look down at it)."""
        p = self.position(name)
        if p[2] < -1.0:  # parked under the floor
            return False
        eye = self.body.eye_position()
        dist, yaw_err = self.body.bearing_to(p)
        if abs(yaw_err) > horizontal_half_fov(self.fovy, self.aspect) * margin:
            return False
        if not elevation:
            return True
        elev = math.atan2(p[2] + 0.05 - eye[2], max(dist, 1e-6)) - self.body.pose.pitch
        return abs(elev) <= math.radians(self.fovy) / 2 * margin

    def visible(self, name: str, elevation: bool = True) -> bool:
        """The one visibility test of the project: lights on, in the field of view (:meth:`in_view`), and nothing
        opaque between the eye and the object's centre (see-through shapes do not block)."""
        return self.lights_on and self.in_view(name, elevation=elevation) and \
            self.backend.line_of_sight(self.body.eye_position(), name)


@dataclass(frozen=True)
class TaskConfig:
    """Options every task shares; subclasses add their own fields (each with a docstring)."""

    max_steps: int | None = 300
    """Episode length limit (truncation); tasks that can derive it from their timing accept None."""

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
        if values.get("max_steps") is not None and values["max_steps"] < 1:  # None: the task's own limit
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
    """One kind of episode. Hooks run in the order of the module docstring: ``before_physics`` → physics →
    ``after_physics`` (both may change state) → ``reward``/``success``/``terminated``/``info`` (pure reads)."""

    name: ClassVar[str]
    """Short id, e.g. ``find_toy``."""
    Config: ClassVar[type[TaskConfig]] = TaskConfig

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        self.max_steps: int = config.max_steps if config.max_steps is not None else 300
        """Episode length limit the env truncates at (tasks may derive it in :meth:`validate`)."""

    def validate(self, context: TaskContext) -> None:
        """Check the options against the body and camera the env will have; raise ``ValueError`` naming the fix
        when the task could not be solved. Default: nothing to check."""

    def build(self, scene: SceneSpec, rng: np.random.Generator,
              randomization: SceneRandomization | None = None) -> SceneSpec:
        """Add the task's own objects to a freshly generated home (before compile), drawing any model-level
        randomization from ``rng`` within ``randomization``'s ranges. Default: none."""
        return scene

    @abc.abstractmethod
    def reset(self, world: World) -> None:
        """Place objects and start the caregiver script for a new episode."""

    def before_physics(self, world: World) -> list[str]:
        """Change state before physics (e.g. push a free body); return the names of events of this step."""
        return []

    def after_physics(self, world: World) -> list[str]:
        """Advance the task's state to the new time (script, trial, reward terms of this step); return events."""
        return []

    @abc.abstractmethod
    def reward(self, world: World) -> dict[str, float]:
        """Reward terms of this step (summed into the reward, reported in ``info``). A pure read."""

    @abc.abstractmethod
    def success(self, world: World) -> bool:
        """Whether the episode counts as solved."""

    def terminated(self, world: World) -> bool:
        """Whether the episode ends now (default: on success)."""
        return self.success(world)

    def info(self, world: World) -> dict[str, Any]:
        """Task diagnostics for ``info`` (phase, visibility…; where things are hidden only under
        :data:`PRIVILEGED`). A pure read."""
        return {}
