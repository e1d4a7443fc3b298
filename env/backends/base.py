"""The simulator backend interface: small enough for MuJoCo and habitat-sim alike.

A backend loads a :class:`scenes.SceneSpec`, steps physics, moves named objects, places the infant's eye and
renders it. It knows nothing of infants, tasks or rewards.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from scenes.spec import SceneSpec


@dataclass(frozen=True)
class EyeSpec:
    """The infant's eye camera."""

    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""
    fovy: float
    """Vertical field of view in degrees."""


TESSELLATION: dict[str, tuple[int, int, int]] = {"coarse": (1, 12, 8), "fine": (4, 28, 16)}
"""Tessellation name → MuJoCo ``visual.quality`` (numquads, numslices, numstacks)."""


@dataclass(frozen=True)
class RenderQuality:
    """Rendering switches; the defaults are the fast ones (shadows and MSAA cost 7–60× on CPU)."""

    shadows: bool = False
    """Shadow maps from every light."""
    msaa_samples: int = 0
    """Multisample anti-aliasing samples (0 = off)."""
    reflections: bool = False
    """Planar reflections on reflective materials."""
    max_texture_size: int = 64
    """Procedural textures are generated at this size."""
    max_lights: int = 0
    """Scene lights rendered as real spot lights; the rest are folded into the camera's headlight colour, which
    keeps light colour/intensity randomization. Each real light costs ~25-40% of frame rate on llvmpipe."""
    tessellation: str = "coarse"
    """Triangles of MuJoCo's built-in shapes: ``coarse`` (one quad per box face, 12×8 slices×stacks on round
    shapes; ~1.3× faster steps on llvmpipe, 0.07% of 64×64 pixels change by more than 8 levels) or ``fine``
    (MuJoCo's defaults, 4×4 quads and 28×16: the frames of the v0 ids)."""

    def __post_init__(self) -> None:
        if self.tessellation not in TESSELLATION:
            raise ValueError(f"tessellation={self.tessellation!r}: use one of {sorted(TESSELLATION)}")
        if self.msaa_samples < 0 or self.msaa_samples > 16:
            raise ValueError(f"msaa_samples={self.msaa_samples}: use 0 (off) up to 16")
        if not 0 <= self.max_lights <= 8:
            raise ValueError(f"max_lights={self.max_lights}: use 0..8")


@dataclass
class Frame:
    """What one render returns. Arrays are (H, W[, C]), row 0 at the top."""

    rgb: np.ndarray | None = None
    """uint8 (H, W, 3)."""
    depth: np.ndarray | None = None
    """float32 (H, W) metres along the optical axis."""
    segmentation: np.ndarray | None = None
    """int32 (H, W): 0 for nothing, else 1 + index of the object in ``Backend.object_names``."""
    extras: dict[str, np.ndarray] = field(default_factory=dict)


class Backend(abc.ABC):
    """A simulator that runs one scene. Objects are addressed by their scene names, never by index."""

    name: str = "abstract"

    @abc.abstractmethod
    def load(self, scene: SceneSpec, eye: EyeSpec) -> None:
        """Compile ``scene`` (replacing any scene already loaded) with an eye camera as given."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Every object back to its scene pose, velocities zero, time zero."""

    @abc.abstractmethod
    def step(self, seconds: float) -> None:
        """Advance physics by ``seconds`` of simulated time."""

    @property
    @abc.abstractmethod
    def time(self) -> float:
        """Simulated seconds since the last reset."""

    @property
    @abc.abstractmethod
    def object_names(self) -> tuple[str, ...]:
        """Names of the scene objects, in segmentation-id order."""

    @abc.abstractmethod
    def get_position(self, name: str) -> np.ndarray:
        """World position (x, y, z) of object ``name``'s frame."""

    @abc.abstractmethod
    def set_pose(self, name: str, position: np.ndarray, yaw: float | None = None) -> None:
        """Teleport object ``name`` (free or kinematic); velocities are zeroed."""

    @abc.abstractmethod
    def set_velocity(self, name: str, linear: np.ndarray) -> None:
        """Set the linear velocity of free object ``name`` (m/s)."""

    @abc.abstractmethod
    def set_eye(self, position: np.ndarray, yaw: float, pitch: float) -> None:
        """Place the infant: eye at ``position``, heading ``yaw`` about z, ``pitch`` up (radians)."""

    @abc.abstractmethod
    def set_lights(self, on: bool) -> None:
        """Switch every light (and the ambient light) on or off."""

    @abc.abstractmethod
    def line_of_sight(self, start: np.ndarray, name: str) -> bool:
        """Whether object ``name``'s centre is visible from ``start`` (transparent surfaces do not block)."""

    @abc.abstractmethod
    def render(self, rgb: bool = True, depth: bool = False, segmentation: bool = False) -> Frame:
        """Render the infant's eye view."""

    @abc.abstractmethod
    def render_view(self, view: str, width: int, height: int) -> np.ndarray:
        """Render an RGB view for people: ``"overhead"`` or ``"third_person"``."""

    def close(self) -> None:
        """Free simulator resources; the backend can be loaded again afterwards."""
