"""Throughput benchmarks: ``python -m tools.bench --out DIR`` writes ``DIR/bench.json`` and ``DIR/bench.png``
and prints a table.

Every rate is measured in the same run as its reference, so the ratios are what to compare across machines:
- ``env``: Peekaboo env steps/s (random policy, resets included), single process, at each resolution, over the
  homes of seeds 0..N-1 in turn (N = ``--batched``: the homes the batched worlds step, so that the two compare);
- ``raw``: plain ``mujoco.Renderer`` + ``mj_step`` on the *same compiled model* (the ceiling for one process);
- ``vec2``: a 2-process ``AsyncVectorEnv`` (forkserver) of the same env;
- ``memory``: resident memory before and after many steps with layout changes (a leak check);
- ``batched`` (``--batched N``): :class:`env.batched.BatchedInfantEnv` of N worlds in one process, and
  ``--procs`` such processes side by side (summed), each vs the single env;
- ``rollouts``: in-worker rollouts (the path ``agent.train`` collects with: each process steps its batch with an
  actor it was sent, no round trip per step), random actions, in 1 and in ``--procs`` processes of N worlds;
- ``miniworld``: MiniWorld OneRoom at the same size, if ``miniworld`` is installed (else the reason it skipped),
  in this process, so with the same llvmpipe settings as Peekaboo (rendering in the calling thread), and
  ``miniworld_threaded`` in a fresh process with llvmpipe's default rasterizer threads;
- ``ppo`` (``--ppo-steps``): PPO end to end on ``--procs`` processes of batched worlds, with the agent's default
  encoder and with SB3's NatureCNN, each with its ratio to env-only steps/s on the same envs, and the naive
  reference (SB3 ``CnnPolicy`` on a ``SubprocVecEnv`` of single envs);
- ``warp`` (``--warp N``): MuJoCo Warp ray-cast rendering of N eyes in one home (the GPU path; on a machine
  without CUDA it runs on the CPU), with its agreement with the EGL image (needs ``pip install -e '.[gpu]'``);
- ``warp_env`` (``--warp-env N``): env steps/s of the MuJoCo Warp vector env (:mod:`env.warp_vector`) with N
  worlds on ``--warp-device`` (``--warp-homes K``: a bank of K homes), and PPO env-steps/s on it
  (``--ppo-steps``; the learner on the same device);
- ``profile`` (``--profile-steps``): where a step's time goes, single env and batched (:mod:`tools.stepprofile`);
- ``peak``: PPO's minibatch gradient step against a large matmul on one thread, in GFLOP/s (:mod:`tools.learner_peak`):
  what bounds the learner goals.

``--only PART ...`` measures a subset (cheap: one figure and its reference), e.g. ``--only single miniworld``;
``--cpu-clock`` counts the in-process figures (single, raw, batched, MiniWorld) per CPU-second of the bench
process, for a machine shared with other jobs. ``--quick`` is ``--only single vec2 batched procs rollouts miniworld
ppo recurrent`` at 64 px: every ratio the speed goals name.

``machine.gl`` names the OpenGL renderer that drew (``llvmpipe`` = Mesa on the CPU; a GPU's name when EGL found
its driver), so a figure is never read without knowing what rendered it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import env as peekaboo_env  # sets headless GL first
import gymnasium as gym
import mujoco
import numpy as np

from tools.bench_batched import format_batched, run_batched_bench
from tools.benchutil import ENV_ID, env_rate, rate as _rate, clock_name, rss_mb as _rss_mb, use_cpu_clock


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
        return n_envs * _rate(lambda _: v.step(rng.integers(6, size=n_envs)), seconds, in_process=False)
    finally:
        v.close()


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


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from env.backends.mujoco.gl import gl_info

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "mujoco": mujoco.__version__,
            "gl": gl_info()}


PARTS: dict[str, str] = {
    "single": "the single env's steps/s at each size",
    "raw": "raw MuJoCo on the same compiled model (with single)",
    "vec2": "2-process AsyncVectorEnv",
    "memory": "single-env leak check",
    "batched": "batched worlds in one process",
    "procs": "batched worlds x --procs processes",
    "rollouts": "in-worker rollouts (the trainer's path), 1 and --procs processes",
    "miniworld": "MiniWorld OneRoom in this process (same llvmpipe settings)",
    "miniworld_threaded": "MiniWorld in a fresh process at llvmpipe's default threads",
    "ppo": "PPO end to end, agent default encoder, vs env-only",
    "recurrent": "RecurrentPPO end to end vs env-only",
    "nature": "PPO with SB3's NatureCNN trunk vs env-only",
    "naive": "the naive PPO reference (SB3 CnnPolicy on SubprocVecEnv)",
    "profile": "where a step's time goes (tools.stepprofile)",
    "peak": "PPO's gradient step vs this core's fp32 matmul peak, one thread (tools.learner_peak)",
}
"""What ``--only`` can select; by default everything runs."""
QUICK = ("single", "vec2", "batched", "procs", "rollouts", "miniworld", "ppo", "recurrent")
"""``--quick``: the figures the speed goals are stated in (issue #18)."""


def run_bench(sizes: tuple[int, ...] = (64, 128), seconds: float = 3.0, memory_steps: int = 10_000,
              vec: bool = True, parts: frozenset[str] = frozenset(PARTS), homes: int = 1) -> dict[str, Any]:
    """All core measurements (those of ``parts``); see the module docstring. The single env steps the home
    streams of seeds ``0 .. homes-1`` in turn (:func:`tools.benchutil.random_steps_rate`): pass the batch size, so
    that it steps the homes the batched worlds step."""
    result: dict[str, Any] = {"machine": machine(), "env_id": ENV_ID, "seconds_per_measurement": seconds,
                              "clock": clock_name(), "single_env_seeds": homes, "sizes": {}}
    for size in sizes if parts & {"single", "raw", "vec2"} else ():
        rate, e = env_rate(size, seconds, seeds=range(homes))
        row = {"env_steps_per_s": round(rate, 1)}
        if "raw" in parts:
            inner = e.unwrapped
            substeps = max(1, round(inner.config.control_dt / inner.backend.model.opt.timestep))
            raw = raw_mujoco_rate(inner.backend.model, size, substeps, seconds)
            row.update({"raw_mujoco_steps_per_s": round(raw, 1), "env_vs_raw": round(rate / raw, 3)})
        e.close()
        if vec and "vec2" in parts:
            v = vec_rate(size, 2, seconds)
            row.update({"vec2_steps_per_s": round(v, 1), "vec2_vs_single": round(v / rate, 3)})
        result["sizes"][str(size)] = row
    if memory_steps and "memory" in parts:
        result["memory"] = memory_check(memory_steps)
    return result


def format_table(result: dict[str, Any]) -> str:
    """A readable table of :func:`run_bench`'s result."""
    lines = [f"{'size':>6} {'env/s':>9} {'raw/s':>9} {'env/raw':>8} {'vec2/s':>9} {'vec2/env':>9}"] \
        if result["sizes"] else []
    for size, r in result["sizes"].items():
        lines.append(f"{size:>6} {r['env_steps_per_s']:>9.0f} {r.get('raw_mujoco_steps_per_s', float('nan')):>9.0f} "
                     f"{r.get('env_vs_raw', float('nan')):>8.2f} {r.get('vec2_steps_per_s', float('nan')):>9.0f} "
                     f"{r.get('vec2_vs_single', float('nan')):>9.2f}")
    if "memory" in result:
        m = result["memory"]
        lines.append(f"memory: {m['rss_before_mb']} MB → {m['rss_after_mb']} MB over {m['steps']} steps "
                     f"(growth {m['growth_mb']} MB)")
    if "batched" in result:
        lines.append(format_batched(result["batched"]))
    if "warp" in result:
        from tools.bench_warp import format_warp
        lines.append(format_warp(result["warp"]))
    if "warp_env" in result:
        from tools.bench_warp import format_warp_env
        lines.append(format_warp_env(result["warp_env"]))
    if "peak" in result:
        from tools.learner_peak import format_peak
        lines.append(format_peak(result["peak"]))
    if "profile" in result:
        from tools.stepprofile import format_profile
        lines += ["", "where a step's time goes:", *(format_profile(p) for p in result["profile"])]
    if result.get("clock") == "cpu":
        lines.append("in-process rates per CPU-second of the bench process (--cpu-clock); multi-process ones per "
                     "wall second")
    gl = result.get("machine", {}).get("gl")
    if gl:
        lines.append(f"rendered by: {gl['renderer']} ({gl['vendor']}, MUJOCO_GL={gl['MUJOCO_GL']})")
    return "\n".join(lines)


def plot_bench(result: dict[str, Any], path: Path) -> bool:
    """Bars of every steps/s figure of one run (``bench.png``); False when there is nothing to plot."""
    size = next(iter(result["sizes"]), None)
    bars: list[tuple[str, float, str]] = []
    if size is not None:
        r = result["sizes"][size]
        if "raw_mujoco_steps_per_s" in r:
            bars.append(("raw MuJoCo", r["raw_mujoco_steps_per_s"], "C7"))
        bars.append(("env", r["env_steps_per_s"], "C0"))
        if "vec2_steps_per_s" in r:
            bars.append(("env x2 procs", r["vec2_steps_per_s"], "C0"))
    b = result.get("batched", {})
    if "batched_steps_per_s" in b:
        bars.append((f"batched {b['n_envs']}", b["batched_steps_per_s"], "C2"))
    if "batched_procs_steps_per_s" in b:
        bars.append((f"batched {b['n_envs']} x{b['procs']} procs", b["batched_procs_steps_per_s"], "C2"))
    if "steps_per_s" in b.get("miniworld", {}):
        bars.append(("MiniWorld OneRoom", b["miniworld"]["steps_per_s"], "C3"))
    if "steps_per_s" in b.get("miniworld_threaded", {}):
        bars.append(("MiniWorld, llvmpipe threads", b["miniworld_threaded"]["steps_per_s"], "C3"))
    we = result.get("warp_env", {})
    if "env_steps_per_s" in we:
        bars.append((f"Warp env {we['worlds']} ({we['device']})", we["env_steps_per_s"], "C4"))
    if "ppo_steps_per_s" in we:
        bars.append((f"PPO on Warp env {we['worlds']}", we["ppo_steps_per_s"], "C1"))
    w = result.get("warp", {})
    if "frames_per_s" in w:
        bars.append((f"Warp ray-cast {w['worlds']} ({w['device']})", w["frames_per_s"], "C4"))
    ppo = b.get("ppo", {})
    for key, label in (("agent", "PPO (fast CNN)"), ("nature", "PPO (NatureCNN)"),
                       ("recurrent", "RecurrentPPO (fast+LSTM)"), ("naive", "PPO naive")):
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
    p.add_argument("--ppo-steps", type=int, default=8192,
                   help="PPO env steps timed with --batched, after one warm-up rollout (0 = skip)")
    p.add_argument("--batched-memory-steps", type=int, default=0, help="batched leak-check steps (0 = skip)")
    p.add_argument("--batched-only", action="store_true", help="with --batched: skip the classic table")
    p.add_argument("--warp", type=int, default=0, metavar="N",
                   help="bench MuJoCo Warp ray-cast rendering of N worlds (0 = skip; needs the gpu extra)")
    p.add_argument("--warp-device", default=None, help="Warp device, e.g. cuda:0 or cpu (default: Warp's own)")
    p.add_argument("--warp-env", type=int, default=0, metavar="N",
                   help="bench the MuJoCo Warp vector env of N worlds, env-only and PPO (--ppo-steps) (0 = skip)")
    p.add_argument("--warp-homes", type=int, default=0, metavar="K",
                   help="with --warp-env: a bank of K homes shared by the worlds (0 = a home per world)")
    p.add_argument("--warp-env-steps", type=int, default=4096, help="env steps timed with --warp-env")
    p.add_argument("--profile-steps", type=int, default=2000,
                   help="steps of the per-part step profile, single env and --batched (0 = skip)")
    p.add_argument("--only", nargs="+", choices=sorted(PARTS), metavar="PART",
                   help="measure only these parts: " + "; ".join(f"{k}: {v}" for k, v in PARTS.items()))
    p.add_argument("--cpu-clock", action="store_true",
                   help="in-process figures (single, raw, batched, MiniWorld) per CPU-second of this process, not "
                        "per wall second: fair on a shared machine; multi-process figures stay per wall second")
    p.add_argument("--quick", action="store_true",
                   help=f"only the figures of the speed goals ({' '.join(QUICK)}), at the first size")
    a = p.parse_args(argv)
    if a.cpu_clock:
        use_cpu_clock()
    parts = frozenset(a.only or (QUICK if a.quick else PARTS))
    sizes = tuple(a.sizes[:1] if a.quick else a.sizes)
    if a.batched_only:
        result: dict[str, Any] = {"machine": machine(), "env_id": ENV_ID, "clock": clock_name(), "sizes": {}}
    else:
        result = run_bench(sizes, a.seconds, a.memory_steps, not a.no_vec, parts, max(1, a.batched))
    batched_parts = parts & {"batched", "procs", "rollouts", "miniworld", "miniworld_threaded", "ppo", "recurrent",
                             "nature", "naive"}
    if a.batched and batched_parts:
        size = a.sizes[0]
        single = result["sizes"].get(str(size), {}).get("env_steps_per_s")
        result["batched"] = run_batched_bench(size, a.seconds, a.batched, a.procs, a.ppo_steps, single,
                                              a.batched_memory_steps, batched_parts)
    if a.warp:
        from tools.bench_warp import warp_rate
        result["warp"] = warp_rate(a.warp, a.sizes[0], a.seconds, a.warp_device)
    if a.warp_env:
        from tools.bench_warp import warp_env_rate
        from env.warp_vector import warp_device
        try:
            device = warp_device(a.warp_device)
        except (ImportError, ValueError) as e:
            print(f"error: --warp-env: {e}", file=sys.stderr)
            return 2
        result["warp_env"] = warp_env_rate(a.warp_env, a.sizes[0], a.warp_env_steps, device, a.warp_homes,
                                           a.ppo_steps)
    if a.profile_steps and "profile" in parts:
        from tools.stepprofile import profile_steps
        size = a.sizes[0]
        result["profile"] = [profile_steps(a.profile_steps, size, 0, homes=max(1, a.batched))]
        if a.batched:
            result["profile"].append(profile_steps(a.profile_steps, size, a.batched))
    if "peak" in parts:
        from tools.learner_peak import learner_peak
        result["peak"] = learner_peak(a.sizes[0])
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(result, indent=2))
    print(format_table(result))
    plotted = plot_bench(result, a.out / "bench.png")
    print(f"wrote {a.out / 'bench.json'}" + (f", {a.out / 'bench.png'}" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
