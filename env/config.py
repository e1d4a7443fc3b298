"""Typed configuration of an infant environment (one layer; YAML/TOML map onto it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from env.backends.base import RenderQuality
from env.development import POSTURES
from env.vision import VisionConfig
from scenes.randomization import SceneRandomization

OBSERVATION_KINDS = ("rgb", "depth", "segmentation")


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines an infant environment apart from its task."""

    stage: str = "crawling"
    """Developmental stage: lying, crawling, sitting or walking (sets eye height, fov and speed; in code a
    :class:`env.development.Posture`)."""
    width: int = 64
    """Observation width in pixels."""
    height: int = 64
    """Observation height in pixels."""
    observations: tuple[str, ...] = ("rgb",)
    """Which images to return: any of rgb, depth, segmentation. Only rgb → a Box; more → a Dict."""
    action_type: Literal["discrete", "continuous"] = "discrete"
    """discrete: noop/forward/turn left/turn right/look up/look down; continuous: (forward, turn, tilt) in [-1, 1]."""
    control_dt: float = 0.1
    """Simulated seconds per env step."""
    backend: str = "mujoco"
    """Simulator backend: mujoco (embedded) or habitat (optional extra)."""
    randomization: SceneRandomization = field(default_factory=SceneRandomization)
    """Domain-randomization ranges of the procedural home."""
    relayout_every: int = 1
    """Generate a new home every this many episodes (a reset with a seed always generates one)."""
    quality: RenderQuality = field(default_factory=RenderQuality)
    """Rendering quality switches (shadows/MSAA off by default for speed)."""
    vision: VisionConfig = field(default_factory=VisionConfig)
    """Developmental vision (acuity blur by age, contrast, saturation)."""
    render_observations: bool = True
    """False: observations are all zeros and nothing is rendered (for scripted agents that read geometry, not
    pixels; ``tools.calibrate`` runs thousands of episodes this way)."""
    reveal_label: bool = False
    """Battery tasks: put in ``info["reveal_seen"]`` where the infant sees the toy at each reveal step (from its
    own segmentation image, :mod:`env.reveal`; -1 when not seen): the label of the reveal-prediction loss. Costs
    one segmentation render per reveal step."""
    task_options: dict[str, Any] = field(default_factory=dict)
    """Options of the task's own config dataclass."""

    def __post_init__(self) -> None:
        if self.stage not in POSTURES:
            raise ValueError(f"unknown developmental stage {self.stage!r}; choose one of {sorted(POSTURES)}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name}={v!r}: the observation resolution must be a positive integer, e.g. 64")
            if v > 512:
                raise ValueError(f"{name}={v}: at most 512 pixels per side")
        obs = tuple(self.observations)
        bad = [o for o in obs if o not in OBSERVATION_KINDS]
        if bad or not obs:
            raise ValueError(f"observations={obs!r}: choose one or more of {OBSERVATION_KINDS}")
        if self.action_type not in ("discrete", "continuous"):
            raise ValueError(f"action_type={self.action_type!r}: use 'discrete' or 'continuous'")
        if not (0.01 <= self.control_dt <= 1.0):
            raise ValueError(f"control_dt={self.control_dt}: use 0.01..1.0 seconds")
        if self.relayout_every < 1:
            raise ValueError(f"relayout_every={self.relayout_every}: must be >= 1")

    @classmethod
    def option_names(cls) -> set[str]:
        """Every flat keyword :meth:`from_kwargs` accepts."""
        return {f.name for f in fields(cls)} | {f.name for f in fields(VisionConfig)} | \
            {f.name for f in fields(RenderQuality)}

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EnvConfig:
        """Build from flat keyword arguments (``gym.make(..., stage='walking', age_months=12)``).

        ``age_months``/``contrast``/``saturation``/``acuity`` go to :class:`VisionConfig`; ``randomization`` may be
        a dict of ranges; unknown names are an error listing the valid ones.
        """
        vision_keys = {f.name for f in fields(VisionConfig)}
        quality_keys = {f.name for f in fields(RenderQuality)}
        own = {f.name for f in fields(cls)}
        vision = {k: kwargs.pop(k) for k in list(kwargs) if k in vision_keys}
        quality = {k: kwargs.pop(k) for k in list(kwargs) if k in quality_keys}
        unknown = set(kwargs) - own
        if unknown:
            raise TypeError(f"unknown env option(s) {sorted(unknown)}; valid: "
                            f"{sorted(own | vision_keys | quality_keys)}")
        if "randomization" in kwargs and not isinstance(kwargs["randomization"], SceneRandomization):
            kwargs["randomization"] = SceneRandomization.from_dict(kwargs["randomization"])
        if "observations" in kwargs:
            obs = kwargs["observations"]
            kwargs["observations"] = (obs,) if isinstance(obs, str) else tuple(obs)
        if vision:
            kwargs["vision"] = dataclasses.replace(kwargs.get("vision", VisionConfig()), **vision)
        if quality:
            kwargs["quality"] = dataclasses.replace(kwargs.get("quality", RenderQuality()), **quality)
        return cls(**kwargs)
