"""Shared machinery of the object-permanence battery.

Every battery task is a caregiver episode of one or more *trials*; each trial runs the phases
``show`` → ``hide`` → ``delay`` → ``search``:

- ``show``: the infant is held facing a display of identical choice objects (cups or screens) and the toy.
- ``hide``: the caregiver hides the toy (under a cup, behind a screen). The motion finishes at 70% of the
  phase so the first frame of ``delay`` already shows the final, hidden state.
- ``delay``: the infant is held still (``delay_mode="freeze"``), the lights go out (``"lights_out"``), the
  caregiver turns the infant away and back (``"turn_away"``), or it may move freely (``"free"``).
- ``search``: the infant moves; it *chooses* a location by coming within ``touch_distance`` of it. The trial
  ends at the first choice or when ``search_time`` runs out (no choice).

The infant is held still during ``show`` and ``hide``. The display is laid out in the infant's own frame
(forward, lateral) at a spot of the home with clear floor, found with the env's seeded generator only.
Conditions have a *kind*: ``hidden`` (memory needed), ``control`` (solvable from the current frame) and
``catch`` (nothing is hidden; success is not searching).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from env.body import BODY_RADIUS
from env.tasks.base import Task, TaskConfig, World
from scenes import objects
from scenes.spec import Material, SceneObject, SceneSpec

PHASES: tuple[str, ...] = ("show", "hide", "delay", "search")
"""Phases of every trial, in order."""
DELAY_MODES: tuple[str, ...] = ("freeze", "lights_out", "turn_away", "free")
"""What happens to the infant during the delay."""
CONDITION_KINDS: tuple[str, ...] = ("hidden", "control", "catch")
"""hidden: memory needed; control: solvable from the current frame; catch: nothing hidden."""
TOY = "pb_toy"
"""Scene name of the battery's toy (a small red ball)."""
TOY_RADIUS = 0.06
"""Radius of the toy ball, metres (fits under a cup, behind a screen)."""
PARK = np.array([0.0, 0.0, -3.0])
"""Where unused objects wait: under the floor, out of every view."""
HIDE_DONE = 0.7
"""Fraction of the hide phase by which the hiding motion is complete."""

_TOY_MAT = Material("pb_toy_red", (0.9, 0.1, 0.1, 1.0), specular=0.3, shininess=0.3)
_CUP_MAT = Material("pb_cup_blue", (0.2, 0.35, 0.85, 1.0))
_GLASS_MAT = Material("pb_cup_glass", (0.7, 0.85, 1.0, 0.25))
_SCREEN_MAT = Material("pb_screen_green", (0.25, 0.6, 0.3, 1.0))


@dataclass(frozen=True)
class PermanenceConfig(TaskConfig):
    """Options shared by every battery task (times are simulated seconds)."""

    condition: str = "hidden"
    """Which trial type to run; each task lists its conditions and their kinds in ``Task.conditions``."""
    show_time: float = 1.0
    """Duration of the show phase."""
    hide_time: float = 1.0
    """Duration of the hide phase."""
    delay: float = 0.0
    """Duration of the delay between hiding and search."""
    delay_mode: str = "freeze"
    """During the delay: freeze (held still), lights_out (dark, held still), turn_away (turned 180° and held,
    turned back at search) or free (may move; choices only count in search)."""
    search_time: float = 6.0
    """Time to choose before the trial ends without a choice."""
    touch_distance: float = 0.35
    """A location is chosen when the infant's centre comes this close to it (metres, planar)."""
    target: int | None = None
    """Force the hiding location (index; for tests). None: drawn from the env's generator each trial."""
    success_reward: float = 1.0
    """Reward for choosing the right location (or, in a catch trial, for not searching)."""
    wrong_penalty: float = 0.0
    """Cost of choosing a wrong location."""
    step_cost: float = 0.0
    """Cost per step of search."""
    approach_weight: float = 0.0
    """Shaping for learners: reward per metre closed on the *nearest* choice location during search
    (potential-based, and the same for every location, so it never tells where the toy is); 0 = off."""

    def __post_init__(self) -> None:
        if self.delay_mode not in DELAY_MODES:
            raise ValueError(f"delay_mode={self.delay_mode!r}: choose one of {DELAY_MODES}")
        for name in ("show_time", "hide_time", "delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 0 seconds")
        if self.search_time <= 0 or self.hide_time <= 0:
            raise ValueError("search_time and hide_time must be > 0 seconds")


@dataclass(frozen=True)
class Stage:
    """Where the display stands this episode: the infant's start pose; offsets are (forward, lateral)."""

    x: float
    y: float
    yaw: float

    def xy(self, forward: float, lateral: float) -> np.ndarray:
        """World (x, y) of a point ``forward`` metres ahead and ``lateral`` metres to the infant's left."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([self.x + c * forward - s * lateral, self.y + s * forward + c * lateral])

    def xyz(self, forward: float, lateral: float, z: float = 0.0) -> np.ndarray:
        """World (x, y, z) of a display point."""
        return np.array([*self.xy(forward, lateral), z])


def toy_object() -> tuple[SceneObject, Material]:
    """The battery's toy: a small red ball (a free body, so it can roll)."""
    return objects.ball(TOY, tuple(PARK), _TOY_MAT.name, radius=TOY_RADIUS), _TOY_MAT


def cup_objects(n: int, transparent: bool = False) -> tuple[list[SceneObject], Material]:
    """``n`` identical cups named ``pb_cup_<i>``; ``transparent`` ones show what is under them."""
    mat = _GLASS_MAT if transparent else _CUP_MAT
    return [objects.cup(f"pb_cup_{i}", tuple(PARK), mat.name) for i in range(n)], mat


def screen_objects(n: int, half_width: float = 0.17, height: float = 0.4) -> tuple[list[SceneObject], Material]:
    """``n`` identical screens named ``pb_screen_<i>``."""
    return [objects.screen(f"pb_screen_{i}", tuple(PARK), 0.0, _SCREEN_MAT.name, half_width, height)
            for i in range(n)], _SCREEN_MAT


def smooth(s: float) -> float:
    """Ease-in-out of a fraction, clipped to [0, 1]."""
    s = min(max(s, 0.0), 1.0)
    return s * s * (3 - 2 * s)


def lerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """Linear interpolation from ``a`` to ``b``."""
    return a + (b - a) * s


class PermanenceTask(Task):
    """Base of the battery tasks: phases, delay handling, choice detection, reward, success and ``info``.

    Subclasses declare ``conditions`` (name → kind), the display (``location_offsets``), their objects
    (``scene_objects``) and the caregiver script (``script``); multi-trial tasks override ``trial_targets``.
    Reward: ``success_reward`` for the right choice (a catch trial pays it when search ends without a choice),
    ``-wrong_penalty`` for a wrong one, ``-step_cost`` per search step, ``approach_weight`` × metres closed on
    the nearest choice location during search (symmetric shaping, off by default). Success: the last trial's
    choice is the target (catch: no choice). Terminates when the last trial's search ends.
    """

    Config = PermanenceConfig
    config: PermanenceConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden"}
    """Condition name → kind (one of :data:`CONDITION_KINDS`)."""
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {"hidden": {}}
    """What ``tools.evaluate`` runs: label → task options."""
    clearance: ClassVar[float] = 0.4
    """Clear floor needed around the display, metres."""

    def __init__(self, config: PermanenceConfig) -> None:
        super().__init__(config)
        if config.condition not in self.conditions:
            raise ValueError(f"unknown condition {config.condition!r} for task {self.name!r}; "
                             f"choose one of {sorted(self.conditions)}")
        n = len(self.location_offsets())
        if config.target is not None and not 0 <= config.target < n:
            raise ValueError(f"target={config.target}: use an index in 0..{n - 1} or None")

    # ------------------------------------------------------------ subclass API
    def location_offsets(self) -> list[tuple[float, float]]:
        """(forward, lateral) of each choice location in the infant's start frame."""
        raise NotImplementedError

    def location_names(self) -> list[str]:
        """Scene names of the choice objects, one per location."""
        raise NotImplementedError

    def scene_objects(self) -> tuple[list[SceneObject], list[Material]]:
        """The task's objects and their materials (added to the home before compile)."""
        raise NotImplementedError

    def script(self, world: World, phase: str, t: float) -> None:
        """Pose the task's objects for ``phase``, ``t`` seconds into it (runs before every physics step)."""
        raise NotImplementedError

    def start_trial(self, world: World) -> None:
        """Hook at the start of every trial (after the target is set). Default: nothing."""

    def trial_targets(self, world: World) -> list[int | None]:
        """Hiding location of each trial (None: nothing hidden). Default: one trial, random target."""
        return [self.draw_target(world)]

    # ----------------------------------------------------------------- helpers
    @property
    def kind(self) -> str:
        """hidden, control or catch (see :data:`CONDITION_KINDS`)."""
        return self.conditions[self.config.condition]

    @property
    def chance(self) -> float | None:
        """Success rate of choosing a location uniformly at random (None for catch trials)."""
        return None if self.kind == "catch" else 1.0 / len(self.location_offsets())

    def draw_target(self, world: World) -> int:
        """A hiding location drawn from the env's generator (always drawn, so a forced target changes nothing
        else in the episode)."""
        drawn = int(world.rng.integers(len(self.location_offsets())))
        return drawn if self.config.target is None else self.config.target

    def phase_at(self, t: float) -> tuple[str, float]:
        """The phase ``t`` seconds into the trial and the time spent in it."""
        c = self.config
        eps = 1e-6
        for name, length in (("show", c.show_time), ("hide", c.hide_time), ("delay", c.delay)):
            if t < length - eps:
                return name, t
            t -= length
        return "search", t

    def hide_fraction(self, t: float) -> float:
        """Progress of the hiding motion ``t`` seconds into the hide phase, eased, done at :data:`HIDE_DONE`."""
        return smooth(t / (HIDE_DONE * self.config.hide_time))

    @property
    def target(self) -> int | None:
        """Hiding location of the current trial."""
        return self._targets[self._trial]

    # ------------------------------------------------------------- Task hooks
    def build(self, scene: SceneSpec, rng: np.random.Generator) -> SceneSpec:
        """Add the task's objects, and reserve a fallback display spot in the first room: the infant 0.6 m behind
        the room's centre looking along its longer axis, with furniture in the display area removed."""
        room = scene.rooms[0]
        yaw = (0.0 if room.size[0] >= room.size[1] else math.pi / 2) + (math.pi if rng.random() < 0.5 else 0.0)
        yaw = (yaw + math.pi) % (2 * math.pi) - math.pi
        self._fallback = Stage(room.center[0] - 0.6 * math.cos(yaw), room.center[1] - 0.6 * math.sin(yaw), yaw)
        depth, half = self._extent()
        corners = np.array([self._fallback.xy(f, lat) for f in (-0.3, depth) for lat in (-half, half)])
        (x0, y0), (x1, y1) = corners.min(0), corners.max(0)
        keep = [o for o in scene.objects if o.category != "furniture" or not o.blocks_infant or
                (b := o.footprint())[2] < x0 or b[0] > x1 or b[3] < y0 or b[1] > y1]
        scene = dataclasses.replace(scene, objects=tuple(keep))
        objs, mats = self.scene_objects()
        return scene.with_objects(*objs, materials=tuple(mats))

    def _extent(self) -> tuple[float, float]:
        offsets = self.location_offsets()
        return (max(f for f, _ in offsets) + self.clearance, max(abs(lat) for _, lat in offsets) + self.clearance)

    def reset(self, world: World) -> None:
        self.stage = self._find_stage(world)
        self._targets = self.trial_targets(world)
        self._choices: list[int | None] = []
        self._trial = 0
        self._done = False
        self._terms: dict[str, float] = {}
        self._begin_trial(world)

    def _begin_trial(self, world: World) -> None:
        s = self.stage
        p = world.body.pose
        p.x, p.y, p.yaw, p.pitch = s.x, s.y, s.yaw, 0.0
        self._t0 = world.time
        self._phase = "show"
        self._chosen: int | None = None
        self._nearest: float | None = None
        world.frozen = True
        world.backend.set_lights(True)
        self.start_trial(world)
        self.script(world, "show", 0.0)

    def before_physics(self, world: World) -> list[str]:
        phase, t = self.phase_at(world.time - self._t0)
        events = []
        if phase != self._phase:
            events.append(f"phase:{phase}")
            self._enter(world, phase)
            self._phase = phase
        self.script(world, phase, t)
        return events

    def _enter(self, world: World, phase: str) -> None:
        mode = self.config.delay_mode
        if phase == "delay" and mode == "lights_out":
            world.backend.set_lights(False)
        elif phase == "delay" and mode == "turn_away":
            world.body.pose.yaw = (self.stage.yaw + 2 * math.pi) % (2 * math.pi) - math.pi
        elif phase == "search":
            world.backend.set_lights(True)
            if mode == "turn_away":
                world.body.pose.yaw = self.stage.yaw

    def reward(self, world: World) -> dict[str, float]:
        """Advance the trial after physics (choice, end of search, next trial) and return the reward terms."""
        c = self.config
        phase, t = self.phase_at(world.time - self._t0)
        terms = {"choice": 0.0, "step": 0.0, "approach": 0.0}
        if self._done:
            return terms
        if phase == "search":
            terms["step"] = -c.step_cost
            if c.approach_weight:
                terms["approach"] = c.approach_weight * self._approach_progress(world)
            self._chosen = self._detect_choice(world)
            timed_out = t >= c.search_time - 1e-6
            if self._chosen is not None or timed_out:
                right = self._chosen == self.target
                if self._chosen is not None or self.target is None:
                    terms["choice"] = c.success_reward if right else -c.wrong_penalty
                self._choices.append(self._chosen)
                if self._trial + 1 < len(self._targets):
                    self._trial += 1
                    self._begin_trial(world)
                    return terms
                self._done = True
        world.frozen = not (phase == "search" or (phase == "delay" and c.delay_mode == "free"))
        return terms

    def _approach_progress(self, world: World) -> float:
        """Metres closed on the nearest choice location since the last search step (0 on the first)."""
        p = world.body.pose
        d = min(math.hypot(q[0] - p.x, q[1] - p.y) for q in (world.position(n) for n in self.location_names()))
        progress = 0.0 if self._nearest is None else self._nearest - d
        self._nearest = d
        return progress

    def _detect_choice(self, world: World) -> int | None:
        p = world.body.pose
        best, best_d = None, self.config.touch_distance
        for i, name in enumerate(self.location_names()):
            q = world.position(name)
            d = math.hypot(q[0] - p.x, q[1] - p.y)
            if d <= best_d:
                best, best_d = i, d
        return best

    def success(self, world: World) -> bool:
        return self._done and self._choices[-1] == self._targets[-1]

    def terminated(self, world: World) -> bool:
        return self._done

    def info(self, world: World) -> dict[str, Any]:
        phase, _ = self.phase_at(world.time - self._t0)
        names = self.location_names()
        target = self.target
        chosen = self._choices[-1] if self._done else self._chosen
        spots = [self.stage.xy(f, lat).tolist() for f, lat in self.location_offsets()]
        return {
            "phase": "search" if self._done else phase,
            "condition": self.config.condition,
            "condition_kind": self.kind,
            "trial": self._trial,
            "n_trials": len(self._targets),
            "locations": names,
            "target_index": -1 if target is None else target,
            "target_location": None if target is None else spots[target],
            "chosen_index": -1 if chosen is None else chosen,
            "chosen_location": None if chosen is None else spots[chosen],
            "target_visible": bool(world.visible(TOY)) if world.position(TOY)[2] > -1.0 else False,
            "choices": [-1 if ch is None else ch for ch in self._choices],
            "delay": self.config.delay,
        }

    # --------------------------------------------------------------- placement
    def _find_stage(self, world: World, tries: int = 100) -> Stage:
        """A start pose with clear floor under the whole display, drawn from the env's generator.

        Home toys standing in the display area are tidied away (parked under the floor) for the episode.
        """
        depth, half = self._extent()
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
                stage = Stage(x, y, (yaw0 + k * math.pi / 4 + math.pi) % (2 * math.pi) - math.pi)
                if all(world.body.free(*(float(v) for v in stage.xy(f, lat)), 0.1) for f, lat in grid):
                    self._tidy(world, stage, depth, half)
                    return stage
        self._tidy(world, self._fallback, depth, half)  # reserved in build(): always clear
        return self._fallback

    def _tidy(self, world: World, stage: Stage, depth: float, half: float) -> None:
        c, s = math.cos(stage.yaw), math.sin(stage.yaw)
        for i, o in enumerate(world.scene.by_category("toy")):
            if o.name == TOY:
                continue
            q = world.position(o.name)
            dx, dy = q[0] - stage.x, q[1] - stage.y
            f, lat = c * dx + s * dy, -s * dx + c * dy
            if -0.5 <= f <= depth + 0.3 and abs(lat) <= half + 0.3:
                world.backend.set_pose(o.name, PARK + [2.0 * i, 0.0, 0.0])
