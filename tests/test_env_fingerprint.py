"""What an agent sees and is rewarded for, pinned: a digest of fixed-seed episodes (observations, rewards, ends
and infos) of the single and the batched env, recorded before the step's speed work of issue #18.

Speed work on the step (Python glue, culling, readback, info batching) must leave every byte of these the same.

The batched digests were re-recorded on 2026-11-30 (issue #18) when the batched env became untiled by default:
its frames now equal the single env's byte for byte (``tests/test_env_batched.py::
test_default_batched_env_is_byte_identical_to_single_envs`` checked that before re-recording), where tiles
changed edge pixels in 29% of frames. The tiled batch's digests (``batched_tiled``, ``tiled=True``) are the
ones recorded at 785061d, unchanged; the single env's digests did not change.
Frames depend on the rasterizer, so the digests are only asserted under the MuJoCo and OpenGL they were
recorded with (Mesa llvmpipe of the development machine); elsewhere the test skips and says how to re-record.
"""

from __future__ import annotations

import hashlib
from typing import Any

import mujoco
import numpy as np
import pytest

import env
from env.backends.mujoco.gl import gl_info
from env.batched import make_batched

SIZE = 64
RECORDED_ON = "mujoco 4.0.0 | llvmpipe (LLVM 15.0.6, 256 bits) | 4.5 (Compatibility Profile) Mesa 22.3.6"
"""The MuJoCo and OpenGL the digests below were recorded with (``_machine()``)."""
DIGESTS: dict[tuple[str, str], str] = {
    ("Peekaboo/FindToy-v1", "single"): "9591bf9b4effb1e9",
    ("Peekaboo/FindToy-v1", "batched"): "df68f9485c73e6da",
    ("Peekaboo/FindToy-v1", "batched_tiled"): "01dc6df25d56ebf1",
    ("Peekaboo/Occluder-v2", "single"): "4c590b55a6db1cc1",
    ("Peekaboo/Occluder-v2", "batched"): "6efcc46d5fae084a",
    ("Peekaboo/Occluder-v2", "batched_tiled"): "f898fd9d3921cc5f",
}
"""(env id, single / batched / batched_tiled) → the first 16 hex digits of the sha256 of :func:`single_digest` /
:func:`batched_digest`'s episodes: single and batched_tiled as recorded at commit 785061d (before the glue work of
issue #18; batched_tiled was then the batched default), batched (untiled, the default) re-recorded on 2026-11-30."""


def _machine() -> str:
    gl = gl_info()
    return f"mujoco {mujoco.__version__} | {gl['renderer']} | {gl['version']}"


def _feed(h: Any, obj: Any) -> None:
    """Hash ``obj`` by value: arrays by dtype, shape and bytes (object arrays element by element), dicts in order."""
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        h.update(str(obj.shape).encode())
        for x in obj.ravel():
            _feed(h, x)
    elif isinstance(obj, np.ndarray):
        h.update(str((obj.dtype, obj.shape)).encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, dict):
        for k, v in obj.items():
            h.update(repr(k).encode())
            _feed(h, v)
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for x in obj:
            _feed(h, x)
        h.update(b"]")
    else:
        h.update(repr(obj).encode())


def single_digest(env_id: str, steps: int = 400, seed: int = 0) -> str:
    """Digest of ``steps`` random-action steps of the single env (resets included)."""
    e = env.make(env_id, width=SIZE, height=SIZE)
    h = hashlib.sha256()
    try:
        _feed(h, e.reset(seed=seed))
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            out = e.step(int(rng.integers(6)))
            _feed(h, out)
            if out[2] or out[3]:
                _feed(h, e.reset())
    finally:
        e.close()
    return h.hexdigest()[:16]


def batched_digest(env_id: str, steps: int = 150, n: int = 4, seed: int = 0, tiled: bool = False) -> str:
    """Digest of a batch of ``n`` worlds: ``steps`` gymnasium steps (next-step autoreset), then ``steps // 2`` of
    :meth:`step_same_reset` (the learner's), infos included."""
    v = make_batched(n, env_id, width=SIZE, height=SIZE, tiled=tiled)
    h = hashlib.sha256()
    try:
        _feed(h, v.reset(seed=seed))
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            _feed(h, v.step(rng.integers(6, size=n)))
        for _ in range(steps // 2):
            _feed(h, v.step_same_reset(rng.integers(6, size=n)))
    finally:
        v.close()
    return h.hexdigest()[:16]


@pytest.mark.parametrize(("env_id", "kind"), list(DIGESTS))
def test_episodes_are_byte_identical_to_the_recorded_ones(env_id: str, kind: str) -> None:
    machine = _machine()
    if machine != RECORDED_ON:
        pytest.skip(f"digests were recorded on {RECORDED_ON!r}, this is {machine!r}: frames depend on the "
                    "rasterizer; re-record DIGESTS here from a commit known to be right to use this test")
    digest = single_digest(env_id) if kind == "single" else batched_digest(env_id, tiled=kind == "batched_tiled")
    assert digest == DIGESTS[(env_id, kind)], f"{env_id} {kind}: episodes changed (obs, rewards, ends or infos)"


def test_the_digest_sees_a_one_pixel_change() -> None:
    h1, h2 = hashlib.sha256(), hashlib.sha256()
    frame = np.zeros((SIZE, SIZE, 3), np.uint8)
    _feed(h1, (frame, 0.0, False, False, {"events": ["reset"]}))
    frame[5, 7, 1] = 1
    _feed(h2, (frame, 0.0, False, False, {"events": ["reset"]}))
    assert h1.hexdigest() != h2.hexdigest()
