"""Reference agents for the object-permanence battery, and a loader for trained checkpoints.

Every agent has ``reset(seed)`` (start of an episode) and ``act(obs, info) -> action`` (discrete actions of
:data:`env.body.DISCRETE_ACTIONS`). The scripted agents read the env's :class:`env.tasks.World`, each only as
named here:

- ``oracle``: during ``show``/``hide`` it reads (privileged) where the toy is whenever the toy is in sight,
  and where the choice objects are; it remembers the choice object nearest to where it last saw the toy and
  goes there in ``search``. It never reads hidden state after ``hide``.
- ``memoryless``: acts on the current frame only: the positions of the toy and of the choice objects that are
  visible right now (a stand-in for segmentation + depth of the current image). It goes to the toy if it sees
  it, else to the nearest choice object it sees, else turns.
- ``random``: at the start of each search it picks one of the choice objects it can see uniformly at random
  (its own generator, seeded per episode) and goes there: the chance-level reference.
- a path: a stable-baselines3 ``PPO`` or sb3-contrib ``RecurrentPPO`` checkpoint (``model.save(...)`` zip).
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from env.body import DISCRETE_ACTIONS
from env.tasks.permanence import TOY

NOOP, FORWARD, LEFT, RIGHT = (DISCRETE_ACTIONS.index(a) for a in ("noop", "forward", "turn_left", "turn_right"))
SCRIPTED = ("oracle", "memoryless", "random")
"""Names of the scripted reference agents."""


class Agent(Protocol):
    """What ``tools.evaluate`` drives."""

    name: str

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


class _Scripted:
    def __init__(self, env: gym.Env) -> None:
        self.env = env.unwrapped

    @property
    def world(self):
        return self.env.world

    def seen_now(self, names: list[str]) -> dict[str, np.ndarray]:
        """Planar positions of the objects among ``names`` in sight now: lights on, within the horizontal field
        of view, nothing opaque in between. Elevation is ignored: close to a cup the infant would look down."""
        w = self.world
        if not getattr(w.backend, "lights_on", True):
            return {}
        half = math.atan(math.tan(math.radians(w.fovy) / 2) * w.aspect)
        eye = w.body.eye_position()
        out = {}
        for n in names:
            q = w.position(n)
            if q[2] < -1.0:  # parked under the floor
                continue
            # choice objects stand on open floor (and see-through cups never block a ray): bearing suffices
            if abs(w.body.bearing_to(q)[1]) <= half and (n != TOY or w.backend.line_of_sight(eye, n)):
                out[n] = q[:2]
        return out

    def reset(self, seed: int) -> None:
        pass


class OracleAgent(_Scripted):
    """Remembers where it saw the toy go during show/hide (privileged positions, read only then)."""

    name = "oracle"

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
        self._rng = np.random.default_rng(seed)
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
        self._rng = np.random.default_rng(seed)
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


class PolicyAgent:
    """A trained stable-baselines3 policy (feed-forward ``PPO`` or recurrent ``RecurrentPPO``): greedy actions, or
    ``sampled`` from the policy as in training (its own generator seeded per episode, so reports repeat), stepped
    by :class:`agent.stepper.PolicyStepper`. It acts with one torch thread and leaves the process's torch threads
    and global generator as they were."""

    def __init__(self, path: str | Path, env: gym.Env, sampled: bool = False) -> None:
        from agent.process_state import global_generators_kept

        self.sampled = sampled
        with global_generators_kept():  # SB3's loader reseeds them
            self.model, self.recurrent = load_checkpoint(path)
        self.name = Path(path).name
        want, have = self.model.observation_space, env.observation_space
        self.stack = 1
        if not isinstance(want, gym.spaces.Dict):
            self.stack = _frames_stacked(tuple(want.shape), tuple(getattr(have, "shape", ()) or ()))
            if self.stack == 0:
                raise ValueError(f"checkpoint {path} expects observations of shape {want.shape} but the env gives "
                                 f"{have.shape}; pass --width/--height (and observations) the policy was trained "
                                 "with")

    def reset(self, seed: int) -> None:
        from agent.stepper import PolicyStepper

        self._step = PolicyStepper(self.model.policy, deterministic=not self.sampled,
                                   seed=seed if self.sampled else None, frame_stack=self.stack)
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


def load_checkpoint(path: str | Path):
    """Load an SB3 ``PPO`` / sb3-contrib ``RecurrentPPO`` zip; clear errors for missing or unreadable files."""
    p = Path(path)
    expected = "a stable-baselines3 PPO or sb3-contrib RecurrentPPO checkpoint (.zip written by model.save())"
    if not p.exists() and p.with_suffix(".zip").exists():
        p = p.with_suffix(".zip")
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist; expected {expected}")
    try:
        with zipfile.ZipFile(p) as z:
            data = json.loads(z.read("data"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise ValueError(f"checkpoint {str(p)!r} is not readable as {expected}: {exc}") from exc
    recurrent = "recurrent" in json.dumps(data.get("policy_class", "")).lower()
    try:
        if recurrent:
            from sb3_contrib import RecurrentPPO as Algo
        else:
            from stable_baselines3 import PPO as Algo
    except ImportError as exc:
        raise ImportError(f"loading {str(p)!r} needs {exc.name}: pip install stable-baselines3 sb3-contrib") from exc
    try:
        return Algo.load(p, device="cpu"), recurrent
    except Exception as exc:
        raise ValueError(f"checkpoint {str(p)!r} could not be loaded as {Algo.__name__} ({expected}): "
                         f"{type(exc).__name__}: {exc}") from exc


def make_agent(name: str, env: gym.Env, sampled: bool = False) -> Agent:
    """``oracle``, ``memoryless``, ``random`` or a checkpoint path (``sampled``: its actions drawn from the policy
    rather than greedy)."""
    scripted = {"oracle": OracleAgent, "memoryless": MemorylessAgent, "random": RandomAgent}
    if name in scripted:
        return scripted[name](env)
    if not (name.endswith(".zip") or Path(name).exists() or Path(name + ".zip").exists() or "/" in name):
        raise ValueError(f"unknown agent {name!r}: use one of {list(scripted)} or a path to a checkpoint .zip")
    return PolicyAgent(name, env, sampled)
