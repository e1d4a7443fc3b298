"""Record a trained agent: the infant's eye view with an overlay (task phase, action, value) beside a third-person view.

    python -m tools.record --checkpoint runs/NAME/stages/00_look/model.zip --task Peekaboo/FindToy-v1 \
        --episodes 3 --out videos/

The env is rebuilt from the ``stage.json`` next to the checkpoint (resolution, stage, age, randomization);
without one, only the resolution is taken from the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

VIEW = 256


def _env_kwargs(checkpoint: Path, model: Any, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    stage_json = checkpoint.parent / "stage.json"
    if stage_json.exists():
        meta = json.loads(stage_json.read_text())
        kw, agent = dict(meta["env_kwargs"]), meta.get("agent", {})
        if task not in meta.get("env_ids", []):  # another task: keep only the env's own options
            from env.config import EnvConfig
            from env.vision import VisionConfig
            keep = {f.name for f in fields(EnvConfig)} | {f.name for f in fields(VisionConfig)}
            kw = {k: v for k, v in kw.items() if k in keep}
        return kw, agent
    shape = model.observation_space.shape  # (C, H, W) after SB3's transpose
    return {"width": int(shape[-1]), "height": int(shape[-2])}, {}


def _label(img: np.ndarray, lines: list[str]) -> np.ndarray:
    import cv2
    out = img.copy()
    for i, text in enumerate(lines):
        y = 16 + 16 * i
        cv2.putText(out, text, (5, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, (5, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def record(checkpoint: str | Path, task: str, episodes: int, out: str | Path, seed: int = 0,
           deterministic: bool = False, fps: int = 10) -> list[Path]:
    """Write one mp4 per episode into ``out``; returns their paths."""
    import cv2
    import imageio.v2 as imageio
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    import env as peekaboo_env
    from agent.policy import CheckpointError, make_env_fn
    from agent.stepper import PolicyStepper
    from env.body import DISCRETE_ACTIONS

    checkpoint = Path(checkpoint)
    model = None
    errors = []
    for cls_name in ("PPO", "RecurrentPPO"):
        try:
            if cls_name == "PPO":
                from stable_baselines3 import PPO as cls
            else:
                from sb3_contrib import RecurrentPPO as cls
            model = cls.load(checkpoint, device="cpu")
            break
        except Exception as e:  # noqa: BLE001 - wrong class or corrupt file
            errors.append(f"{cls_name}: {type(e).__name__}: {e}")
    if model is None:
        raise CheckpointError(f"cannot load {str(checkpoint)!r} as PPO or RecurrentPPO: {errors}")
    env_id = peekaboo_env.check_env_id(task)
    kw, agent = _env_kwargs(checkpoint, model, env_id)
    venv = DummyVecEnv([make_env_fn(env_id, kw, render_mode="rgb_array")])
    if int(agent.get("frame_stack", 1)) > 1:
        venv = VecFrameStack(venv, int(agent["frame_stack"]))
    if venv.observation_space.shape[-1] != model.observation_space.shape[0] or \
            venv.observation_space.shape[:2] != model.observation_space.shape[1:]:
        venv.close()
        raise CheckpointError(f"checkpoint expects observations {model.observation_space.shape} (C,H,W) but "
                              f"{env_id} gives {venv.observation_space.shape}; pass matching --width/--height")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for ep in range(episodes):
            venv.seed(seed + ep)
            obs = venv.reset()
            start = np.ones((1,), dtype=bool)
            step = PolicyStepper(model.policy, deterministic)  # sampling from the global generator, as before
            path = out / f"{env_id.split('/')[-1]}_ep{ep:02d}.mp4"
            writer = imageio.get_writer(path, fps=fps, macro_block_size=1)
            total, t = 0.0, 0
            while True:
                action, value, _ = step(obs, start)
                third = venv.env_method("render")[0]
                seen = obs_rgb(obs)  # the frame the action was chosen on
                obs, reward, done, infos = venv.step(action)
                info = infos[0]
                total += float(reward[0])
                t += 1
                eye = cv2.resize(seen, (VIEW, VIEW),
                                 interpolation=cv2.INTER_NEAREST)
                a = int(action[0]) if np.ndim(action[0]) == 0 else action[0]
                name = DISCRETE_ACTIONS[a] if isinstance(a, int) and a < len(DISCRETE_ACTIONS) else str(a)
                phase = info.get("phase", info.get("task_phase", "-"))
                eye = _label(eye, [f"t={t} phase={phase}", f"action={name}", f"value={float(value.flatten()[0]):+.2f}",
                                   f"return={total:+.2f}" + ("  SUCCESS" if info.get("is_success") else "")])
                side = cv2.resize(np.asarray(third), (VIEW, VIEW)) if third is not None else np.zeros_like(eye)
                writer.append_data(np.concatenate([eye, _label(side, ["third person"])], axis=1))
                start = done
                if done[0]:
                    break
            writer.close()
            paths.append(path)
    finally:
        venv.close()
    return paths


def obs_rgb(obs: np.ndarray) -> np.ndarray:
    """The newest RGB frame of a (possibly frame-stacked) channel-last observation batch."""
    return obs[0][..., -3:].astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.record", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="model.zip or checkpoint.zip of a run's stage")
    p.add_argument("--task", default="Peekaboo/FindToy-v1", help="env id (or bare task name)")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--out", required=True, help="folder for the mp4s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--deterministic", action="store_true", help="greedy actions")
    a = p.parse_args(argv)
    import env  # noqa: F401
    from agent.policy import CheckpointError
    try:
        paths = record(a.checkpoint, a.task, a.episodes, a.out, a.seed, a.deterministic)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for q in paths:
        print(q)
    return 0


if __name__ == "__main__":
    sys.exit(main())
