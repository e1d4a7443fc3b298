"""The infant environment: a procedural home, a developmental body and eye, and a task.

## Description
An infant explores a procedurally generated home from a low viewpoint. Its eye height, field of view and speed
come from a developmental stage; its image is blurred to the acuity of its age. A task (see ``env.tasks``)
runs a caregiver script and gives rewards.

## Action Space
``discrete`` (default): ``Discrete(6)`` = noop, forward, turn left, turn right, look up, look down.
``continuous``: ``Box(-1, 1, (3,))`` = forward speed, turn rate, head tilt rate, as fractions of the posture's.

## Observation Space
``Box(0, 255, (H, W, 3), uint8)`` RGB by default; with ``observations=("rgb", "depth", ...)`` a ``Dict`` of
rgb (uint8 H×W×3), depth (float32 H×W×1, metres), segmentation (int32 H×W×1, object ids).

In the dark (a task switched the lights off, e.g. ``delay_mode="lights_out"``) nothing is seen: rgb is black (0),
depth is 0 (no reading) and segmentation is 0 (nothing). With ``render_observations=False`` every observation is
all zeros and nothing is rendered (for scripted agents that read geometry, not pixels: calibration runs).

## Rewards / Episode End
Defined by the task: see the task class docstring. ``info`` carries ``is_success``, reward terms under
``reward/<term>``, the task's diagnostics and ``events`` of the step. Truncation by ``max_episode_steps``.

## Starting State
A new home is generated from the env's seeded generator every ``relayout_every`` episodes and whenever a seed is
passed to ``reset``; the infant starts at the home's spawn point with a random heading.

## Arguments
See :class:`env.config.EnvConfig` (stage, width, height, observations, age_months, randomization, ...) and
the task's config (via ``task_options`` or extra keyword arguments).

## Version History
- v2 (battery ids only; ``FindToy-v1`` is unchanged): a caregiver's hand carries the toy and reveals its place
  at trial end (a ``reveal`` phase); a toy set (ball, duck, block, ring; kind, colour and size randomized) that
  stays exactly where it was hidden; screens that meet, with wings, and a choice line in front of the display,
  so that no search path can see behind them; ``lights_out``/``turn_away`` end on the first ``search`` frame;
  options validated against the stage when the env is made; privileged fields only under
  ``info["privileged"]``. Every observation is dark in the dark (see above). v1 ids are retired (an error names
  the v2 id).
- v1: built-in shapes tessellated coarsely (``tessellation="coarse"``: one quad per box face, 12×8 round shapes):
  ~1.3× faster steps on llvmpipe; 0.07% of 64×64 pixels differ by more than 8 levels. Tasks, rewards and seeds
  are unchanged; permanence tasks gain the optional ``approach_weight`` shaping (off by default).
- v0: initial release (still registered; it is v1 with ``tessellation="fine"``).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from env.backends import EyeSpec, make_backend
from env.body import DISCRETE_ACTIONS, InfantBody
from env.config import EnvConfig
from env.development import posture as get_posture
from env.tasks import Task, World, task_class
from env.reveal import NO_LABEL, seen_location
from env.tasks.base import TaskConfig, TaskContext, horizontal_half_fov
from env.tasks.props import TOY
from env.vision import InfantVision
from scenes.generator import generate_home
from scenes.spec import SceneSpec


def parse_options(task: str, kwargs: dict[str, Any]) -> tuple[EnvConfig, TaskConfig]:
    """The env and task configs of flat ``gym.make`` options, without building anything (a curriculum checks
    its stages with this when it loads); an unknown option is an error listing the task's and the env's."""
    task_cls = task_class(task)
    task_keys = {f.name for f in fields(task_cls.Config)}
    env_keys = EnvConfig.option_names()
    unknown = set(kwargs) - task_keys - env_keys
    if unknown:
        raise TypeError(f"unknown env option(s) {sorted(unknown)} for task {task!r}; its own options: "
                        f"{sorted(task_keys)}; env options: {sorted(env_keys)}")
    kwargs = dict(kwargs)
    task_options = {k: kwargs.pop(k) for k in list(kwargs) if k in task_keys}
    config = EnvConfig.from_kwargs(**kwargs)
    return config, task_cls.Config.from_dict({**config.task_options, **task_options})


class InfantEnv(gym.Env):
    """Gymnasium environment of an infant in a home; see the module docstring."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, task: str = "find_toy", render_mode: str | None = None, config: EnvConfig | None = None,
                 **kwargs: Any) -> None:
        task_cls = task_class(task)
        if config is not None:
            task_keys = {f.name for f in fields(task_cls.Config)}
            task_options = {k: kwargs.pop(k) for k in list(kwargs) if k in task_keys}
            if kwargs:
                raise TypeError(f"pass either config= or keyword options, not both (got {sorted(kwargs)})")
            self.config = config
            task_config = task_cls.Config.from_dict({**config.task_options, **task_options})
        else:
            self.config, task_config = parse_options(task, kwargs)
        self.task: Task = task_cls(task_config)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: use None or 'rgb_array'")
        self.render_mode = render_mode
        c = self.config
        self.posture = get_posture(c.stage)  # the developmental stage
        self.age_months = c.vision.age_months if c.vision.age_months is not None else self.posture.default_age_months
        self.backend = make_backend(c.backend, c.quality)
        self.body = InfantBody(self.posture, self.posture.eye_height)
        rand = c.randomization
        self.task.validate(TaskContext(
            speed=self.posture.speed, turn_rate=self.posture.turn_rate,
            fovy_min=self.posture.fovy + rand.camera_fov_jitter.low, aspect=c.width / c.height,
            control_dt=c.control_dt, room_half_min=rand.room_half_size.low, posture=self.posture.name))
        self.scene: SceneSpec | None = None
        self.world: World | None = None
        self._episodes_on_layout = 0
        self._steps = 0

        self._n_actions = len(DISCRETE_ACTIONS)
        if c.action_type == "discrete":
            self.action_space = spaces.Discrete(self._n_actions)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        h, w = c.height, c.width
        rgb = spaces.Box(0, 255, (h, w, 3), np.uint8)
        if c.observations == ("rgb",):
            self.observation_space = rgb
        else:
            parts: dict[str, spaces.Space] = {}
            for kind in c.observations:
                if kind == "rgb":
                    parts[kind] = rgb
                elif kind == "depth":
                    parts[kind] = spaces.Box(0.0, np.inf, (h, w, 1), np.float32)
                else:
                    parts[kind] = spaces.Box(0, np.iinfo(np.int32).max, (h, w, 1), np.int32)
            self.observation_space = spaces.Dict(parts)

    # ------------------------------------------------------------------ layout
    def _new_layout(self, seed: int | None, rng: np.random.Generator | None = None) -> None:
        """A new home (scene seed ``seed``, else drawn), generated and built by the task from ``rng`` (default: the
        env's generator; a bank of homes passes one seeded per home so that worlds share it)."""
        c = self.config
        rng = self.np_random if rng is None else rng
        scene_seed = int(rng.integers(2**31)) if seed is None else seed
        scene = generate_home(rng, c.randomization, seed=scene_seed)
        self.scene = self.task.build(scene, rng, c.randomization)
        self.eye_height = self.posture.eye_height + self.scene.camera_height_offset
        self.fovy = self.posture.fovy + self.scene.camera_fov_offset
        self.backend.load(self.scene, EyeSpec(c.width, c.height, self.fovy))
        self.body.eye_height = self.eye_height
        self.vision = InfantVision(c.vision, self.age_months, c.height, self.fovy)
        self._episodes_on_layout = 0

    # ------------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if self.scene is None or seed is not None or self._episodes_on_layout >= self.config.relayout_every:
            self._new_layout(seed)
        else:
            self.backend.reset()
        self._episodes_on_layout += 1
        assert self.scene is not None
        sx, sy, syaw = self.scene.spawn
        self.body.reset(self.scene, sx, sy, syaw + float(self.np_random.uniform(-0.5, 0.5)))
        self.world = World(self.backend, self.body, self.scene, self.np_random, self.fovy,
                           self.config.width / self.config.height)
        self.task.reset(self.world)
        self._place_eye()
        self._steps = 0
        self._events: list[str] = ["reset"]
        return self._observe(), self._info({}, False)

    def step(self, action):
        events = self._before_physics(action)
        self.backend.step(self.config.control_dt)
        return self._after_physics(events)

    def _before_physics(self, action) -> list[str]:
        """Steps 1-2 of a step (see ``env.tasks.base``): the infant acts, then the task's ``before_physics``; its
        events. A batch that steps every world's physics at once (``env.warp_vector``) calls this, then physics,
        then :meth:`_after_physics`."""
        world = self.world
        assert world is not None, "call reset() before step()"
        dt = self.config.control_dt
        if not world.frozen:
            if self.config.action_type == "discrete":
                # A plain in-range integer is the common case: skip gymnasium's general check (a few µs a step)
                if not (isinstance(action, (int, np.integer)) and 0 <= action < self._n_actions) and \
                        not self.action_space.contains(action):
                    raise ValueError(f"action {action!r} is not in {self.action_space}")
                self.body.act_discrete(int(action), dt)
            else:
                a = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
                self.body.move(float(a[0]), float(a[1]), float(a[2]), dt)
        return self.task.before_physics(world)

    def _after_physics(self, events: list[str]):
        """Steps 4-6 after physics advanced: the task's ``after_physics``, the eye, the observation, reward and
        ends; the ``step`` return value."""
        world = self.world
        assert world is not None
        events = [*events, *self.task.after_physics(world)]
        self._place_eye()
        obs = self._observe()
        terms = self.task.reward(world)
        success = self.task.success(world)
        terminated = self.task.terminated(world)
        self._steps += 1
        if self.body.collided:
            events = [*events, "bump"]
        self._events = events
        reward = float(sum(terms.values()))
        truncated = self._steps >= self.task.max_steps and not terminated
        return obs, reward, terminated, truncated, self._info(terms, success)

    def _place_eye(self) -> None:
        p = self.body.pose
        self.backend.set_eye(self.body.eye_position(), p.yaw, p.pitch)

    def _observe(self):
        kinds = self.config.observations
        if not self.config.render_observations or not getattr(self.backend, "lights_on", True):
            return self._dark()
        frame = self.backend.render("rgb" in kinds, "depth" in kinds, "segmentation" in kinds)
        rgb = self.vision(frame.rgb) if frame.rgb is not None else None
        if kinds == ("rgb",):
            return rgb
        out: dict[str, np.ndarray] = {}
        if rgb is not None:
            out["rgb"] = rgb
        if frame.depth is not None:
            out["depth"] = frame.depth[..., None]
        if frame.segmentation is not None:
            out["segmentation"] = frame.segmentation[..., None]
        return out

    def _dark(self):
        """What the eye gives in the dark (and without rendering): zeros in every observation."""
        space = self.observation_space
        if isinstance(space, spaces.Dict):
            return {k: np.zeros(sp.shape, sp.dtype) for k, sp in space.spaces.items()}
        return np.zeros(space.shape, space.dtype)

    def _info(self, terms: dict[str, float], success: bool) -> dict[str, Any]:
        assert self.world is not None
        p = self.body.pose
        info: dict[str, Any] = {
            "is_success": bool(success),
            "events": list(self._events) if hasattr(self, "_events") else [],
            "infant_pose": (p.x, p.y, p.yaw, p.pitch),
            "time": self.backend.time,
        }
        info.update({f"reward/{k}": v for k, v in terms.items()})
        info.update(self.task.info(self.world))
        if self.config.reveal_label and "phase" in info:
            info["reveal_seen"] = self._reveal_seen() if info["phase"] == "reveal" else NO_LABEL
        return info

    def _reveal_seen(self) -> int:
        """Where the infant sees the toy now (:func:`env.reveal.seen_location`), from its segmentation image."""
        if not getattr(self.backend, "lights_on", True):
            return NO_LABEL
        seg = self.backend.render(False, False, True).segmentation
        if seg is None or TOY not in self.backend.object_names:
            return NO_LABEL
        p = self.body.pose
        spots = [self.world.position(n)[:2] for n in self.task.location_names()]
        return seen_location(seg, self.backend.object_names.index(TOY) + 1, p.yaw,
                             horizontal_half_fov(self.fovy, self.config.width / self.config.height), (p.x, p.y), spots)

    def render(self) -> np.ndarray | None:
        """Third-person RGB view for people (256×256) when ``render_mode='rgb_array'``."""
        if self.render_mode != "rgb_array":
            return None
        return self.backend.render_view("third_person", 256, 256)

    def describe(self) -> dict[str, Any]:
        """Static facts about the current episode for logs and episode.json."""
        return {
            "task": self.task.name, "stage": self.posture.name, "eye_height_m": round(self.eye_height, 4),
            "fovy_deg": round(self.fovy, 3), "age_months": self.age_months,
            "acuity_blur_sigma_px": round(self.vision.sigma, 3), "scene_seed": self.scene.seed if self.scene else None,
            "scene_digest": self.scene.digest() if self.scene else None, "width": self.config.width,
            "height": self.config.height, "backend": self.config.backend,
            "actions": list(DISCRETE_ACTIONS) if self.config.action_type == "discrete" else
            ["forward", "turn", "tilt"],
        }

    def close(self) -> None:
        self.backend.close()
        super().close()

