"""Headless OpenGL defaults. Imported first by ``env/__init__``: MuJoCo reads ``MUJOCO_GL`` once, on import."""

from __future__ import annotations

import os
import sys
import warnings


def configure_gl_env() -> None:
    """Default to headless EGL (Mesa llvmpipe on CPU, the vendor driver on GPUs), llvmpipe rendering in the
    calling thread; a user's setting wins."""
    if "mujoco" in sys.modules and "MUJOCO_GL" not in os.environ:
        warnings.warn("mujoco was imported before Peekaboo's env package without MUJOCO_GL; set MUJOCO_GL=egl "
                      "before importing mujoco to render headless", stacklevel=3)
    os.environ.setdefault("MUJOCO_GL", "egl")
    if os.environ["MUJOCO_GL"] == "egl":
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    # llvmpipe's rasterizer threads cost more than they save on small frames, and vector envs already run a
    # process per core: rendering in the calling thread is 1.5x faster per env step at 64x64 (threads win from
    # ~256x256 up: set LP_NUM_THREADS=<cores> for big single-process renders). GPU drivers ignore it.
    os.environ.setdefault("LP_NUM_THREADS", "0")
