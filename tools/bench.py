"""Throughput benchmarks: ``python -m tools.bench --out DIR`` writes ``DIR/bench.json`` and ``DIR/bench.png``
and prints a table.

Every rate is measured in the same run as its reference, so the ratios are what to compare across machines:
- ``env``: Peekaboo env steps/s (random policy, resets included), single process, at each resolution;
- ``raw``: plain ``mujoco.Renderer`` + ``mj_step`` on the *same compiled model* (the ceiling for one process);
- ``vec2``: a 2-process ``AsyncVectorEnv`` (forkserver) of the same env;
- ``memory``: resident memory before and after many steps with layout changes (a leak check);
- ``batched`` (``--batched N``): :class:`env.batched.BatchedInfantEnv` of N worlds in one process, and
  ``--procs`` such processes side by side (summed), each vs the single env;
- ``miniworld``: MiniWorld OneRoom at the same size, if ``miniworld`` is installed (else the reason it skipped);
- ``ppo`` (``--ppo-steps``): PPO end to end on ``--procs`` processes of batched worlds, with the agent's default
  encoder and with SB3's NatureCNN, each with its ratio to env-only steps/s on the same envs, and the naive
  reference (SB3 ``CnnPolicy`` on a ``SubprocVecEnv`` of single envs).
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


def batched_rate(size: int, n_envs: int, seconds: float, env_id: str = ENV_ID, tiled: bool = True) -> float:
    """Env steps/s of a :class:`BatchedInfantEnv` of ``n_envs`` worlds (random actions, autoreset)."""
    from env.batched import make_batched

    v = make_batched(n_envs, env_id, width=size, height=size, tiled=tiled)
    try:
        v.reset(seed=0)
        rng = np.random.default_rng(0)
        return n_envs * _rate(lambda _: v.step(rng.integers(6, size=n_envs)), seconds, min_iters=10)
    finally:
        v.close()


def batched_procs_rate(size: int, n_envs: int, procs: int, seconds: float, env_id: str = ENV_ID) -> float:
    """Env steps/s of one SB3 VecEnv over ``procs`` processes × ``n_envs`` batched worlds (pipes included)."""
    from env.sb3_vec import SubprocBatchedVecEnv

    v = SubprocBatchedVecEnv(n_envs, procs, env_id, width=size, height=size)
    try:
        v.reset()
        rng = np.random.default_rng(0)
        return v.num_envs * _rate(lambda _: v.step(rng.integers(6, size=v.num_envs)), seconds, min_iters=10)
    finally:
        v.close()


def miniworld_rate(size: int, seconds: float) -> dict[str, Any]:
    """MiniWorld OneRoom steps/s at ``size``×``size`` (default settings), or why it was skipped."""
    try:
        import pyglet

        pyglet.options["headless"] = True
        import miniworld  # noqa: F401
    except Exception as exc:  # not installed, or no headless GL for pyglet
        return {"skipped": f"miniworld unavailable ({type(exc).__name__}: {exc}); pip install miniworld"}
    e = gym.make("MiniWorld-OneRoom-v0", obs_width=size, obs_height=size)
    e.reset(seed=0)
    rng = np.random.default_rng(0)

    def step(_: int) -> None:
        _, _, term, trunc, _ = e.step(int(rng.integers(e.action_space.n)))
        if term or trunc:
            e.reset()

    try:
        return {"steps_per_s": round(_rate(step, seconds), 1)}
    finally:
        e.close()


ROLLOUT = 512  # env steps per PPO rollout of the naive reference


def _single_env(size: int, env_id: str):
    return peekaboo_env.make(env_id, width=size, height=size)


def ppo_naive_rate(size: int, steps: int, procs: int = 2, env_id: str = ENV_ID) -> dict[str, Any]:
    """The naive reference of issue #6: SB3 PPO ``CnnPolicy`` (NatureCNN) on SB3's ``SubprocVecEnv`` of
    ``procs`` single envs, one torch thread throughout (rollouts of 512 steps, batch 256, 4 epochs)."""
    try:
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import SubprocVecEnv
    except ImportError as exc:
        return {"skipped": f"stable-baselines3 unavailable ({exc}); pip install stable-baselines3"}
    from functools import partial

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    venv = SubprocVecEnv([partial(_single_env, size, env_id) for _ in range(procs)], start_method="forkserver")
    n_steps = ROLLOUT // procs
    try:
        model = PPO("CnnPolicy", venv, n_steps=n_steps, batch_size=256, n_epochs=4, seed=0, verbose=0, device="cpu")
        model.learn(n_steps * procs)  # warm-up: first rollout + update
        t0 = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        done = model.num_timesteps - n_steps * procs
        return {"ppo_steps_per_s": round(done / (time.perf_counter() - t0), 1), "steps": done, "n_envs": procs,
                "batched": False, "encoder": "nature (SB3 CnnPolicy)", "torch_threads_train": 1}
    finally:
        venv.close()
        torch.set_num_threads(threads)


def ppo_rates(size: int, n_envs: int, procs: int, steps: int) -> dict[str, Any]:
    """PPO end to end on the batched env with the agent's default encoder and with SB3's NatureCNN trunk, and
    the naive reference; each batched one with its env-only rate on the same envs (``ratio``)."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"stable-baselines3 unavailable ({exc}); pip install stable-baselines3"}
    from agent.bench import ppo_throughput

    out: dict[str, Any] = {}
    for name, encoder, dim in (("agent", "fast", 256), ("nature", "nature", 512)):
        out[name] = ppo_throughput(ENV_ID, n_envs * procs, steps, size, size, encoder=encoder, features_dim=dim)
    out["naive"] = ppo_naive_rate(size, steps, procs)
    naive = out["naive"].get("ppo_steps_per_s")
    if naive:
        for name in ("agent", "nature"):
            out[name]["vs_naive"] = round(out[name]["ppo_steps_per_s"] / naive, 3)
    return out


def batched_memory_check(steps: int, n_envs: int = 4, size: int = 64) -> dict[str, float]:
    """RSS growth of a batched env over ``steps`` env steps (new home every 100-step episode)."""
    from env.batched import make_batched

    v = make_batched(n_envs, width=size, height=size, max_steps=100)
    v.reset(seed=0)
    rng = np.random.default_rng(0)
    run = lambda n: [v.step(rng.integers(6, size=n_envs)) for _ in range(n // n_envs)]  # noqa: E731
    run(3000)  # first layouts fill llvmpipe's shader cache and malloc arenas
    before, raw_before = _trimmed_rss_mb(), _rss_mb()
    run(steps)
    raw_after = _rss_mb()
    after = _trimmed_rss_mb()
    v.close()
    return {"steps": steps, "n_envs": n_envs, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
            "growth_mb": round(after - before, 1), "untrimmed_growth_mb": round(raw_after - raw_before, 1)}


def _trimmed_rss_mb() -> float:
    """RSS after returning free heap pages to the OS: layout churn fragments glibc's heap (tens of MB that
    ``malloc_trim`` gives back), which is not a leak; what stays is."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    return _rss_mb()


def run_batched_bench(size: int, seconds: float, n_envs: int, procs: int, ppo_steps: int,
                      single_rate: float | None, memory_steps: int) -> dict[str, Any]:
    """The batched-env section: batched, procs × batched, MiniWorld and PPO, with ratios to each other."""
    single = single_rate if single_rate is not None else env_rate(size, seconds)[0]
    out: dict[str, Any] = {"size": size, "n_envs": n_envs, "single_env_steps_per_s": round(single, 1)}
    b = batched_rate(size, n_envs, seconds)
    out.update({"batched_steps_per_s": round(b, 1), "batched_vs_single": round(b / single, 3)})
    if procs > 1:
        bp = batched_procs_rate(size, n_envs, procs, seconds)
        out.update({"procs": procs, "batched_procs_steps_per_s": round(bp, 1),
                    "batched_procs_vs_single": round(bp / single, 3)})
    mw = miniworld_rate(size, seconds)
    out["miniworld"] = mw
    if "steps_per_s" in mw:
        out["batched_vs_miniworld"] = round(b / mw["steps_per_s"], 3)
        if procs > 1:
            out["batched_procs_vs_miniworld"] = round(out["batched_procs_steps_per_s"] / mw["steps_per_s"], 3)
    if ppo_steps:
        out["ppo"] = ppo_rates(size, n_envs, procs, ppo_steps)
    if memory_steps:
        out["memory"] = batched_memory_check(memory_steps)
    return out


def format_batched(r: dict[str, Any]) -> str:
    """Lines for the batched section of :func:`format_table`."""
    lines = [f"batched ({r['size']}x{r['size']}, {r['n_envs']} worlds/process):",
             f"  single env        {r['single_env_steps_per_s']:>9.0f} steps/s",
             f"  batched           {r['batched_steps_per_s']:>9.0f} steps/s  ({r['batched_vs_single']:.2f}x single)"]
    if "procs" in r:
        lines.append(f"  batched x{r['procs']} procs  {r['batched_procs_steps_per_s']:>9.0f} steps/s  "
                     f"({r['batched_procs_vs_single']:.2f}x single)")
    mw = r["miniworld"]
    if "steps_per_s" in mw:
        lines.append(f"  MiniWorld OneRoom {mw['steps_per_s']:>9.0f} steps/s  (batched/MiniWorld "
                     f"{r['batched_vs_miniworld']:.2f}x" + (f", procs/MiniWorld {r['batched_procs_vs_miniworld']:.2f}x"
                                                             if "batched_procs_vs_miniworld" in r else "") + ")")
    else:
        lines.append(f"  MiniWorld OneRoom skipped: {mw['skipped']}")
    if "ppo" in r:
        p = r["ppo"]
        if "skipped" in p:
            lines.append(f"  PPO skipped: {p['skipped']}")
        else:
            for name, label in (("agent", "agent default (fast CNN)"), ("nature", "SB3 NatureCNN")):
                q = p[name]
                lines.append(f"  PPO {label:<25} {q['ppo_steps_per_s']:>6.0f} env-steps/s  ({q['n_envs']} batched "
                             f"worlds; {q['ratio']:.2f}x env-only {q['env_steps_per_s']:.0f}/s"
                             + (f"; {q['vs_naive']:.2f}x naive)" if "vs_naive" in q else ")"))
            nv = p["naive"]
            lines.append(f"  PPO naive (SubprocVecEnv, NatureCNN) {nv.get('ppo_steps_per_s', float('nan')):>6.0f} "
                         "env-steps/s")
    if "memory" in r:
        m = r["memory"]
        lines.append(f"  batched memory: {m['rss_before_mb']} MB -> {m['rss_after_mb']} MB over {m['steps']} steps "
                     f"(growth {m['growth_mb']} MB)")
    return "\n".join(lines)


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
    if "batched" in result:
        lines.append(format_batched(result["batched"]))
    return "\n".join(lines)


def plot_bench(result: dict[str, Any], path: Path) -> bool:
    """Bars of every steps/s figure of one run (``bench.png``); False when there is nothing to plot."""
    size = next(iter(result["sizes"]), None)
    bars: list[tuple[str, float, str]] = []
    if size is not None:
        r = result["sizes"][size]
        bars += [("raw MuJoCo", r["raw_mujoco_steps_per_s"], "C7"), ("env", r["env_steps_per_s"], "C0")]
        if "vec2_steps_per_s" in r:
            bars.append(("env x2 procs", r["vec2_steps_per_s"], "C0"))
    b = result.get("batched", {})
    if "batched_steps_per_s" in b:
        bars.append((f"batched {b['n_envs']}", b["batched_steps_per_s"], "C2"))
    if "batched_procs_steps_per_s" in b:
        bars.append((f"batched {b['n_envs']} x{b['procs']} procs", b["batched_procs_steps_per_s"], "C2"))
    if "steps_per_s" in b.get("miniworld", {}):
        bars.append(("MiniWorld OneRoom", b["miniworld"]["steps_per_s"], "C3"))
    ppo = b.get("ppo", {})
    for key, label in (("agent", "PPO (fast CNN)"), ("nature", "PPO (NatureCNN)"), ("naive", "PPO naive")):
        if "ppo_steps_per_s" in ppo.get(key, {}):
            bars.append((label, ppo[key]["ppo_steps_per_s"], "C1"))
    if not bars:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 0.32 * len(bars) + 1.0))
    names, values, colours = zip(*bars)
    ax.barh(range(len(bars)), values, color=colours)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.0f}", va="center", fontsize=7)
    ax.set_yticks(range(len(bars)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"steps/s at {size or b.get('size')} px ({result['machine'].get('cpus')} CPUs, one run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder for bench.json")
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="square resolutions")
    p.add_argument("--memory-steps", type=int, default=10_000, help="steps for the leak check (0 = skip)")
    p.add_argument("--no-vec", action="store_true", help="skip the 2-process measurement")
    p.add_argument("--batched", type=int, default=8, metavar="N",
                   help="bench a batched env of N worlds/process, MiniWorld and PPO (default 8; 0 = skip)")
    p.add_argument("--procs", type=int, default=2, help="processes for the batched x procs line")
    p.add_argument("--ppo-steps", type=int, default=4096, help="PPO env steps timed with --batched (0 = skip)")
    p.add_argument("--batched-memory-steps", type=int, default=0, help="batched leak-check steps (0 = skip)")
    p.add_argument("--batched-only", action="store_true", help="with --batched: skip the classic table")
    a = p.parse_args(argv)
    if a.batched_only:
        result: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                              "mujoco": mujoco.__version__}, "env_id": ENV_ID, "sizes": {}}
    else:
        result = run_bench(tuple(a.sizes), a.seconds, a.memory_steps, not a.no_vec)
    if a.batched:
        size = a.sizes[0]
        single = result["sizes"].get(str(size), {}).get("env_steps_per_s")
        result["batched"] = run_batched_bench(size, a.seconds, a.batched, a.procs, a.ppo_steps, single,
                                              a.batched_memory_steps)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(result, indent=2))
    print(format_table(result))
    plotted = plot_bench(result, a.out / "bench.png")
    print(f"wrote {a.out / 'bench.json'}" + (f", {a.out / 'bench.png'}" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
