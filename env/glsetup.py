"""Headless OpenGL defaults. Imported first by ``env/__init__``: MuJoCo reads ``MUJOCO_GL`` once, on import."""

from __future__ import annotations

import os
import sys
import warnings


def configure_gl_env() -> None:
    """Default to headless EGL (Mesa llvmpipe on CPU, the vendor driver on GPUs); a user's setting wins."""
    if "mujoco" in sys.modules and "MUJOCO_GL" not in os.environ:
        warnings.warn("mujoco was imported before Peekaboo's env package without MUJOCO_GL; set MUJOCO_GL=egl "
                      "before importing mujoco to render headless", stacklevel=3)
    os.environ.setdefault("MUJOCO_GL", "egl")
    if os.environ["MUJOCO_GL"] == "egl":
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
