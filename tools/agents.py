"""Reference agents for the object-permanence battery, and a loader for trained checkpoints.

Every agent has ``reset(seed)`` (start of an episode) and ``act(obs, info) -> action`` (discrete actions of
:data:`env.body.DISCRETE_ACTIONS`), and ``privileged``: whether it may be given ``info["privileged"]`` (only the
oracle; ``tools.evaluate`` strips the block for every other agent). The scripted agents read the env's
:class:`env.tasks.World`, each only as named here, and see through its one visibility test
(:meth:`env.tasks.World.visible`: lights on, in the field of view, nothing opaque in between):

- ``oracle``: during ``show``/``hide`` it reads where the toy is whenever the toy is in sight, and where the
  choice objects are; it remembers the choice object nearest to where it last saw the toy and goes there in
  ``search``. It never reads hidden state after ``hide``.
- ``memoryless``: acts on the current frame only: the positions of the toy and of the choice objects that are
  visible right now (a stand-in for segmentation + depth of the current image). It goes to the toy if it sees
  it, else to the nearest choice object it sees, else turns.
- ``random``: at the start of each search it picks one of the choice objects it can see uniformly at random
  (its own generator, seeded per episode) and goes there: the chance-level reference.
- ``peeking``: never watches the hiding (it acts only in ``search``) and searches by *looking*: it looks around
  from where it starts, then tours vantage points just in front of the choice line (both ends of the display,
  its middle) and looks at the display from each; the moment it sees the toy it goes to the location nearest to it. When the time left only
  just suffices to reach a location, it picks one at random. The battery is valid if it stays at chance on every
  hidden condition, whatever the search time, while solving the visible controls.
- a path: a ``PPO`` / ``RecurrentPPO`` checkpoint of a run (``agent.checkpoint.save_model``; loaded without
  unpickling by ``agent.checkpoint.load_checkpoint``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np

from env.body import BODY_RADIUS, DISCRETE_ACTIONS
from env.tasks.props import TOY

NOOP, FORWARD, LEFT, RIGHT = (DISCRETE_ACTIONS.index(a) for a in ("noop", "forward", "turn_left", "turn_right"))
SCRIPTED = ("oracle", "memoryless", "random", "peeking")
"""Names of the scripted reference agents."""

MemoryChoice = float | None | Literal["model"]
"""A recurrent checkpoint's memory at evaluation (:mod:`agent.memory`): ``"model"`` as trained, ``None`` a perfect
memory, or a half-life in seconds."""


class Agent(Protocol):
    """What ``tools.evaluate`` drives."""

    name: str
    privileged: bool
    """Whether the agent may read ``info["privileged"]`` (the oracle only)."""

    def reset(self, seed: int) -> None:
        """Start of an episode."""

    def act(self, obs: Any, info: dict[str, Any]) -> Any:
        """The action for the current observation."""


def steer(pose: tuple[float, ...], goal: np.ndarray, tolerance: float = 0.15) -> int:
    """Discrete action that turns towards ``goal`` (x, y) and then crawls to it."""
    x, y, yaw = pose[0], pose[1], pose[2]
    err = (math.atan2(goal[1] - y, goal[0] - x) - yaw + math.pi) % (2 * math.pi) - math.pi
    if abs(err) > tolerance:
        return LEFT if err > 0 else RIGHT
    return FORWARD


def agent_rng(seed: int, name: str) -> np.random.Generator:
    """An agent's own generator for an episode: seeded by the episode's seed *and* the agent's name, so its draws
    are independent of the env's (which ``reset(seed)`` seeds with the same number)."""
    return np.random.default_rng([seed, *name.encode()])


class _Scripted:
    privileged = False

    def __init__(self, env: gym.Env) -> None:
        self.env = env.unwrapped

    @property
    def world(self):
        return self.env.world

    def seen_now(self, names: list[str]) -> dict[str, np.ndarray]:
        """Planar positions of the objects among ``names`` in sight now (``World.visible``, elevation ignored:
        close to a cup the infant would look down). Choice objects stand on open floor, so their bearing
        suffices; the toy also needs a clear line of sight."""
        w = self.world
        out = {}
        for n in names:
            seen = w.visible(n, elevation=False) if n == TOY else w.lights_on and w.in_view(n, elevation=False)
            if seen:
                out[n] = w.position(n)[:2]
        return out

    def reset(self, seed: int) -> None:
        pass


class OracleAgent(_Scripted):
    """Remembers where it saw the toy go during show/hide (positions read only then)."""

    name = "oracle"
    privileged = True

    def reset(self, seed: int) -> None:
        self._trial = -1

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        if info["trial"] != self._trial:
            self._trial, self._last_seen, self._spots = info["trial"], None, {}
        phase = info["phase"]
        if phase in ("show", "hide"):
            seen = self.seen_now([TOY])
            if TOY in seen:
                self._last_seen = seen[TOY]
                self._spots = {n: self.world.position(n)[:2] for n in info["locations"]}
            return NOOP
        if phase != "search" or self._last_seen is None:
            return NOOP  # nothing was hidden that it saw: no search
        goal = min(self._spots.values(), key=lambda q: float(np.hypot(*(q - self._last_seen))))
        return steer(info["infant_pose"], goal)


class MemorylessAgent(_Scripted):
    """Goes to the toy if visible now, else to the nearest choice object visible now, else turns.

    Choice objects at the same distance (within 2 cm; e.g. two screens symmetric about the midline) are ranked by
    a preference drawn at random each episode, so a tie is a fair coin and not a float-rounding artefact of the
    layout; the preference is fixed for the episode, so the agent does not dither between them.
    """

    name = "memoryless"

    def reset(self, seed: int) -> None:
        self._rng = agent_rng(seed, self.name)
        self._rank: dict[str, float] = {}

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        if info["phase"] != "search":
            return NOOP
        if not self._rank:
            self._rank = {n: float(r) for n, r in zip(info["locations"], self._rng.permutation(len(info["locations"])))}
        seen = self.seen_now([TOY, *info["locations"]])
        pose = info["infant_pose"]
        if TOY in seen:
            return steer(pose, seen[TOY])
        names = [n for n in info["locations"] if n in seen]
        if not names:
            return LEFT
        dist = {n: float(np.hypot(seen[n][0] - pose[0], seen[n][1] - pose[1])) for n in names}
        goal = min(names, key=lambda n: (round(dist[n] / 0.02), self._rank.get(n, 0.0)))
        return steer(pose, seen[goal])


class RandomAgent(_Scripted):
    """Picks a visible choice object uniformly at random at the start of each search and goes there."""

    name = "random"

    def reset(self, seed: int) -> None:
        self._rng = agent_rng(seed, self.name)
        self._key: tuple[int, str] | None = None
        self._goal: np.ndarray | None = None

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        if info["phase"] != "search":
            return NOOP
        key = (info["trial"], "search")
        if key != self._key:
            seen = self.seen_now(list(info["locations"]))
            names = [n for n in info["locations"] if n in seen]
            self._key = key
            self._goal = seen[names[int(self._rng.integers(len(names)))]] if names else None
        if self._goal is None:
            return LEFT
        return steer(info["infant_pose"], self._goal)


class PeekingAgent(_Scripted):
    """Never watches the hiding; searches by looking from vantage points; see the module docstring."""

    name = "peeking"

    def reset(self, seed: int) -> None:
        self._rng = agent_rng(seed, self.name)
        self._trial = -1

    def _start(self, info: dict[str, Any]) -> None:
        """Lay out the tour from what it sees at the start of search: the choice objects in view."""
        w = self.world
        self._trial, self._steps, self._goal = info["trial"], 0, None
        self._spots = self.seen_now(list(info["locations"])) or {n: w.position(n)[:2] for n in info["locations"]}
        pts = np.array(list(self._spots.values()))
        pose = info["infant_pose"]
        centre = pts.mean(axis=0)
        if len(pts) > 1:
            lateral = pts[-1] - pts[0]
            lateral = lateral / np.linalg.norm(lateral)
            forward = np.array([lateral[1], -lateral[0]])
            if float(np.dot(forward, centre - np.array(pose[:2]))) < 0:
                forward = -forward
        else:
            forward = centre - np.array(pose[:2])
            forward = forward / np.linalg.norm(forward)
            lateral = np.array([-forward[1], forward[0]])
        self._centre, self._forward = centre, forward
        task = self.env.task
        half = max(abs(float(np.dot(p - centre, lateral))) for p in pts) + 0.25
        back = task.config.touch_distance + 0.12  # just in front of the choice line
        sides = [-1.0, 1.0] if self._rng.random() < 0.5 else [1.0, -1.0]
        offsets = [sides[0] * (half + 0.35), sides[1] * (half + 0.35), sides[0] * half / 2, sides[1] * half / 2, 0.0]
        self._tour = [centre - back * forward + o * lateral for o in offsets]
        self._tour = [np.array(pose[:2])] + [p for p in self._tour if w.body.free(float(p[0]), float(p[1]), BODY_RADIUS)]
        self._looks: list[np.ndarray] = []
        self._leg_steps = 0
        self._dt = self.env.config.control_dt
        self._search_time = task.config.search_time

    def _time_to(self, pose: tuple[float, ...], goal: np.ndarray) -> float:
        """Seconds to turn towards ``goal`` and crawl to it."""
        stage = self.world.body.posture
        err = (math.atan2(goal[1] - pose[1], goal[0] - pose[0]) - pose[2] + math.pi) % (2 * math.pi) - math.pi
        return float(np.hypot(goal[0] - pose[0], goal[1] - pose[1])) / stage.speed + abs(err) / stage.turn_rate

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        if info["phase"] != "search":
            return NOOP
        if info["trial"] != self._trial:
            self._start(info)
        self._steps += 1
        pose = info["infant_pose"]
        if self._goal is None:
            seen = self.seen_now([TOY])
            left = self._search_time - self._steps * self._dt
            if TOY in seen:
                self._goal = min(self._spots.values(), key=lambda q: float(np.hypot(*(q - seen[TOY]))))
            elif not self._tour or left < max(self._time_to(pose, q) for q in self._spots.values()) + 0.6:
                names = sorted(self._spots)
                self._goal = self._spots[names[int(self._rng.integers(len(names)))]]
        if self._goal is not None:
            return steer(pose, self._goal)
        return self._look_around(pose)

    def _look_around(self, pose: tuple[float, ...]) -> int:
        """Go to the next vantage point, then look at the display's middle and both ends from it."""
        here = self._tour[0]
        self._leg_steps += 1
        far = float(np.hypot(here[0] - pose[0], here[1] - pose[1])) > 0.06
        if far and self._leg_steps < 200:
            return steer(pose, here, tolerance=0.1)
        if not self._looks:
            spots = list(self._spots.values())
            self._looks = [self._centre, spots[0], spots[-1], self._centre + 0.4 * self._forward]
        goal = self._looks[0]
        err = (math.atan2(goal[1] - pose[1], goal[0] - pose[0]) - pose[2] + math.pi) % (2 * math.pi) - math.pi
        if abs(err) <= 0.1:
            self._looks.pop(0)
            if not self._looks:
                self._tour.pop(0)
                self._leg_steps = 0
            return NOOP
        return LEFT if err > 0 else RIGHT


class PolicyAgent:
    """A trained stable-baselines3 policy (feed-forward ``PPO`` or recurrent ``RecurrentPPO``): greedy actions, or
    ``sampled`` from the policy as in training (its own generator seeded per episode, so reports repeat), stepped
    by :class:`agent.stepper.PolicyStepper`. It acts with one torch thread and leaves the process's torch threads
    and global generator as they were."""

    privileged = False

    def __init__(self, path: str | Path, env: gym.Env, sampled: bool = False, trust_pickle: bool = False,
                 memory: MemoryChoice = "model") -> None:
        from agent.memory import lapse_probability
        from agent.process_state import global_generators_kept

        self.sampled = sampled
        with global_generators_kept():  # the loader's model setup reseeds them
            self.model, self.recurrent = load_checkpoint(path, trust_pickle)
        half = getattr(self.model, "memory_half_life_s", None) if memory == "model" else memory
        # lapses are drawn per step of the env's own clock (agent.memory)
        self.lapse = lapse_probability(half, env.unwrapped.config.control_dt) if self.recurrent else 0.0
        self.name = Path(path).name
        want, have = self.model.observation_space, env.observation_space
        self.stack = 1
        if not isinstance(want, gym.spaces.Dict):
            self.stack = _frames_stacked(tuple(want.shape), tuple(getattr(have, "shape", ()) or ()))
            if self.stack == 0:
                raise ValueError(f"checkpoint {path} expects observations of shape {want.shape} but the env gives "
                                 f"{have.shape}; pass --checkpoint-options (its stage.json's resolution) or the "
                                 "--width/--height it was trained with")

    def reset(self, seed: int) -> None:
        from agent.stepper import PolicyStepper

        self._step = PolicyStepper(self.model.policy, deterministic=not self.sampled,
                                   seed=seed if self.sampled else None, frame_stack=self.stack,
                                   lapse=self.lapse, lapse_seed=seed)  # the same lapses, greedy or sampled
        self._start = np.ones((1,), dtype=bool)

    def act(self, obs: Any, info: dict[str, Any]) -> Any:
        from agent.process_state import torch_threads

        # one observation at a time: extra threads only spin (and slow whatever else runs on the machine)
        with torch_threads(1):
            action = self._step(obs, self._start).actions[0]
        self._start = np.zeros((1,), dtype=bool)
        return int(action) if np.ndim(action) == 0 else action


def _frames_stacked(want: tuple[int, ...], have: tuple[int, ...]) -> int:
    """How many env frames a policy input of shape ``want`` stacks (SB3 trains on channel-first images: it
    transposes HWC observations itself); 0 when the shapes cannot match."""
    if len(want) != 3 or len(have) != 3:
        return 1 if want == have else 0
    h, w, c = have
    for wc, wh, ww in (want, (want[2], want[0], want[1])):  # channel-first, or as the env gives them
        if (wh, ww) == (h, w) and wc % c == 0:
            return wc // c
    return 0


def load_checkpoint(path: str | Path, trust_pickle: bool = False):
    """A PPO / RecurrentPPO checkpoint via :func:`agent.checkpoint.load_checkpoint` (never unpickles unless
    ``trust_pickle``) and whether it is recurrent; a bad file is a ValueError naming it."""
    from agent.checkpoint import CheckpointError, checkpoint_path
    from agent.checkpoint import load_checkpoint as load

    p = checkpoint_path(path)
    try:
        model = load(p, trust_pickle=trust_pickle)
    except CheckpointError as exc:
        raise ValueError(str(exc)) from None
    return model, hasattr(model.policy, "lstm_hidden_state_shape")


def make_agent(name: str, env: gym.Env, sampled: bool = False, trust_pickle: bool = False,
               memory: MemoryChoice = "model") -> Agent:
    """``oracle``, ``memoryless``, ``random``, ``peeking`` or a checkpoint path (``sampled``: its actions drawn from
    the policy rather than greedy; ``trust_pickle``: load it with SB3's unpickling loader; ``memory``: a recurrent
    checkpoint's memory half-life, see :data:`MemoryChoice`)."""
    scripted = {"oracle": OracleAgent, "memoryless": MemorylessAgent, "random": RandomAgent, "peeking": PeekingAgent}
    if name in scripted:
        return scripted[name](env)
    if not (name.endswith(".zip") or Path(name).exists() or Path(name + ".zip").exists() or "/" in name):
        raise ValueError(f"unknown agent {name!r}: use one of {list(scripted)} or a path to a checkpoint .zip")
    return PolicyAgent(name, env, sampled, trust_pickle, memory)
