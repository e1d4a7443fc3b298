"""Where a step's time goes: exclusive wall time per part of an env step, single or batched.

    python -m tools.stepprofile --steps 2000 --size 64 --batched 8

Times the real calls (no sampling profiler, whose overhead would swamp the Python parts): the MuJoCo entry
points and Peekaboo's own stages are wrapped with timers for the run, and each part's time is *exclusive*
(time inside a nested timed call is counted once, by the inner part). What no timer covers is ``python glue``
(gymnasium/vector plumbing, stacking, the random policy). Wrapping costs ~1 µs per timed call, a few % of a step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import env as peekaboo_env  # sets headless GL before mujoco loads
import mujoco
import numpy as np

PARTS: tuple[tuple[str, str], ...] = (
    ("physics", "mj_step: rigid-body physics of the step's substeps"),
    ("kinematics", "mj_kinematics + mj_camlight: positions after teleports, before rays and the render"),
    ("rays", "mj_ray: line-of-sight tests (target_visible, the reference agents)"),
    ("culling", "frustum culling of the eye's geoms"),
    ("scene", "mjv_updateScene: collecting the geoms to draw"),
    ("draw", "mjr_render: OpenGL draw calls (llvmpipe rasterizes on the CPU)"),
    ("readback", "mjr_readPixels: waiting for the frame and copying it out"),
    ("vision", "acuity filter and colour/contrast loss"),
    ("body", "infant motion and collisions"),
    ("task", "caregiver script, reward, success and info of the task"),
    ("new home", "generating, compiling and uploading a new home (at resets)"),
)
"""Parts of a step, in the order a step runs them, with what each covers."""


class StepProfiler:
    """Exclusive wall time per part while ``active()``; see the module docstring."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []

    def _wrap(self, fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        stack, seconds, calls = self._stack, self.seconds, self.calls

        def timed(*args: Any, **kwargs: Any) -> Any:
            stack.append(0.0)
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                inner = stack.pop()
                seconds[part] += dt - inner
                calls[part] += 1
                if stack:
                    stack[-1] += dt

        return timed

    def _targets(self) -> list[tuple[Any, str, str]]:
        from env.backends.mujoco import culling
        from env.body import InfantBody
        from env.infant_env import InfantEnv
        from env.tasks import task_class
        from env.vision import InfantVision
        from tools.evaluate import BATTERY

        targets = [(mujoco, "mj_step", "physics"), (mujoco, "mj_kinematics", "kinematics"),
                   (mujoco, "mj_camlight", "kinematics"), (mujoco, "mj_ray", "rays"),
                   (culling, "outside_frustum", "culling"), (mujoco, "mjv_updateScene", "scene"),
                   (mujoco, "mjr_render", "draw"), (mujoco, "mjr_readPixels", "readback"),
                   (InfantVision, "__call__", "vision"), (InfantBody, "act_discrete", "body"),
                   (InfantBody, "move", "body"), (InfantEnv, "_new_layout", "new home")]
        seen: set[tuple[type, str]] = set()
        for name in ("find_toy", *BATTERY):
            for cls in task_class(name).__mro__:
                for hook in ("before_physics", "reward", "success", "terminated", "info"):
                    if hook in vars(cls) and (cls, hook) not in seen:
                        seen.add((cls, hook))
                        targets.append((cls, hook, "task"))
        return targets

    @contextmanager
    def active(self) -> Iterator[StepProfiler]:
        """Time the parts inside this block (the wrappers are removed afterwards)."""
        saved = []
        for owner, attr, part in self._targets():
            original = getattr(owner, attr) if isinstance(owner, type(mujoco)) else vars(owner)[attr]
            saved.append((owner, attr, original))
            setattr(owner, attr, self._wrap(original, part))
        try:
            yield self
        finally:
            for owner, attr, original in reversed(saved):
                setattr(owner, attr, original)


def profile_steps(steps: int = 2000, size: int = 64, batched: int = 0, env_id: str = "Peekaboo/FindToy-v1",
                  seed: int = 0, homes: int = 1) -> dict[str, Any]:
    """Profile ``steps`` env steps of random actions (resets included) of one env, or of a batch of
    ``batched`` worlds in one process; returns ms per env step for each part and its share of the step.

    The single env splits its steps over the home streams of seeds ``seed .. seed+homes-1`` (a batch's world i
    steps seed + i's): homes differ in physics cost by 2x (toys that never rest), so profile both on the same
    homes (``homes`` = the batch size) to compare them."""
    rng = np.random.default_rng(seed)
    if batched:
        from env.batched import make_batched
        v = make_batched(batched, env_id, width=size, height=size)
        v.reset(seed=seed)
        n_actions = int(v.single_action_space.n)

        def run(n: int, from_start: bool = False) -> int:
            if from_start:
                v.reset(seed=seed)
            for _ in range(max(1, n // batched)):
                v.step(rng.integers(n_actions, size=batched))
            return max(1, n // batched) * batched
        close = v.close
    else:
        e = peekaboo_env.make(env_id, width=size, height=size)
        e.reset(seed=seed)
        n_actions = int(e.action_space.n)
        per_home = max(1, steps // max(1, homes))

        def run(n: int, from_start: bool = False) -> int:
            for i in range(n):
                if from_start and i % per_home == 0:  # each home stream from its start, as a batch's worlds
                    e.reset(seed=seed + min(i // per_home, max(1, homes) - 1))
                _, _, term, trunc, _ = e.step(int(rng.integers(n_actions)))
                if term or trunc:
                    e.reset()
            return n
        close = e.close
    try:
        run(min(steps, 200))  # warm-up: shader compilation, first layouts
        prof = StepProfiler()
        with prof.active():
            t = time.perf_counter()
            done = run(steps, from_start=True)
            total = time.perf_counter() - t
    finally:
        close()
    ms = {part: 1e3 * prof.seconds.get(part, 0.0) / done for part, _ in PARTS}
    ms["python glue"] = max(0.0, 1e3 * total / done - sum(ms.values()))
    step_ms = 1e3 * total / done
    return {"env_id": env_id, "size": size, "batched": batched, "steps": done,
            "steps_per_s": round(done / total, 1), "step_ms": round(step_ms, 4),
            "parts_ms": {k: round(v, 4) for k, v in ms.items()},
            "parts_share": {k: round(v / step_ms, 4) for k, v in ms.items()},
            "calls_per_step": {k: round(c / done, 2) for k, c in prof.calls.items()}}


def format_profile(p: dict[str, Any]) -> str:
    """A table of :func:`profile_steps`'s result."""
    what = dict(PARTS) | {"python glue": "everything else: env/vector plumbing, numpy stacking, the policy"}
    head = (f"{'batched ' + str(p['batched']) + ' worlds' if p['batched'] else 'single env'}, {p['size']}x{p['size']}: "
            f"{p['step_ms']:.3f} ms/step ({p['steps_per_s']:.0f} steps/s over {p['steps']} steps)")
    lines = [head, f"  {'part':<12} {'ms/step':>8} {'share':>6}  what"]
    for part, v in sorted(p["parts_ms"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {part:<12} {v:>8.3f} {100 * p['parts_share'][part]:>5.1f}%  {what[part]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.stepprofile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000, help="env steps profiled (after a warm-up)")
    p.add_argument("--size", type=int, default=64, help="square resolution")
    p.add_argument("--batched", type=int, default=8, help="worlds per batch (0 = the single env)")
    p.add_argument("--env-id", default="Peekaboo/FindToy-v1")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    a = p.parse_args(argv)
    if a.steps < 1:
        p.error("--steps must be >= 1")
    rows = [profile_steps(a.steps, a.size, 0, a.env_id, homes=max(1, a.batched))]
    if a.batched:
        rows.append(profile_steps(a.steps, a.size, a.batched, a.env_id))
    print(json.dumps(rows, indent=2) if a.json else "\n\n".join(format_profile(r) for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
