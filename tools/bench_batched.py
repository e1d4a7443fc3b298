"""The batched section of ``python -m tools.bench``: batched worlds in one and several processes, MiniWorld
OneRoom side by side, PPO end to end (agent default, NatureCNN, the naive reference) and the batched leak check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import env as peekaboo_env  # sets headless GL first
import gymnasium as gym

from tools.benchutil import (ENV_ID, WARMUP_SECONDS, env_rate, random_steps_rate, rate as _rate, rss_mb as _rss_mb,
                             timed_calls, warm_up)


def batched_rate(size: int, n_envs: int, seconds: float, env_id: str = ENV_ID, tiled: bool = False) -> float:
    """Env steps/s of a :class:`BatchedInfantEnv` of ``n_envs`` worlds (random actions, autoreset)."""
    from env.batched import make_batched

    v = make_batched(n_envs, env_id, width=size, height=size, tiled=tiled)
    try:
        rng = np.random.default_rng(0)
        step = lambda _: v.step(rng.integers(6, size=n_envs))
        v.reset(seed=0)
        warm_up(step, min(WARMUP_SECONDS, seconds))  # then every world from its first home, as env_rate's streams
        v.reset(seed=0)
        n, dt = timed_calls(step, seconds, min_iters=10, warm=False)
        return n_envs * n / dt
    finally:
        v.close()


def batched_procs_rate(size: int, n_envs: int, procs: int, seconds: float, env_id: str = ENV_ID) -> float:
    """Env steps/s of one SB3 VecEnv over ``procs`` processes × ``n_envs`` batched worlds (pipes included)."""
    from agent.vec_env import SubprocBatchedVecEnv

    v = SubprocBatchedVecEnv(n_envs, procs, env_id, width=size, height=size)
    try:
        v.reset()
        rng = np.random.default_rng(0)
        return v.num_envs * _rate(lambda _: v.step(rng.integers(6, size=v.num_envs)), seconds, min_iters=10,
                                  in_process=False)
    finally:
        v.close()


class RandomActor:
    """A :class:`agent.rollout_protocol.RolloutActor` that draws uniform actions from its own seeded generator: the
    env side of an in-worker rollout, without a policy."""

    def __init__(self, n_actions: int, seed: int) -> None:
        self.n_actions = n_actions
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: np.ndarray, episode_starts: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self.rng.integers(self.n_actions, size=len(obs)), {}


ROLLOUT_STEPS = 128
"""Steps per in-worker rollout in :func:`rollout_rate` (``PPOConfig.n_steps``, as the trainer's)."""


def rollout_rate(size: int, n_envs: int, procs: int, seconds: float, env_id: str = ENV_ID) -> float:
    """Env steps/s of in-worker rollouts (:meth:`agent.vec_env.SubprocBatchedVecEnv.rollout`, the path the trainer
    collects with) over ``procs`` processes × ``n_envs`` batched worlds, random actions chosen in the workers;
    whole rollouts of :data:`ROLLOUT_STEPS` steps, chunks of 16, wall clock (the work is in the workers). Each
    process's worlds start from the homes of seeds ``0 .. n_envs-1``."""
    from agent.vec_env import SubprocBatchedVecEnv

    v = SubprocBatchedVecEnv(n_envs, procs, env_id, width=size, height=size)
    try:
        # every process steps the homes of seeds 0..n_envs-1, as the single env and one process do: homes differ 2x
        # in physics cost (docs/throughput.md), so unequal homes would be read as a scaling gain or loss
        v._seeds = [i % n_envs for i in range(v.num_envs)]
        v.reset()
        calls = [0]

        def rollout(_: int) -> None:
            calls[0] += 1
            actors = [RandomActor(int(v.action_space.n), 1000 * calls[0] + p) for p in range(procs)]
            for _part in v.rollout(actors, ROLLOUT_STEPS):
                pass

        return v.num_envs * ROLLOUT_STEPS * _rate(rollout, seconds, min_iters=2, in_process=False)
    finally:
        v.close()


def miniworld_rate(size: int, seconds: float) -> dict[str, Any]:
    """MiniWorld OneRoom steps/s at ``size``×``size`` (default settings), or why it was skipped."""
    try:
        import pyglet

        pyglet.options["headless"] = True
        import miniworld  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - not installed, or no headless GL for pyglet
        return {"skipped": f"miniworld unavailable ({type(exc).__name__}: {exc}); pip install miniworld"}
    e = gym.make("MiniWorld-OneRoom-v0", obs_width=size, obs_height=size)
    try:
        return {"steps_per_s": round(random_steps_rate(e, seconds), 1)}
    finally:
        e.close()


def miniworld_rate_threaded(size: int, seconds: float) -> dict[str, Any]:
    """MiniWorld as it runs by default: in a fresh process with llvmpipe's rasterizer threads (one per core).
    Peekaboo renders in the calling thread (``env.glsetup``), and so does MiniWorld in this process."""
    env = {**os.environ, "LP_NUM_THREADS": str(os.cpu_count() or 1)}  # llvmpipe's own default
    code = (f"import json; from tools.bench_batched import miniworld_rate; "
            f"print(json.dumps(miniworld_rate({size}, {seconds})))")
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                             cwd=Path(__file__).resolve().parents[1], check=True)
        return {**json.loads(out.stdout.strip().splitlines()[-1]), "lp_num_threads": env["LP_NUM_THREADS"]}
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"skipped": f"MiniWorld subprocess failed ({type(exc).__name__}: {exc})"}


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


ALL_PPO = frozenset({"ppo", "nature", "recurrent", "naive"})


def ppo_rates(size: int, n_envs: int, procs: int, steps: int, parts: frozenset[str] = ALL_PPO) -> dict[str, Any]:
    """PPO end to end on the batched env with the agent's default encoder (``ppo``, reported as ``agent``), with
    SB3's NatureCNN trunk and RecurrentPPO, and the naive reference, those of ``parts``; each batched one with
    its env-only rate on the same envs (``ratio``)."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"stable-baselines3 unavailable ({exc}); pip install stable-baselines3"}
    from agent.bench import ppo_throughput

    out: dict[str, Any] = {}
    for part, name, encoder, dim, recurrent in (("ppo", "agent", "fast", 256, False),
                                                ("nature", "nature", "nature", 512, False),
                                                ("recurrent", "recurrent", "fast", 256, True)):
        if part in parts:
            out[name] = ppo_throughput(ENV_ID, n_envs * procs, steps, size, size, encoder=encoder,
                                       features_dim=dim, recurrent=recurrent)
    if "naive" in parts:
        out["naive"] = ppo_naive_rate(size, steps, procs)
        naive = out["naive"].get("ppo_steps_per_s")
        if naive:
            for name in ("agent", "nature", "recurrent"):
                if name in out:
                    out[name]["vs_naive"] = round(out[name]["ppo_steps_per_s"] / naive, 3)
    return out


def batched_memory_check(steps: int, n_envs: int = 4, size: int = 64) -> dict[str, float]:
    """RSS growth of a batched env over ``steps`` env steps (new home every 100-step episode)."""
    from env.batched import make_batched

    v = make_batched(n_envs, width=size, height=size, max_steps=100)
    v.reset(seed=0)
    rng = np.random.default_rng(0)
    run = lambda n: [v.step(rng.integers(6, size=n_envs)) for _ in range(n // n_envs)]
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


BATCHED_PARTS = frozenset({"batched", "procs", "rollouts", "miniworld", "miniworld_threaded"}) | ALL_PPO


def run_batched_bench(size: int, seconds: float, n_envs: int, procs: int, ppo_steps: int,
                      single_rate: float | None, memory_steps: int,
                      parts: frozenset[str] = BATCHED_PARTS) -> dict[str, Any]:
    """The batched-env section: batched, procs × batched, MiniWorld and PPO (those of ``parts``), with ratios to
    each other and to the single env (measured here when ``single_rate`` is None)."""
    single = single_rate if single_rate is not None else env_rate(size, seconds, seeds=range(n_envs))[0]
    out: dict[str, Any] = {"size": size, "n_envs": n_envs, "single_env_steps_per_s": round(single, 1)}
    if "batched" in parts:
        b = batched_rate(size, n_envs, seconds)
        out.update({"batched_steps_per_s": round(b, 1), "batched_vs_single": round(b / single, 3)})
    if procs > 1 and "procs" in parts:
        bp = batched_procs_rate(size, n_envs, procs, seconds)
        out.update({"procs": procs, "batched_procs_steps_per_s": round(bp, 1),
                    "batched_procs_vs_single": round(bp / single, 3)})
    if "rollouts" in parts:  # one process and ``procs`` processes on the trainer's path, in the same run
        one = rollout_rate(size, n_envs, 1, seconds)
        out.update({"rollout_1proc_steps_per_s": round(one, 1), "rollout_1proc_vs_single": round(one / single, 3)})
        if procs > 1:
            many = rollout_rate(size, n_envs, procs, seconds)
            out.update({"procs": procs, "rollout_procs_steps_per_s": round(many, 1),
                        "rollout_procs_vs_1proc": round(many / one, 3),
                        "rollout_procs_vs_single": round(many / single, 3)})
    if parts & {"miniworld", "miniworld_threaded"}:
        mw = out["miniworld"] = miniworld_rate(size, seconds)
        if "steps_per_s" in mw:
            out["single_vs_miniworld"] = round(single / mw["steps_per_s"], 3)
            if "miniworld_threaded" in parts:
                out["miniworld_threaded"] = miniworld_rate_threaded(size, seconds)
            if "batched_steps_per_s" in out:
                out["batched_vs_miniworld"] = round(out["batched_steps_per_s"] / mw["steps_per_s"], 3)
            if "batched_procs_steps_per_s" in out:
                out["batched_procs_vs_miniworld"] = round(out["batched_procs_steps_per_s"] / mw["steps_per_s"], 3)
    if ppo_steps and parts & ALL_PPO:
        out["ppo"] = ppo_rates(size, n_envs, procs, ppo_steps, parts & ALL_PPO)
    if memory_steps:
        out["memory"] = batched_memory_check(memory_steps)
    return out


def format_batched(r: dict[str, Any]) -> str:
    """Lines for the batched section of :func:`format_table`."""
    lines = [f"batched ({r['size']}x{r['size']}, {r['n_envs']} worlds/process):",
             f"  single env        {r['single_env_steps_per_s']:>9.0f} steps/s"
             + (f"  ({r['single_vs_miniworld']:.2f}x MiniWorld)" if "single_vs_miniworld" in r else "")]
    if "batched_steps_per_s" in r:
        lines.append(f"  batched           {r['batched_steps_per_s']:>9.0f} steps/s  ({r['batched_vs_single']:.2f}x "
                     "single)")
    if "batched_procs_steps_per_s" in r:
        lines.append(f"  batched x{r['procs']} procs  {r['batched_procs_steps_per_s']:>9.0f} steps/s  "
                     f"({r['batched_procs_vs_single']:.2f}x single)")
    if "rollout_1proc_steps_per_s" in r:
        lines.append(f"  in-worker rollouts, 1 proc  {r['rollout_1proc_steps_per_s']:>9.0f} steps/s  "
                     f"({r['rollout_1proc_vs_single']:.2f}x single)")
    if "rollout_procs_steps_per_s" in r:
        lines.append(f"  in-worker rollouts, {r['procs']} procs {r['rollout_procs_steps_per_s']:>9.0f} steps/s  "
                     f"({r['rollout_procs_vs_1proc']:.2f}x 1 proc, {r['rollout_procs_vs_single']:.2f}x single)")
    mw = r.get("miniworld", {"skipped": "not measured (--only)"})
    if "steps_per_s" in mw:
        ratios = [f"{label}/MiniWorld {r[key]:.2f}x" for key, label in
                  (("single_vs_miniworld", "single"), ("batched_vs_miniworld", "batched"),
                   ("batched_procs_vs_miniworld", "procs")) if key in r]
        lines.append(f"  MiniWorld OneRoom {mw['steps_per_s']:>9.0f} steps/s  ({', '.join(ratios)})")
        mt = r.get("miniworld_threaded", {})
        if "steps_per_s" in mt:
            lines.append(f"  MiniWorld, llvmpipe threads (its default) {mt['steps_per_s']:>6.0f} steps/s")
    else:
        lines.append(f"  MiniWorld OneRoom skipped: {mw['skipped']}")
    if "ppo" in r:
        p = r["ppo"]
        if "skipped" in p:
            lines.append(f"  PPO skipped: {p['skipped']}")
        else:
            for name, label in (("agent", "agent default (fast CNN)"), ("nature", "SB3 NatureCNN"),
                                ("recurrent", "RecurrentPPO (fast+LSTM)")):
                if name not in p:
                    continue
                q = p[name]
                ph = q.get("phase_s", {})
                split = (f"; rollouts {ph['rollout']:.1f} s, gradient epochs {ph['train']:.1f} s"
                         + (f" = {q['phase_share']:.0%} of the run" if "phase_share" in q else "") if ph else "")
                lines.append(f"  PPO {label:<25} {q['ppo_steps_per_s']:>6.0f} env-steps/s  ({q['n_envs']} batched "
                             f"worlds; {q['ratio']:.2f}x env-only {q['env_steps_per_s']:.0f}/s"
                             + (f"; {q['vs_naive']:.2f}x naive" if "vs_naive" in q else "") + split + ")")
            nv = p.get("naive", {})
            if nv:
                lines.append(f"  PPO naive (SubprocVecEnv, NatureCNN) {nv.get('ppo_steps_per_s', float('nan')):>6.0f} "
                             "env-steps/s")
    if "memory" in r:
        m = r["memory"]
        lines.append(f"  batched memory: {m['rss_before_mb']} MB -> {m['rss_after_mb']} MB over {m['steps']} steps "
                     f"(growth {m['growth_mb']} MB)")
    return "\n".join(lines)
