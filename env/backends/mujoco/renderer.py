"""Offscreen MuJoCo rendering into one GL context that outlives model reloads.

Unlike ``mujoco.Renderer`` this keeps one GL context per backend (a new layout only rebuilds the
``MjrContext``), renders into a sub-rectangle so several views can share one framebuffer, and reuses readback
buffers to keep the hot path allocation-free.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable

import mujoco
import numpy as np

from env.backends.base import RenderQuality
from env.backends.mujoco.gl import make_gl_context


_EGL = os.environ.get("MUJOCO_GL") == "egl"
"""Whether MuJoCo renders through EGL (it reads ``MUJOCO_GL`` once, when first imported)."""


@functools.cache
def _egl_current_context() -> Callable[[], int | None]:
    """EGL's ``eglGetCurrentContext`` as a bare ctypes call returning the context's address (0.3 µs; PyOpenGL's
    wrapper, with its error checks, takes ~1.5 µs, and a batch asks once per world per step)."""
    from OpenGL import platform

    try:
        fn = platform.PLATFORM.EGL["eglGetCurrentContext"]  # a fresh function object: PyOpenGL's is untouched
    except (AttributeError, KeyError):  # no raw EGL library handle: PyOpenGL's wrapper
        from OpenGL import EGL

        return lambda: getattr(EGL.eglGetCurrentContext(), "address", None)
    fn.restype, fn.argtypes = ctypes.c_void_p, ()
    return fn


def _make_current(gl) -> None:
    """Make ``gl`` current unless it already is: a switch costs ~30 µs, a query ~0.3 µs. Asks EGL rather than
    remembering, because other code in the process (e.g. a ``mujoco.Renderer``) may switch contexts too."""
    ctx = getattr(gl, "_context", None)
    if ctx is not None and _EGL and _egl_current_context()() == ctx.address:
        return
    gl.make_current()


class GLRenderer:
    """Owns the GL context; ``bind`` attaches a model's scene and GPU resources."""

    def __init__(self, quality: RenderQuality, max_width: int, max_height: int, gl=None) -> None:
        self.quality = quality
        # A shared ``gl`` (e.g. a batch of worlds in one context) is left to its owner to free.
        self._owns_gl = gl is None
        self._gl = make_gl_context(max_width, max_height) if gl is None else gl
        self.model: mujoco.MjModel | None = None
        self.scene: mujoco.MjvScene | None = None
        self._ctx: mujoco.MjrContext | None = None
        self.option = mujoco.MjvOption()
        self._buffers: dict[tuple, np.ndarray] = {}

    def bind(self, model: mujoco.MjModel) -> None:
        """Upload ``model``'s meshes and textures, freeing the previous model's."""
        _make_current(self._gl)
        if self._ctx is not None:
            self._ctx.free()
        self.model = model
        self.scene = mujoco.MjvScene(model, maxgeom=max(256, 2 * model.ngeom + 64))
        self._ctx = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._ctx)
        self._ctx.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR

    def fit_offscreen(self, width: int, height: int) -> None:
        """Grow the offscreen buffer to hold ``width`` x ``height`` pixels (it never shrinks until the next
        ``bind``, which sizes it by the model's ``offwidth``/``offheight``). The pixels of a view do not depend on
        the buffer's size (tested), only the cost does."""
        assert self._ctx is not None, "bind() a model first"
        if width > self._ctx.offWidth or height > self._ctx.offHeight:
            _make_current(self._gl)
            mujoco.mjr_resizeOffscreen(max(width, self._ctx.offWidth), max(height, self._ctx.offHeight), self._ctx)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._ctx)

    def update(self, data: mujoco.MjData, camera: mujoco.MjvCamera, option: mujoco.MjvOption | None = None) -> None:
        """Collect geometry seen by ``camera`` into the scene (mjv_updateScene) with the quality flags."""
        assert self.model is not None and self.scene is not None, "bind() a model first"
        mujoco.mjv_updateScene(self.model, data, option or self.option, None, camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        flags = self.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.quality.shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.quality.reflections
        flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False

    def _buffer(self, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        key = (shape, dtype)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape, dtype)
        return buf

    def draw(self, width: int, height: int, left: int = 0, bottom: int = 0, target: GLRenderer | None = None) -> None:
        """Render the current scene into the rectangle (left, bottom, width, height) of this renderer's
        framebuffer, or of ``target``'s when both share one GL context (a tile of a batch)."""
        _make_current(self._gl)
        if target is not None or not self._owns_gl:
            # mjr_render draws into whatever framebuffer is bound, and another MjrContext in this GL context
            # may have bound its own.
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, (target or self)._ctx)
        mujoco.mjr_render(mujoco.MjrRect(left, bottom, width, height), self.scene, self._ctx)

    def read_rgb(self, width: int, height: int, left: int = 0, bottom: int = 0) -> np.ndarray:
        """RGB pixels of a rectangle, row 0 at the top (a fresh array)."""
        buf = self._buffer((height, width, 3), np.uint8)
        mujoco.mjr_readPixels(buf, None, mujoco.MjrRect(left, bottom, width, height), self._ctx)
        return buf[::-1].copy()

    def read_depth(self, width: int, height: int) -> np.ndarray:
        """Metric depth (metres along the optical axis) of the last draw."""
        assert self.model is not None
        buf = self._buffer((height, width), np.float32)
        mujoco.mjr_readPixels(None, buf, mujoco.MjrRect(0, 0, width, height), self._ctx)
        return self.depth_to_metres(buf)

    def depth_to_metres(self, buf: np.ndarray) -> np.ndarray:
        """Metric depth from a depth-buffer read (rows bottom-up, as GL returns them), row 0 at the top."""
        assert self.model is not None
        extent = self.model.stat.extent
        near, far = self.model.vis.map.znear * extent, self.model.vis.map.zfar * extent
        # Invert the OpenGL depth-buffer mapping (same as mujoco.Renderer).
        c = -0.5 * (-(far + near) / (far - near)) - 0.5
        d = -0.5 * (-(2 * far * near) / (far - near))
        return (d / (buf[::-1].astype(np.float64) + c)).astype(np.float32)

    def read_segmentation(self, data: mujoco.MjData, camera: mujoco.MjvCamera, width: int, height: int,
                          geom_to_object: np.ndarray) -> np.ndarray:
        """Per-pixel object ids: ``geom_to_object[geom_id]`` of the geom seen, 0 where nothing is."""
        assert self.scene is not None
        self.update(data, camera)
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True
        self.scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        self.draw(width, height)
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = False
        self.scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = False
        rgb = self.read_rgb(width, height).astype(np.int64)
        segid = rgb[..., 0] + (rgb[..., 1] << 8) + (rgb[..., 2] << 16)  # segid + 1, 0 = background
        n = self.scene.ngeom
        lut = np.zeros(n + 1, np.int32)
        for g in self.scene.geoms[:n]:
            if g.segid >= 0 and g.objtype == mujoco.mjtObj.mjOBJ_GEOM:
                lut[g.segid + 1] = geom_to_object[g.objid]
        return lut[np.clip(segid, 0, n)]

    def close(self) -> None:
        """Release GPU resources and the GL context."""
        if self._ctx is not None:
            _make_current(self._gl)
            self._ctx.free()
            self._ctx = None
        if self._gl is not None:
            if self._owns_gl:
                self._gl.free()
            self._gl = None  # type: ignore[assignment]
        self.scene = None
        self.model = None
