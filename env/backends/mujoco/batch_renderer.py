"""Render many MuJoCo worlds' eye views in one GL context: each at the origin (default) or as tiles, read once.

Every world keeps its own model, ``MjrContext`` and ``MjvScene`` (homes differ in meshes and textures), but
all contexts live in one GL context, so there is no context switch between worlds.

By default (``tiled=False``) each world is drawn at the origin of its framebuffer and read back alone:
bit-identical to a single env, and the cheaper way with llvmpipe rasterizing in the calling thread.
``tiled=True`` draws the views as tiles of one framebuffer and reads them back with one ``mjr_readPixels``
(one wait for the rasterizer instead of one per world); on Mesa llvmpipe a few edge pixels of a tile can differ
from the same view drawn at the origin (sub-pixel snapping of a translated viewport; measured <1% of pixels).
"""

from __future__ import annotations

import mujoco
import numpy as np

from env.backends.base import Frame, RenderQuality
from env.backends.mujoco.backend import _MAX_VIEW, MujocoBackend
from env.backends.mujoco.gl import make_gl_context
from env.backends.mujoco.renderer import GLRenderer, _make_current


class BatchRenderer:
    """One GL context shared by the renderers of a batch of :class:`BatchMemberBackend`."""

    def __init__(self, tiled: bool = False) -> None:
        self.tiled = tiled
        self._gl = make_gl_context(_MAX_VIEW, _MAX_VIEW)
        self._renderers: list[GLRenderer] = []
        self._rgb: np.ndarray | None = None
        self._depth: np.ndarray | None = None

    def new_renderer(self, quality: RenderQuality) -> GLRenderer:
        """A renderer whose GL resources live in the batch's context."""
        r = GLRenderer(quality, _MAX_VIEW, _MAX_VIEW, gl=self._gl)
        self._renderers.append(r)
        return r

    def render(self, backends: list[MujocoBackend], rgb: bool = True, depth: bool = False) -> list[Frame]:
        """Eye-view frames of ``backends`` (all with the same eye size), as their ``render`` would give."""
        if not backends:
            return []
        if not self.tiled:
            return [b.render(rgb, depth, False) for b in backends]
        w, h = backends[0].eye.width, backends[0].eye.height
        cols, rows = _MAX_VIEW // w, _MAX_VIEW // h
        per_pass = cols * rows
        frames: list[Frame] = []
        for start in range(0, len(backends), per_pass):
            chunk = backends[start:start + per_pass]
            target = chunk[0]._renderer  # any context of the batch: its framebuffer holds the tiles
            used_rows = (len(chunk) + cols - 1) // cols
            used_cols = min(len(chunk), cols)
            target.fit_offscreen(used_cols * w, used_rows * h)  # buffers start at one eye's size
            for i, b in enumerate(chunk):
                if (b.eye.width, b.eye.height) != (w, h):
                    raise ValueError("every world of a batch needs the same eye size; got "
                                     f"{b.eye.width}x{b.eye.height} and {w}x{h}")
                b.draw_eye(target, (i % cols) * w, (i // cols) * h)
            rect = mujoco.MjrRect(0, 0, used_cols * w, used_rows * h)
            _make_current(self._gl)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, target._ctx)
            rgb_buf = self._buffer("_rgb", (used_rows * h, used_cols * w, 3), np.uint8) if rgb else None
            depth_buf = self._buffer("_depth", (used_rows * h, used_cols * w), np.float32) if depth else None
            mujoco.mjr_readPixels(rgb_buf, depth_buf, rect, target._ctx)
            for i, b in enumerate(chunk):
                x, y = (i % cols) * w, (i // cols) * h
                f = Frame()
                if rgb_buf is not None:
                    f.rgb = rgb_buf[y:y + h, x:x + w][::-1].copy()
                if depth_buf is not None:
                    f.depth = b._renderer.depth_to_metres(np.ascontiguousarray(depth_buf[y:y + h, x:x + w]))
                frames.append(f)
        return frames

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        buf = getattr(self, name)
        if buf is None or buf.shape != shape:
            buf = np.empty(shape, dtype)
            setattr(self, name, buf)
        return buf

    def close(self) -> None:
        """Free the GL context (the member backends must be closed first)."""
        if self._gl is not None:
            self._gl.free()
            self._gl = None


class BatchMemberBackend(MujocoBackend):
    """A :class:`MujocoBackend` whose eye renders are drawn by its :class:`BatchRenderer`.

    While ``deferred`` is set, ``render`` returns an empty frame (the batch renders later); ``serve`` hands the
    next ``render`` call a frame the batch already drew. Everything else (physics, segmentation, overview
    renders) is the plain backend's.
    """

    def __init__(self, batch: BatchRenderer, quality: RenderQuality | None = None) -> None:
        super().__init__(quality)
        self.batch = batch
        self.deferred = False
        self._served: Frame | None = None

    def load(self, scene, eye) -> None:
        if self._renderer is None:
            self._renderer = self.batch.new_renderer(self.quality)
        super().load(scene, eye)

    def serve(self, frame: Frame) -> None:
        self._served = frame

    def render(self, rgb: bool = True, depth: bool = False, segmentation: bool = False) -> Frame:
        if self._served is not None:
            frame, self._served = self._served, None
            if segmentation:
                frame.segmentation = super().render(False, False, True).segmentation
            return frame
        if self.deferred and (rgb or depth):  # the batch serves these; a segmentation is always drawn here
            return Frame()
        return super().render(rgb, depth, segmentation)
