"""Shared machinery of the object-permanence battery.

Every battery task is a caregiver episode of one or more *trials*; each trial runs the phases
``show`` → ``hide`` → ``delay`` → ``search`` → ``reveal`` (:mod:`env.tasks.trial`):

- ``show``: the infant is held facing a display of identical choice objects (cups or screens); the caregiver's
  hand holds the toy (one of a small set: ball, duck, block, ring; kind, colour and size drawn per layout within
  the ``battery_toy_*`` randomization ranges).
- ``hide``: the hand hides the toy (under a cup, behind a screen) and goes back to rest; from
  :data:`env.tasks.caregiver.STILL` of the phase on nothing moves, so the first frame of ``delay`` already shows
  the final, hidden state, and every later frame is the same whichever place hides the toy. The toy is
  kinematic: nothing can move it until the reveal.
- ``delay``: the infant is held still (``delay_mode="freeze"``), the lights go out (``"lights_out"``: every
  observation is dark), the infant is turned away and back (``"turn_away"``), or it may move (``"free"``;
  crossing the choice line then is a false start: the trial ends without a choice). The first ``search`` frame
  is lit and faces the display.
- ``search``: the infant moves; it *chooses* by crossing a line ``touch_distance`` in front of the row of choice
  objects, anywhere along it (:class:`env.tasks.display.ChoiceLine`); the choice is the location it is heading
  for. Screens meet and have wings, and cups are closed, so no place in front of the line shows where the toy is:
  a hidden condition needs memory however the infant searches. Search ends at the choice or after
  ``search_time``.
- ``reveal``: the infant is held; the caregiver lifts the cups / screens so it sees where the toy was. The reward
  was already given when the search ended: the reveal changes neither reward nor success. The episode ends when
  the last trial's reveal ends.

Conditions have a *kind*: ``hidden`` (memory needed), ``control`` (solvable from the current frame) and
``catch`` (nothing is hidden; success is not searching). Options that would make a task unsolvable (a location
outside the field of view, a search too short for the stage's speed, an episode limit shorter than the trials)
are errors when the env is made; ``max_steps`` is derived from the phase times unless given.

Hooks (see :mod:`env.tasks.base`): ``after_physics`` advances the script and the trial and records the step's
reward terms; ``reward``, ``success``, ``terminated`` and ``info`` only read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from env.body import BODY_RADIUS
from env.tasks.base import PRIVILEGED, Task, TaskConfig, TaskContext, World
from env.tasks.caregiver import Hand
from env.tasks.checks import check_display
from env.tasks.display import PARK, ChoiceLine, fallback_display, find_display
from env.tasks.props import TOY, ToyChoice, draw_toy, hand_objects, toy_objects
from env.tasks.trial import PHASES, Approach, PhaseClock, TrialRecord
from scenes.randomization import SceneRandomization
from scenes.spec import Material, SceneObject, SceneSpec

DELAY_MODES: tuple[str, ...] = ("freeze", "lights_out", "turn_away", "free")
"""What happens to the infant during the delay."""
REVEAL_VIEWS: tuple[str, ...] = ("stay", "display")
"""Where the infant watches the reveal from (``PermanenceConfig.reveal_view``)."""
CONDITION_KINDS: tuple[str, ...] = ("hidden", "control", "catch")
"""hidden: memory needed; control: solvable from the current frame; catch: nothing hidden."""
VIOLATIONS: tuple[str, ...] = ("none", "vanish", "swap", "pass_through")
"""Impossible events for violation-of-expectation probes (``violation=``): none (the task as it is); vanish (the toy
is gone when its screen / cup is lifted at the reveal); swap (it is revealed at the next location instead); and,
for the occluder only, pass_through (the hand slides the toy through the solid screen instead of over it)."""

__all__ = ["CONDITION_KINDS", "DELAY_MODES", "PARK", "PHASES", "TOY", "VIOLATIONS", "PermanenceConfig",
           "PermanenceTask"]


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
    turned back at search) or free (may move; crossing the choice line is a false start)."""
    search_time: float = 6.0
    """Time to choose before the trial ends without a choice."""
    reveal_time: float = 1.0
    """Duration of the reveal after each search (the caregiver lifts the cups / screens)."""
    reveal_view: str = "stay"
    """Where the infant watches the reveal from: ``stay`` (where its search ended) or ``display`` (put back at
    its start pose, facing the display: it always sees where the toy was, so the label of the reveal-prediction
    loss, :mod:`env.reveal`, never depends on its own choice). The reveal comes after the reward."""
    touch_distance: float = 0.35
    """The choice line lies this far in front of the row of choice objects (metres)."""
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
    max_steps: int | None = None
    """Episode length limit (truncation); None: derived from the phase times (every trial fits)."""
    violation: str = "none"
    """Violation-of-expectation probes only (``tools.voe``): an impossible event the caregiver stages at the
    critical moment, see :data:`VIOLATIONS`. Every frame before it is the same as with ``none`` (same seed)."""

    def __post_init__(self) -> None:
        if self.reveal_view not in REVEAL_VIEWS:
            raise ValueError(f"reveal_view={self.reveal_view!r}: choose one of {REVEAL_VIEWS}")
        if self.delay_mode not in DELAY_MODES:
            raise ValueError(f"delay_mode={self.delay_mode!r}: choose one of {DELAY_MODES}")
        if self.violation not in VIOLATIONS:
            raise ValueError(f"violation={self.violation!r}: choose one of {VIOLATIONS}")
        for name in ("show_time", "hide_time", "delay", "reveal_time"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 0 seconds")
        if self.search_time <= 0 or self.hide_time <= 0:
            raise ValueError("search_time and hide_time must be > 0 seconds")
        if self.touch_distance <= BODY_RADIUS:
            raise ValueError(f"touch_distance={self.touch_distance}: must exceed the body radius {BODY_RADIUS} m")


class PermanenceTask(Task):
    """Base of the battery tasks: trials, delay handling, the choice line, reward, success and ``info``.

    Subclasses declare ``conditions`` (name → kind), the display (``row``, ``location_offsets``), their objects
    (``display_objects``) and the caregiver script (``script``); multi-trial tasks override ``trial_targets`` and
    ``n_trials``. Reward: ``success_reward`` for the right choice (a catch trial pays it when search ends without
    a choice), ``-wrong_penalty`` for a wrong one, ``-step_cost`` per search step, ``approach_weight`` × metres
    closed on the nearest choice location during search (symmetric shaping, off by default), all on the step the
    search ends (or runs). Success: the last trial's choice is the target (catch: no choice). Terminates when the
    last trial's reveal ends.
    """

    Config = PermanenceConfig
    config: PermanenceConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden"}
    """Condition name → kind (one of :data:`CONDITION_KINDS`)."""
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {"hidden": {}}
    """What ``tools.evaluate`` runs: label → task options."""
    clearance: ClassVar[float] = 0.45
    """Clear floor needed around the display (beyond its locations), metres."""
    min_spacing: ClassVar[float] = 0.2
    """Smallest distance between neighbouring locations, metres."""
    spacing_option: ClassVar[str] = "spacing"
    """Name of the option that sets the spacing (for error messages)."""
    distance_option: ClassVar[str] = "distance"
    """Name of the option that sets the row's distance (for error messages)."""
    violations: ClassVar[tuple[str, ...]] = ()
    """The impossible events (:data:`VIOLATIONS`) this task can stage; none by default."""

    def __init__(self, config: PermanenceConfig) -> None:
        super().__init__(config)
        if config.condition not in self.conditions:
            raise ValueError(f"unknown condition {config.condition!r} for task {self.name!r}; "
                             f"choose one of {sorted(self.conditions)}")
        n = len(self.location_offsets())
        if config.target is not None and not 0 <= config.target < n:
            raise ValueError(f"target={config.target}: use an index in 0..{n - 1} or None")
        if config.violation != "none":
            if config.violation not in self.violations:
                raise ValueError(f"{self.name} cannot stage violation={config.violation!r}; it stages "
                                 f"{list(self.violations) or 'none'}")
            if self.kind != "hidden" or (config.violation == "swap" and n < 2):
                raise ValueError(f"violation={config.violation!r} needs a hidden condition and, for swap, two "
                                 "or more locations")
        self.line = ChoiceLine(self.row, config.touch_distance, tuple(lat for _, lat in self.location_offsets()))

    # ------------------------------------------------------------ subclass API
    @property
    def row(self) -> float:
        """Forward distance of the row of choice objects."""
        return max(f for f, _ in self.location_offsets())

    def location_offsets(self) -> list[tuple[float, float]]:
        """(forward, lateral) of each choice location in the infant's start frame."""
        raise NotImplementedError

    def location_names(self) -> list[str]:
        """Scene names of the choice objects, one per location."""
        raise NotImplementedError

    def display_objects(self) -> tuple[list[SceneObject], list[Material]]:
        """The display's objects (cups, screens...) and their materials; the toy and hand are added by the base."""
        raise NotImplementedError

    def script(self, world: World, phase: str, t: float) -> None:
        """Pose the task's objects (hand included) for ``phase``, ``t`` seconds into it."""
        raise NotImplementedError

    def start_trial(self, world: World) -> None:
        """Hook at the start of every trial (after the target is set). Default: nothing."""

    def trial_targets(self, world: World) -> list[int | None]:
        """Hiding location of each trial (None: nothing hidden). Default: one trial, random target."""
        return [self.draw_target(world)]

    def n_trials(self) -> int:
        """Number of trials per episode (for the episode limit)."""
        return 1

    def fix_hint(self) -> str:
        """How to bring every location into view (for error messages)."""
        return f"reduce {self.spacing_option} or increase {self.distance_option}"

    # ----------------------------------------------------------------- helpers
    @property
    def kind(self) -> str:
        """hidden, control or catch (see :data:`CONDITION_KINDS`)."""
        return self.conditions[self.config.condition]

    @property
    def chance(self) -> float | None:
        """Success rate of choosing a location uniformly at random (None for catch trials)."""
        return None if self.kind == "catch" else 1.0 / len(self.location_offsets())

    @property
    def target(self) -> int | None:
        """Hiding location of the current trial."""
        return self.record.target

    @property
    def phase(self) -> str:
        """The current phase (``reveal`` once the episode is over)."""
        return "reveal" if self.clock.phase == "over" else self.clock.phase

    def draw_target(self, world: World) -> int:
        """A hiding location drawn from the env's generator (always drawn, so a forced target changes nothing
        else in the episode)."""
        drawn = int(world.rng.integers(len(self.location_offsets())))
        return drawn if self.config.target is None else self.config.target

    def revealed_toy(self, phase: str, toy: np.ndarray) -> np.ndarray:
        """Where the toy really is during ``phase`` when the script puts it at ``toy``: the same, unless a
        ``vanish`` / ``swap`` violation moves it at the reveal (unseen: it is hidden until the lift starts)."""
        v = self.config.violation
        if phase != "reveal" or v not in ("vanish", "swap") or self.target is None:
            return toy
        if v == "vanish":
            return PARK.copy()
        offsets, d = self.location_offsets(), self.display
        other = (self.target + 1) % len(offsets)
        return toy + d.xyz(*offsets[other], 0.0) - d.xyz(*offsets[self.target], 0.0)

    def extent(self) -> tuple[float, float]:
        """(depth ahead, half width) of the floor the display needs clear, metres."""
        offsets = self.location_offsets()
        return (max(f for f, _ in offsets) + self.clearance, max(abs(lat) for _, lat in offsets) + self.clearance)

    # ------------------------------------------------------------- validation
    def validate(self, context: TaskContext) -> None:
        """Every location in view, apart, reachable in time at the stage's speed, inside the smallest room, and
        every trial inside the episode limit (:func:`env.tasks.checks.check_display`); ``max_steps`` derived
        unless given."""
        self.max_steps = check_display(self, context)

    # ------------------------------------------------------------- Task hooks
    def build(self, scene: SceneSpec, rng: np.random.Generator,
              randomization: SceneRandomization | None = None) -> SceneSpec:
        """Add the display, the toy (drawn from the toy set) and the caregiver's hand; reserve a fallback display
        spot in the first room (see :func:`env.tasks.display.fallback_display`)."""
        depth, half = self.extent()
        self._fallback, scene = fallback_display(scene, rng, depth, half)
        toy: ToyChoice = draw_toy(rng, randomization)
        objs, mats = self.display_objects()
        toy_objs, toy_mats = toy_objects(toy)
        hand_objs, hand_mats = hand_objects()
        self._toy_height = toy_objs[0].height()
        self.toy = toy
        return scene.with_objects(*objs, *toy_objs, *hand_objs, materials=tuple(mats + toy_mats + hand_mats))

    def reset(self, world: World) -> None:
        depth, half = self.extent()
        self.display = find_display(world, depth, half, self._fallback, skip=TOY)
        self.hand = Hand(self.display, self.row, self._toy_height)
        self.record = TrialRecord(self.trial_targets(world))
        c = self.config
        self.clock = PhaseClock(c.show_time, c.hide_time, c.delay, c.search_time, c.reveal_time)
        self._done = False
        self._terms = {"choice": 0.0, "step": 0.0, "approach": 0.0}
        self._begin_trial(world)

    def _begin_trial(self, world: World) -> None:
        self._face_display(world)
        self.clock.begin(world.time)
        self._approach = Approach()
        world.frozen = True
        world.backend.set_lights(True)
        self.start_trial(world)
        self.script(world, "show", 0.0)

    def _face_display(self, world: World) -> None:
        """The infant at its start pose: in front of the display, facing it."""
        d, p = self.display, world.body.pose
        p.x, p.y, p.yaw, p.pitch = d.x, d.y, d.yaw, 0.0

    def after_physics(self, world: World) -> list[str]:
        """Advance the trial to the new time: the choice (if the infant crossed the line), the phase changes and
        what they do (lights, turning, holding), the next trial, the script; record this step's reward terms."""
        c = self.config
        self._terms = terms = {"choice": 0.0, "step": 0.0, "approach": 0.0}
        if self._done:
            return []
        events: list[str] = []
        now = world.time
        before = self.clock.phase
        if before == "search":
            terms["step"] = -c.step_cost
            if c.approach_weight:
                p = world.body.pose
                spots = [world.position(n) for n in self.location_names()]
                terms["approach"] = c.approach_weight * self._approach.progress(
                    min(math.hypot(q[0] - p.x, q[1] - p.y) for q in spots))
        if before == "search" or (before == "delay" and c.delay_mode == "free"):
            p = world.body.pose
            if self.line.crossed(self.display, p.x, p.y):
                choice = self.line.choice(self.display, p.x, p.y, p.yaw) if before == "search" else None
                events += ["choice" if choice is not None else "false_start", "phase:reveal"]
                self._end_search(choice)
                self.clock.end_search(now)
                self._enter(world, "reveal")
        for phase in self.clock.advance(now):
            if phase == "reveal" and not self.record.searched:  # the search ran out
                self._end_search(None)
            if phase == "over":
                if self.record.last:
                    self._done = True
                    world.frozen = True
                    return [*events, "end"]
                self.record.trial += 1
                self._begin_trial(world)
                return [*events, "phase:show"]
            events.append(f"phase:{phase}")
            self._enter(world, phase)
        self.script(world, self.clock.phase, self.clock.elapsed(now))
        world.frozen = not (self.clock.phase == "search" or (self.clock.phase == "delay" and c.delay_mode == "free"))
        return events

    def _end_search(self, choice: int | None) -> None:
        c = self.config
        self.record.choices.append(choice)
        if choice is not None or self.target is None:
            self._terms["choice"] = c.success_reward if choice == self.target else -c.wrong_penalty

    def _enter(self, world: World, phase: str) -> None:
        mode = self.config.delay_mode
        if phase == "delay" and mode == "lights_out":
            world.backend.set_lights(False)
        elif phase == "delay" and mode == "turn_away":
            world.body.pose.yaw = (self.display.yaw + 2 * math.pi) % (2 * math.pi) - math.pi
        elif phase in ("search", "reveal"):
            world.backend.set_lights(True)
            world.body.pose.yaw = self.display.yaw if mode == "turn_away" else world.body.pose.yaw
        if phase == "reveal" and self.config.reveal_view == "display":
            self._face_display(world)

    def reward(self, world: World) -> dict[str, float]:
        """The reward terms :meth:`after_physics` recorded for this step."""
        return dict(self._terms)

    def success(self, world: World) -> bool:
        return self.record.success

    def terminated(self, world: World) -> bool:
        return self._done

    def info(self, world: World) -> dict[str, Any]:
        """Public diagnostics, and under ``privileged`` where the toy is hidden (oracle and scoring only)."""
        r = self.record
        chosen = r.choices[-1] if self._done else r.chosen
        spots = [self.display.xy(f, lat).tolist() for f, lat in self.location_offsets()]
        target = r.target
        return {
            "phase": self.phase,
            "condition": self.config.condition,
            "condition_kind": self.kind,
            "trial": r.trial,
            "n_trials": len(r.targets),
            "locations": self.location_names(),
            "chosen_index": -1 if chosen is None else chosen,
            "chosen_location": None if chosen is None else spots[chosen],
            "target_visible": bool(world.visible(TOY)),
            "delay": self.config.delay,
            PRIVILEGED: {
                "target_index": -1 if target is None else target,
                "target_location": None if target is None else spots[target],
                "choices": [-1 if ch is None else ch for ch in r.choices],
            },
        }
