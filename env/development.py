"""Developmental norms: eye height and motion by developmental stage, visual acuity by age.

A developmental stage is a posture (:class:`Posture`: lying, crawling, sitting, walking); the env's ``stage=``
option, a curriculum YAML's ``stage:`` key and the tools' ``--stage`` flag name one. In code it is a *posture*,
so that "stage" alone means a curriculum stage (:class:`curriculum.config.StageConfig`).

Sources are in ../shared/SCIENCE.md: eye heights after Kretch, Franchak & Adolph (2014); acuity after
Mayer et al. (1995), as used by the MIMo infant model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Posture:
    """A developmental stage: the infant's posture and how it moves in it."""

    name: str
    """Its name, the value of the env's ``stage=`` option."""
    eye_height: float
    """Eye height above the floor, metres."""
    fovy: float
    """Vertical field of view of the eye camera, degrees."""
    speed: float
    """Forward speed, metres per second of simulated time."""
    turn_rate: float
    """Turning speed, radians per second."""
    default_age_months: float
    """Typical age in this posture (used when no age is given)."""
    pitch_range: tuple[float, float] = (-0.8, 0.6)
    """Allowed head pitch (radians, up positive)."""


POSTURES: dict[str, Posture] = {
    "lying": Posture("lying", 0.12, 60.0, 0.05, 0.8, 4.0, (-0.3, 1.0)),
    "crawling": Posture("crawling", 0.28, 60.0, 0.35, 1.2, 9.0),
    "sitting": Posture("sitting", 0.42, 60.0, 0.0, 1.2, 7.0),
    "walking": Posture("walking", 0.70, 60.0, 0.6, 1.5, 14.0),
}
"""Developmental stages by name. Sitting infants turn and look but do not travel (speed 0)."""

# Mayer et al. (1995) grating acuity, cycles/degree, by age in months.
ACUITY_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 0.6), (1.0, 0.85), (3.0, 2.6), (6.0, 5.5), (12.0, 9.4), (36.0, 17.4), (216.0, 30.0),
)


def posture(name: str) -> Posture:
    """The developmental stage called ``name``; an error lists the valid names."""
    try:
        return POSTURES[name]
    except KeyError:
        raise ValueError(f"unknown developmental stage {name!r}; choose one of {sorted(POSTURES)}") from None


def acuity_cpd(age_months: float) -> float:
    """Grating acuity in cycles/degree at ``age_months`` (log-linear interpolation of the table)."""
    if age_months < 0:
        raise ValueError(f"age_months={age_months} must be >= 0")
    ages = np.array([a for a, _ in ACUITY_TABLE])
    cpd = np.log([c for _, c in ACUITY_TABLE])
    return float(np.exp(np.interp(age_months, ages, cpd)))
