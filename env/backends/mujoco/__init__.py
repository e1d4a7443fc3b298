"""MuJoCo backend (the embedded default)."""

from env.backends.mujoco.backend import MujocoBackend

__all__ = ["MujocoBackend"]
