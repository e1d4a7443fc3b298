"""The Warp section of ``python -m tools.bench --warp N``: MuJoCo Warp ray-cast frames/s of N infant eyes in one
Peekaboo home, beside the EGL batch on the same home, and how closely the two images agree."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

import env as peekaboo_env  # sets headless GL first
from tools.benchutil import ENV_ID


def _head_states(backend: Any, nworld: int, turn: float) -> tuple[np.ndarray, np.ndarray]:
    """Mocap positions/orientations of ``nworld`` copies of the home, each infant turned a little further."""
    from env.backends.mujoco.compiler import eye_quat, yaw_quat

    d, m = backend.data, backend.model
    head, infant = m.body("infant_head").mocapid[0], m.body("infant").mocapid[0]
    pos = np.repeat(d.mocap_pos[None], nworld, axis=0)
    quat = np.repeat(d.mocap_quat[None], nworld, axis=0)
    for w in range(nworld):
        yaw = turn + 2 * math.pi * w / nworld
        quat[w, head] = eye_quat(yaw, 0.0)
        quat[w, infant] = yaw_quat(yaw)
    return pos, quat


def warp_rate(nworld: int, size: int, seconds: float, device: str | None = None) -> dict[str, Any]:
    """Frames/s of :class:`WarpEyeRenderer` over ``nworld`` worlds (state upload, kinematics, BVH refit, ray-cast
    and copy back included), and its agreement with the EGL render of the same view; or why it was skipped."""
    from env.backends.mujoco.warp_renderer import WarpEyeRenderer, import_warp

    try:
        import_warp()
    except ImportError as exc:
        return {"skipped": f"{exc}"}
    e = peekaboo_env.make(ENV_ID, width=size, height=size)
    obs, _ = e.reset(seed=0)
    backend = e.unwrapped.backend
    try:
        t = time.perf_counter()
        r = WarpEyeRenderer(backend.model, nworld, size, size, device)
        pos, quat = _head_states(backend, nworld, 0.0)
        pos[:] = backend.data.mocap_pos
        quat[0] = backend.data.mocap_quat  # world 0 is the env's own view
        first = r.render(np.repeat(backend.data.qpos[None], nworld, 0), pos, quat)
        setup_s = time.perf_counter() - t
        diff = np.abs(first[0].astype(np.int16) - obs.astype(np.int16))
        n, t = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - t < seconds:
            pos_n, quat_n = _head_states(backend, nworld, 0.01 * n)
            r.render(mocap_pos=pos_n, mocap_quat=quat_n)
            n += 1
        batch_s = (time.perf_counter() - t) / n
    finally:
        e.close()
    return {"device": str(r.device), "worlds": nworld, "size": size, "frames_per_s": round(nworld / batch_s, 1),
            "batch_ms": round(1e3 * batch_s, 3), "setup_s": round(setup_s, 2),
            "vs_egl": {"mean_abs_diff": round(float(diff.mean()), 3),
                       "pixels_within_24": round(float((diff.max(-1) <= 24).mean()), 4)}}


def format_warp(w: dict[str, Any]) -> str:
    """One line for the bench table."""
    if "skipped" in w:
        return f"warp: skipped ({w['skipped']})"
    a = w["vs_egl"]
    return (f"warp ray-cast ({w['device']}, {w['worlds']} worlds, {w['size']}x{w['size']}): {w['frames_per_s']:.0f} "
            f"frames/s ({w['batch_ms']:.2f} ms/batch); vs EGL: mean |diff| {a['mean_abs_diff']:.1f}/255, "
            f"{100 * a['pixels_within_24']:.1f}% of pixels within 24")


def warp_env_rate(nworld: int, size: int, steps: int, device: str | None = None, homes: int = 0,
                  ppo_steps: int = 0, n_steps: int = 32) -> dict[str, Any]:
    """``--warp-env N``: env steps/s of :class:`env.warp_vector.WarpVectorEnv` with N worlds (random actions,
    resets included) and, with ``ppo_steps``, PPO env-steps/s on it (``agent.train --sim warp``'s learner on the
    same device). ``homes`` > 0: a bank of that many homes (0: a home per world)."""
    from agent.bench import ppo_throughput
    from env.warp_vector import make_warp, warp_device

    dev = warp_device(device)
    v = make_warp(nworld, ENV_ID, width=size, height=size, device=dev, homes=homes or None)
    try:
        v.reset(seed=0)
        rng = np.random.default_rng(0)
        v.step(rng.integers(6, size=nworld))  # first step: kernel compiles, CUDA graph capture
        t, n = time.perf_counter(), 0
        while n < steps:
            v.step(rng.integers(6, size=nworld))
            n += nworld
        env_sps = n / (time.perf_counter() - t)
    finally:
        v.close()
    out: dict[str, Any] = {"worlds": nworld, "homes": homes, "size": size, "device": dev,
                           "env_steps_per_s": round(env_sps, 1), "steps": n}
    if ppo_steps:
        torch_device = "cuda" if dev.startswith("cuda") else "cpu"
        ppo = ppo_throughput(ENV_ID, nworld, ppo_steps, size, size, n_steps=n_steps, sim="warp",
                             device=torch_device, warp_homes=homes)
        out["ppo"] = ppo
        out["ppo_steps_per_s"] = ppo["ppo_steps_per_s"]
    return out


def format_warp_env(w: dict[str, Any]) -> str:
    """One line of the ``--warp-env`` result."""
    line = (f"warp env: {w['worlds']} worlds ({w['homes'] or 'own'} homes) at {w['size']} px on {w['device']}: "
            f"{w['env_steps_per_s']:.1f} env steps/s")
    if "ppo_steps_per_s" in w:
        line += f", PPO {w['ppo_steps_per_s']:.1f} env-steps/s"
    return line
