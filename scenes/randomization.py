"""Domain randomization: every randomized scene parameter, declared once with its range.

A curriculum stage narrows or widens these ranges; it never switches code paths. ``no_random()`` collapses
every range to its default, which gives the canonical scene (see :func:`scenes.generator.generate_home`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Param:
    """A randomized scalar: sampled uniformly in [low, high]; ``default`` when randomization is off."""

    default: float
    """Value used by ``no_random()``."""
    low: float
    """Lower end of the sampling range."""
    high: float
    """Upper end of the sampling range."""
    integer: bool = False
    """Sample integers in [low, high] inclusive."""

    def sample(self, rng: np.random.Generator) -> float:
        """Draw a value from the env's generator."""
        if self.integer:
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.low == self.high:
            return float(self.low)
        return float(rng.uniform(self.low, self.high))

    def fixed(self) -> Param:
        """This parameter with its range collapsed onto the default."""
        return dataclasses.replace(self, low=self.default, high=self.default)


# Hard limits: a range outside these makes no physical sense for an infant's home.
LIMITS: dict[str, tuple[float, float]] = {
    "n_rooms": (1, 3),
    "room_half_size": (1.0, 5.0),
    "furniture_per_room": (0, 6),
    "n_toys": (0, 8),
    "saturation": (0.0, 1.0),
    "value": (0.05, 1.0),
    "n_lights": (1, 4),
    "light_intensity": (0.05, 2.0),
    "light_warmth": (-1.0, 1.0),
    "ambient": (0.0, 1.0),
    "camera_height_jitter": (-0.1, 0.1),
    "camera_fov_jitter": (-20.0, 20.0),
    "texture_scale": (1.0, 32.0),
    "battery_toy_kind": (0, 3),
    "battery_toy_size": (0.04, 0.075),
    "battery_toy_hue": (0.0, 1.0),
}


@dataclass(frozen=True)
class SceneRandomization:
    """Ranges for procedural homes. Units: metres, degrees; colours as HSV fractions."""

    n_rooms: Param = Param(1, 1, 3, integer=True)
    """Number of connected rooms."""
    room_half_size: Param = Param(2.0, 1.6, 2.6)
    """Half extent of each room along x and y (sampled per axis), metres."""
    furniture_per_room: Param = Param(3, 2, 4, integer=True)
    """Pieces of furniture in each room."""
    n_toys: Param = Param(3, 2, 5, integer=True)
    """Loose toys on the floor (besides the task's own objects)."""
    saturation: Param = Param(0.6, 0.3, 0.9)
    """Colour saturation of furniture and toys."""
    value: Param = Param(0.75, 0.45, 0.95)
    """Colour brightness of furniture and toys."""
    n_lights: Param = Param(2, 1, 3, integer=True)
    """Number of ceiling lights."""
    light_intensity: Param = Param(0.5, 0.3, 0.8)
    """Diffuse intensity of each light."""
    light_warmth: Param = Param(0.0, -0.3, 0.3)
    """Colour temperature shift: > 0 warm (yellow), < 0 cool (blue)."""
    ambient: Param = Param(0.35, 0.2, 0.5)
    """Ambient light level."""
    camera_height_jitter: Param = Param(0.0, -0.03, 0.03)
    """Added to the developmental stage's eye height, metres."""
    camera_fov_jitter: Param = Param(0.0, -5.0, 5.0)
    """Added to the stage's vertical field of view, degrees."""
    texture_scale: Param = Param(8.0, 4.0, 12.0)
    """Pattern frequency of procedural textures."""
    battery_toy_kind: Param = Param(0, 0, 3, integer=True)
    """The permanence battery's toy: index into ``scenes.objects.BATTERY_TOY_KINDS`` (ball, duck, block, ring).
    Drawn by the battery task when it builds its display (not by the home generator)."""
    battery_toy_size: Param = Param(0.06, 0.05, 0.075)
    """Radius of the battery's toy, metres (at most 0.075: it must fit under a cup)."""
    battery_toy_hue: Param = Param(0.0, 0.0, 1.0)
    """Hue of the battery's toy (HSV, saturation 0.85, value 0.9); the default 0 is the v1 red."""

    def __post_init__(self) -> None:
        for f in fields(self):
            p = getattr(self, f.name)
            if not isinstance(p, Param):
                raise TypeError(f"randomization field {f.name!r} must be a Param, got {type(p).__name__}")
            lo, hi = LIMITS[f.name]
            if p.low > p.high:
                raise ValueError(f"randomization {f.name}: low={p.low} > high={p.high}; swap them")
            if not (lo <= p.low and p.high <= hi and p.low <= p.default <= p.high):
                raise ValueError(
                    f"randomization {f.name}: range [{p.low}, {p.high}] (default {p.default}) is outside the "
                    f"allowed [{lo}, {hi}] or does not contain its default; choose values within [{lo}, {hi}]"
                )

    @property
    def is_fixed(self) -> bool:
        """True when no parameter varies (the canonical scene)."""
        return all(getattr(self, f.name).low == getattr(self, f.name).high for f in fields(self))

    def sample(self, name: str, rng: np.random.Generator) -> Any:
        """Draw parameter ``name``."""
        return getattr(self, name).sample(rng)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SceneRandomization:
        """Build from ``{name: [low, high]}`` or ``{name: {default, low, high}}`` or ``{name: value}``;
        unknown names are an error that lists the valid ones."""
        if not isinstance(values, dict):
            raise TypeError(f"randomization={values!r}: expected a mapping of parameter ranges, e.g. "
                            "{'n_rooms': [1, 2], 'n_toys': 3}")
        base = cls()
        known = {f.name for f in fields(cls)}
        changes: dict[str, Param] = {}
        for key, v in values.items():
            if key not in known:
                raise ValueError(f"unknown randomization key {key!r}; valid keys: {sorted(known)}")
            old: Param = getattr(base, key)
            if isinstance(v, dict):
                bad = set(v) - {"default", "low", "high"}
                if bad:
                    raise ValueError(f"randomization {key}: unknown fields {sorted(bad)}; use default/low/high")
                lo, hi = v.get("low", old.low), v.get("high", old.high)
                default = v.get("default", min(max(old.default, lo), hi))
            elif isinstance(v, (list, tuple)):
                if len(v) != 2:
                    raise ValueError(f"randomization {key}: expected [low, high], got {v!r}")
                lo, hi = v
                default = min(max(old.default, lo), hi)
            else:
                lo = hi = default = v
            for x in (lo, hi, default):
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x):
                    raise ValueError(f"randomization {key}: {x!r} is not a finite number")
                if old.integer and float(x) != int(x):
                    raise ValueError(f"randomization {key}: {x!r} must be a whole number")
            changes[key] = dataclasses.replace(old, default=default, low=lo, high=hi)
        return dataclasses.replace(base, **changes)


def no_random() -> SceneRandomization:
    """Every range collapsed to its default: the canonical home, identical for every seed."""
    base = SceneRandomization()
    return dataclasses.replace(base, **{f.name: getattr(base, f.name).fixed() for f in fields(base)})
