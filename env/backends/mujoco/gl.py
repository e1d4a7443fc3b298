"""Creating MuJoCo's offscreen OpenGL context, with an error that says how to fix a missing EGL."""

from __future__ import annotations

import os


class RenderingUnavailable(RuntimeError):
    """No OpenGL context could be created."""


def make_gl_context(width: int, height: int):  # -> mujoco.GLContext
    """An offscreen GL context, or an error that says how to get one."""
    import mujoco

    backend = os.environ.get("MUJOCO_GL", "<unset>")
    try:
        ctx = mujoco.GLContext(width, height)
        ctx.make_current()
    except Exception as exc:  # the GL stacks raise many unrelated types
        raise RenderingUnavailable(
            f"could not create an offscreen OpenGL context with MUJOCO_GL={backend} ({type(exc).__name__}: {exc}). "
            "Peekaboo renders headless through EGL: set MUJOCO_GL=egl and EGL_PLATFORM=surfaceless before "
            "Python imports mujoco, and make sure Mesa's EGL is installed (Debian/Ubuntu: "
            "apt-get install libegl1 libgl1-mesa-dri). MUJOCO_GL=osmesa (apt-get install libosmesa6) is a "
            "slower fallback."
        ) from exc
    return ctx


def gl_info() -> dict[str, str]:
    """Vendor, renderer and version of the OpenGL that renders (llvmpipe = Mesa on the CPU; a GPU's name when
    EGL picked its driver), for benchmark records."""
    from OpenGL import GL

    ctx = make_gl_context(16, 16)
    try:
        def text(name: int) -> str:
            raw = GL.glGetString(name)
            return raw.decode(errors="replace") if raw else "?"
        return {"MUJOCO_GL": os.environ.get("MUJOCO_GL", "<unset>"), "vendor": text(GL.GL_VENDOR),
                "renderer": text(GL.GL_RENDERER), "version": text(GL.GL_VERSION)}
    finally:
        ctx.free()
