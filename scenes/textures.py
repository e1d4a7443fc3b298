"""Procedural textures drawn with numpy: nothing is downloaded."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from scenes.spec import Texture


def _mix(t: np.ndarray, rgb1: tuple[float, ...], rgb2: tuple[float, ...]) -> np.ndarray:
    a = np.asarray(rgb1, np.float32)
    b = np.asarray(rgb2, np.float32)
    return t[..., None] * a + (1.0 - t[..., None]) * b


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise: a coarse random grid bilinearly upsampled, tileable."""
    grid = rng.random((cells, cells)).astype(np.float32)
    grid = np.concatenate([grid, grid[:1]], 0)
    grid = np.concatenate([grid, grid[:, :1]], 1)
    u = np.linspace(0, cells, size, endpoint=False)
    i = u.astype(int)
    f = u - i
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


@lru_cache(maxsize=256)
def make_texture(tex: Texture) -> np.ndarray:
    """RGB uint8 image (size, size, 3) for ``tex``; cached because textures are immutable data."""
    n = tex.size
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    k = max(1.0, round(tex.scale))
    rng = np.random.default_rng(tex.seed)
    if tex.pattern == "plain":
        t = 0.9 + 0.1 * _smooth_noise(rng, n, 8)
        img = _mix(t, tex.rgb1, (0.0, 0.0, 0.0))
    elif tex.pattern == "checker":
        t = ((np.floor(x * k) + np.floor(y * k)) % 2).astype(np.float32)
        img = _mix(t, tex.rgb1, tex.rgb2)
    elif tex.pattern == "stripes":
        t = (np.sin(2 * np.pi * k * x) > 0).astype(np.float32)
        img = _mix(t, tex.rgb1, tex.rgb2)
    elif tex.pattern == "dots":
        d = np.hypot((x * k) % 1 - 0.5, (y * k) % 1 - 0.5)
        img = _mix((d < 0.3).astype(np.float32), tex.rgb2, tex.rgb1)
    elif tex.pattern == "noise":
        img = _mix(_smooth_noise(rng, n, 8) * 0.6 + _smooth_noise(rng, n, 32) * 0.4, tex.rgb1, tex.rgb2)
    elif tex.pattern == "wood":
        plank = np.floor(y * k)
        offsets = rng.random(int(k) + 1).astype(np.float32)
        grain = 0.5 + 0.5 * np.sin(40 * (x + offsets[plank.astype(int)]) + 6 * _smooth_noise(rng, n, 4))
        seam = ((y * k) % 1 < 0.06).astype(np.float32)
        img = _mix(grain * (1 - seam), tex.rgb1, tex.rgb2)
    else:
        raise ValueError(f"unknown texture pattern {tex.pattern!r}")
    out = np.clip(img * 255.0, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out
