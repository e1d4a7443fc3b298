"""Render an infant episode: ``python -m tools.render --task Peekaboo/FindToy-v1 --seed 0 --steps 120 --out DIR``.

Writes ``DIR/episode.mp4`` (infant view beside a third-person view), ``DIR/frames/00000.png`` ... (the infant's
observations at native resolution), ``DIR/strip.png`` (sampled infant views above the overhead map) and
``DIR/episode.json`` (task id, seed, stage, eye height, fov, age, per-step events and rewards).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import env as peekaboo_env  # sets headless GL before mujoco is imported
import cv2
import imageio.v2 as imageio
import numpy as np
from tqdm import tqdm

from env.development import POSTURES
from tools.policies import POLICIES, make_policy

VIEW = 256  # side of each panel in the video


def _panel(img: np.ndarray, size: int = VIEW) -> np.ndarray:
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_NEAREST)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def render_episode(task: str, seed: int, steps: int, out: Path, policy: str = "wander", width: int = 64,
                   height: int = 64, backend: str = "mujoco", env_kwargs: dict[str, Any] | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Run ``steps`` env steps and write the video, frames, strip and json; returns the json record."""
    if steps <= 0:
        raise ValueError(f"--steps {steps}: need at least 1 step")
    env_id = peekaboo_env.check_env_id(task)
    out.mkdir(parents=True, exist_ok=True)
    frames_dir = out / "frames"
    frames_dir.mkdir(exist_ok=True)
    for old in frames_dir.glob("*.png"):
        old.unlink()
    e = peekaboo_env.make(env_id, width=width, height=height, backend=backend, **(env_kwargs or {}))
    inner = e.unwrapped
    act = make_policy(policy, seed)
    obs, info = e.reset(seed=seed)
    record: dict[str, Any] = {**inner.describe(), "task": env_id, "task_name": inner.task.name, "seed": seed,
                              "policy": policy, "steps": steps, "episodes": [], "per_step": []}
    strip_views: list[np.ndarray] = []
    episode_return, episode = 0.0, 0
    writer = imageio.get_writer(out / "episode.mp4", fps=10, codec="libx264", quality=7, macro_block_size=16)
    try:
        for t in tqdm(range(steps), desc=f"render {env_id}", disable=not progress, unit="step"):
            action = act(obs, info)
            obs, reward, terminated, truncated, info = e.step(action)
            episode_return += reward
            imageio.imwrite(frames_dir / f"{t:05d}.png", obs)
            third = inner.backend.render_view("third_person", VIEW, VIEW)
            eye = _label(_panel(obs), f"t={t} {inner.describe()['actions'][action]}")
            writer.append_data(np.concatenate([eye, _label(third, "third person")], axis=1))
            if t % max(1, steps // 8) == 0 and len(strip_views) < 8:
                strip_views.append(_panel(obs, 128))
            record["per_step"].append({"t": t, "episode": episode, "action": int(action), "reward": round(reward, 5),
                                       "events": info["events"], "is_success": info["is_success"]})
            if terminated or truncated:
                record["episodes"].append({"episode": episode, "return": episode_return,
                                           "success": info["is_success"], "length": t + 1})
                episode, episode_return = episode + 1, 0.0
                obs, info = e.reset()
        overhead = inner.backend.render_view("overhead", 384, 384)
    finally:
        writer.close()
        e.close()
    views = np.concatenate(strip_views + [np.zeros((128, 128, 3), np.uint8)] * (8 - len(strip_views)), axis=1)
    over = np.zeros((384, views.shape[1], 3), np.uint8)
    over[:, :384] = overhead
    imageio.imwrite(out / "strip.png", np.concatenate([views, over], axis=0))
    (out / "episode.json").write_text(json.dumps(record, indent=1))
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="Peekaboo/FindToy-v1", help=f"env id, one of {sorted(peekaboo_env.ENV_IDS)}")
    p.add_argument("--seed", type=int, default=0, help="episode seed (same seed, same video)")
    p.add_argument("--steps", type=int, default=120, help="number of env steps = frames in the video")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--policy", default="wander", choices=sorted(POLICIES), help="scripted policy")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--height", type=int, default=64)
    p.add_argument("--stage", default=None, choices=sorted(POSTURES), help="developmental stage (default crawling)")
    p.add_argument("--age-months", type=float, default=None, help="age for the acuity filter")
    p.add_argument("--backend", default="mujoco", choices=["mujoco", "habitat"])
    a = p.parse_args(argv)
    kwargs: dict[str, Any] = {}
    if a.stage:
        kwargs["stage"] = a.stage
    if a.age_months is not None:
        kwargs["age_months"] = a.age_months
    try:
        rec = render_episode(a.task, a.seed, a.steps, a.out, a.policy, a.width, a.height, a.backend, kwargs)
    except (ValueError, TypeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}/episode.mp4 ({rec['steps']} frames), strip.png, episode.json; "
          f"eye height {rec['eye_height_m']} m, fov {rec['fovy_deg']}°, age {rec['age_months']} months")
    return 0


if __name__ == "__main__":
    sys.exit(main())
