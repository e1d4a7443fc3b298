"""Throughput benchmarks: ``python -m tools.bench --out DIR`` writes ``DIR/bench.json`` and prints a table.

Every rate is measured in the same run as its reference, so the ratios are what to compare across machines:
- ``env``: Peekaboo env steps/s (random policy, resets included), single process, at each resolution;
- ``raw``: plain ``mujoco.Renderer`` + ``mj_step`` on the *same compiled model* (the ceiling for one process);
- ``vec2``: a 2-process ``AsyncVectorEnv`` (forkserver) of the same env;
- ``memory``: resident memory before and after many steps with layout changes (a leak check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import env as peekaboo_env  # sets headless GL first
import gymnasium as gym
import mujoco
import numpy as np

ENV_ID = "Peekaboo/FindToy-v0"


def _rate(fn: Callable[[int], None], seconds: float, min_iters: int = 50) -> float:
    """Calls per second of ``fn(i)`` over about ``seconds`` (after one warm-up call)."""
    fn(0)
    n, t0 = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - t0 < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - t0)


def env_rate(size: int, seconds: float, env_id: str = ENV_ID, **kwargs: Any) -> tuple[float, gym.Env]:
    """Single-process env steps/s with random actions; returns the (still open) env too."""
    e = peekaboo_env.make(env_id, width=size, height=size, **kwargs)
    e.reset(seed=0)
    rng = np.random.default_rng(0)
    n_actions = e.action_space.n

    def step(_: int) -> None:
        _, _, term, trunc, _ = e.step(int(rng.integers(n_actions)))
        if term or trunc:
            e.reset()

    return _rate(step, seconds), e


def raw_mujoco_rate(model: mujoco.MjModel, size: int, substeps: int, seconds: float) -> float:
    """``mj_step`` × substeps + ``mujoco.Renderer`` render of the infant's eye, on ``model`` as compiled."""
    data = mujoco.MjData(model)
    r = mujoco.Renderer(model, size, size)
    cam = model.camera("infant_eye").id
    mocap = model.body("infant_head").mocapid[0]

    def step(i: int) -> None:
        data.mocap_quat[mocap] = (np.cos(i * 0.01), 0, 0, np.sin(i * 0.01))  # turn, so frames differ
        mujoco.mj_step(model, data, substeps)
        r.update_scene(data, cam)
        r.render()

    try:
        return _rate(step, seconds)
    finally:
        r.close()


def vec_rate(size: int, n_envs: int, seconds: float, env_id: str = ENV_ID) -> float:
    """Env steps/s summed over an ``n_envs``-process AsyncVectorEnv (forkserver: EGL is not fork-safe)."""
    fns = [lambda: peekaboo_env.make(env_id, width=size, height=size) for _ in range(n_envs)]
    v = gym.vector.AsyncVectorEnv(fns, context="forkserver")
    try:
        v.reset(seed=0)
        rng = np.random.default_rng(0)
        return n_envs * _rate(lambda _: v.step(rng.integers(6, size=n_envs)), seconds)
    finally:
        v.close()


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_check(steps: int, size: int = 64) -> dict[str, float]:
    """RSS after a warm-up vs after ``steps`` more steps (new home every episode of 100 steps)."""
    e = peekaboo_env.make(ENV_ID, width=size, height=size, max_steps=100)
    e.reset(seed=0)
    rng = np.random.default_rng(0)

    def run(n: int) -> None:
        for _ in range(n):
            _, _, term, trunc, _ = e.step(int(rng.integers(6)))
            if term or trunc:
                e.reset()

    run(1000)
    before = _rss_mb()
    run(steps)
    after = _rss_mb()
    e.close()
    return {"steps": steps, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
            "growth_mb": round(after - before, 1), "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run_bench(sizes: tuple[int, ...] = (64, 128), seconds: float = 3.0, memory_steps: int = 10_000,
              vec: bool = True) -> dict[str, Any]:
    """All core measurements; see the module docstring."""
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "mujoco": mujoco.__version__,
                    "MUJOCO_GL": os.environ.get("MUJOCO_GL")},
        "env_id": ENV_ID, "seconds_per_measurement": seconds, "sizes": {},
    }
    for size in sizes:
        rate, e = env_rate(size, seconds)
        inner = e.unwrapped
        substeps = max(1, round(inner.config.control_dt / inner.backend.model.opt.timestep))
        raw = raw_mujoco_rate(inner.backend.model, size, substeps, seconds)
        e.close()
        row = {"env_steps_per_s": round(rate, 1), "raw_mujoco_steps_per_s": round(raw, 1),
               "env_vs_raw": round(rate / raw, 3)}
        if vec:
            v = vec_rate(size, 2, seconds)
            row.update({"vec2_steps_per_s": round(v, 1), "vec2_vs_single": round(v / rate, 3)})
        result["sizes"][str(size)] = row
    if memory_steps:
        result["memory"] = memory_check(memory_steps)
    return result


def format_table(result: dict[str, Any]) -> str:
    """A readable table of :func:`run_bench`'s result."""
    lines = [f"{'size':>6} {'env/s':>9} {'raw/s':>9} {'env/raw':>8} {'vec2/s':>9} {'vec2/env':>9}"]
    for size, r in result["sizes"].items():
        lines.append(f"{size:>6} {r['env_steps_per_s']:>9.0f} {r['raw_mujoco_steps_per_s']:>9.0f} "
                     f"{r['env_vs_raw']:>8.2f} {r.get('vec2_steps_per_s', float('nan')):>9.0f} "
                     f"{r.get('vec2_vs_single', float('nan')):>9.2f}")
    if "memory" in result:
        m = result["memory"]
        lines.append(f"memory: {m['rss_before_mb']} MB → {m['rss_after_mb']} MB over {m['steps']} steps "
                     f"(growth {m['growth_mb']} MB)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder for bench.json")
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="square resolutions")
    p.add_argument("--memory-steps", type=int, default=10_000, help="steps for the leak check (0 = skip)")
    p.add_argument("--no-vec", action="store_true", help="skip the 2-process measurement")
    a = p.parse_args(argv)
    result = run_bench(tuple(a.sizes), a.seconds, a.memory_steps, not a.no_vec)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(result, indent=2))
    print(format_table(result))
    print(f"wrote {a.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
