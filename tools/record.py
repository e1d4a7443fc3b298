"""Record a trained agent: the infant's eye view with an overlay (task phase, action, value) beside a third-person view.

    python -m tools.record --checkpoint runs/NAME/stages/00_look/model.zip --task Peekaboo/FindToy-v1 \
        --episodes 3 --out videos/

The env is rebuilt from the ``stage.json`` next to the checkpoint (resolution, stage, age, randomization);
without one, only the resolution is taken from the checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

VIEW = 256


def _env_kwargs(checkpoint: Path, model: Any, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    stage_json = checkpoint.parent / "stage.json"
    if stage_json.exists():
        from agent.checkpoint import read_json
        meta = read_json(stage_json)
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
           deterministic: bool = False, fps: int = 10, trust_pickle: bool = False) -> list[Path]:
    """Write one mp4 per episode into ``out``; returns their paths (``trust_pickle``: load the checkpoint with
    SB3's unpickling loader)."""
    import cv2
    import imageio.v2 as imageio
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    import env as peekaboo_env
    from agent.checkpoint import CheckpointError, check_writable_dir, checkpoint_path, load_checkpoint
    from agent.policy import make_env_fn
    from agent.stepper import PolicyStepper
    from env.body import DISCRETE_ACTIONS

    if episodes < 1:
        raise ValueError(f"--episodes {episodes}: need at least 1 episode to record")
    checkpoint = checkpoint_path(checkpoint)
    env_id = peekaboo_env.check_env_id(task)
    out = check_writable_dir(out)
    model = load_checkpoint(checkpoint, trust_pickle=trust_pickle)
    kw, agent = _env_kwargs(checkpoint, model, env_id)
    venv = DummyVecEnv([make_env_fn(env_id, kw, render_mode="rgb_array")])
    if int(agent.get("frame_stack", 1)) > 1:
        venv = VecFrameStack(venv, int(agent["frame_stack"]))
    if venv.observation_space.shape[-1] != model.observation_space.shape[0] or \
            venv.observation_space.shape[:2] != model.observation_space.shape[1:]:
        venv.close()
        raise CheckpointError(f"checkpoint expects observations {model.observation_space.shape} (C,H,W) but "
                              f"{env_id} gives {venv.observation_space.shape}; the env is rebuilt from the stage.json "
                              "beside the checkpoint: restore it (it holds the resolution and frame stack)")
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
    p.add_argument("--trust-pickle", action="store_true",
                   help="load the checkpoint with SB3's unpickling loader (runs code stored in the file: only for "
                        "files you trust; the default loader never unpickles)")
    a = p.parse_args(argv)
    import env  # noqa: F401
    from agent.checkpoint import CheckpointError, CorruptFileError
    try:
        paths = record(a.checkpoint, a.task, a.episodes, a.out, a.seed, a.deterministic, trust_pickle=a.trust_pickle)
    except (CheckpointError, CorruptFileError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for q in paths:
        print(q)
    return 0


if __name__ == "__main__":
    sys.exit(main())
