"""Simulator backends behind one small interface; heavy ones are imported only when asked for."""

from __future__ import annotations

from env.backends.base import Backend, EyeSpec, Frame, RenderQuality

BACKENDS = ("mujoco", "habitat")


def make_backend(name: str, quality: RenderQuality | None = None) -> Backend:
    """Instantiate backend ``name`` ("mujoco" or "habitat")."""
    if name == "mujoco":
        from env.backends.mujoco import MujocoBackend

        return MujocoBackend(quality)
    if name == "habitat":
        from env.backends.habitat import HabitatBackend  # raises with an install hint if habitat_sim is missing

        return HabitatBackend(quality)
    raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")


__all__ = ["BACKENDS", "Backend", "EyeSpec", "Frame", "RenderQuality", "make_backend"]
