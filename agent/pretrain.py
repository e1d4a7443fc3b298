"""Self-supervised pre-training of the shared encoder and a recurrent world model on the simulator's own video.

``python -m agent.pretrain --config curriculum/pretrain.yaml --out runs/pre`` renders infant-view video
(:mod:`agent.video`, cached under ``OUT/video``), then trains the curriculum's encoder with a world model that
predicts future latents from past frames and actions (:mod:`agent.world_model`). Nothing privileged enters a loss:
the model sees frames and actions only. Writes into ``OUT``::

    config.json          the resolved configuration
    checkpoint.pt        everything needed by --resume (written atomically every checkpoint_every steps)
    metrics.jsonl        train / validation losses by step; tb/ the same for TensorBoard
    encoder.pt           the encoder, in the format a curriculum loads (``encoder: OUT`` on a stage)
    world_model.pt       encoder, target encoder, recurrent predictor and its feed-forward twin
    summary.json         final losses (the untrained model's validation loss too), latent spread, frames, wall time

Ctrl-C checkpoints at the next step and exits 130 with the command to continue; ``--resume`` continues a stopped
run to the same weights as an uninterrupted one (minibatches and augmentation are drawn from (seed, step)).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from agent.encoder import EncoderCheckpointError, InfantEncoder, load_encoder, save_encoder
from agent.files import append_jsonl, atomic_write, read_jsonl, truncate_jsonl, write_json
from agent.interrupt import deferred_interrupt
from agent.video import Clips, VideoConfig, build_video
from agent.world_model import OBJECTIVES, WorldModel, save_world_model


@dataclass(frozen=True)
class ModelConfig:
    """The encoder (it must match the curriculum that will load it) and the world model."""

    encoder: str = "fast"
    """Encoder architecture (``agent.encoder.ENCODERS``): the curriculum's ``agent.encoder``."""
    features_dim: int = 256
    """Encoder output width: the curriculum's ``agent.features_dim``."""
    hidden: int = 128
    """GRU width of the world model (and of its heads)."""
    horizon: int = 3
    """Predict the latents 1..horizon frames ahead."""
    objective: str = "contrastive"
    """contrastive (InfoNCE, ATC-style: each prediction must pick its own frame among every frame of the batch)
    or latent (cosine to an EMA target encoder's latent; it collapsed in our runs) or pixels (a conv decoder predicts
    the frames; squared pixel error, calibrated: 0 when the prediction is perfect)."""
    change_weight: float = 10.0
    """pixels only: extra loss weight of the pixels that change between frame t and the predicted frame t + k
    (motion saliency from the frames themselves), so that a small toy's appearance counts."""
    ema: float = 0.99
    """Target encoder: target ← ema · target + (1 − ema) · online, every step."""
    reveal_weight: float = 0.0
    """Weight of the reveal-prediction loss (0: no reveal head). The world model then also predicts, from the
    hiding on, what the infant will see when the screens / cups are lifted (no toy, or the toy at location i), a
    label from the infant's own view of the reveal (needs ``data.reveal_labels``)."""
    init_encoder: str | None = None
    """An ``encoder.pt``, or a trained agent (its ``model.zip`` or a folder such as ``models/permanence-baseline``), to
    start the encoder (and its target) from instead of random weights: architecture, width and resolution must match.
    Then the world model sees through an encoder that learnt from reward (the run is no longer self-supervised
    only; say so beside its numbers)."""

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"model.objective={self.objective!r}: choose one of {list(OBJECTIVES)}")
        if self.horizon < 1 or not 0.0 <= self.ema < 1.0 or self.change_weight < 0 or self.reveal_weight < 0:
            raise ValueError("model.horizon must be >= 1, model.ema within [0, 1) and model.change_weight and "
                             "model.reveal_weight >= 0")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation."""

    steps: int = 1500
    """Gradient steps."""
    batch_size: int = 16
    """Clips per step."""
    learning_rate: float = 3e-4
    """Adam learning rate."""
    shift: int = 4
    """Random-shift augmentation of the online view, pixels (0: off; DrQ/ATC use 4 at 84 px)."""
    eval_every: int = 250
    """Steps between validation losses."""
    checkpoint_every: int = 250
    """Steps between checkpoints (--resume loses at most this many)."""

    def __post_init__(self) -> None:
        if min(self.steps, self.batch_size, self.eval_every, self.checkpoint_every) < 1 or self.shift < 0:
            raise ValueError("train.steps, batch_size, eval_every and checkpoint_every must be >= 1, shift >= 0")


@dataclass(frozen=True)
class PretrainConfig:
    """A pre-training run (``curriculum/pretrain.yaml``)."""

    name: str = "pretrain"
    """Run name."""
    width: int = 64
    """Frame width: the curriculum's ``width`` (the encoder's input shape must match)."""
    height: int = 64
    """Frame height: the curriculum's ``height``."""
    seed: int = 0
    """Seed of the video (which homes), the weights and the minibatches."""
    data: VideoConfig = field(default_factory=VideoConfig)
    """The video (:class:`agent.video.VideoConfig`)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Encoder and world model."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation."""

    def __post_init__(self) -> None:
        if self.model.reveal_weight > 0 and not self.data.reveal_labels:
            raise ValueError("model.reveal_weight > 0 needs data.reveal_labels: true (the labels come with the video)")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (round-trips through :func:`load_config`'s mapping)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def config_from_dict(data: dict[str, Any]) -> PretrainConfig:
    """A :class:`PretrainConfig` from plain data; unknown keys and bad values are a ``ConfigError`` naming them."""
    from curriculum.config import ConfigError, from_dict
    try:
        return from_dict(PretrainConfig, data)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def load_config(path: str | Path) -> PretrainConfig:
    """Read a YAML/TOML/JSON pre-training config."""
    from curriculum.config import ConfigError, _parse
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file {str(p)!r} not found (e.g. curriculum/pretrain.yaml)")
    data = _parse(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    try:
        return config_from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None


def load_encoder_from(encoder: InfantEncoder, path: str | Path) -> dict[str, Any]:
    """:func:`load_encoder` from an ``encoder.pt``, or from a trained agent: its ``model.zip`` or a folder holding
    one (``models/permanence-baseline``), whose policy's shared encoder is taken (same checks)."""
    p = Path(path)
    if not p.is_dir() and p.suffix != ".zip":
        return load_encoder(encoder, p)
    from agent.checkpoint import CheckpointError, checkpoint_path, load_checkpoint

    zip_path = checkpoint_path(p)
    try:
        source = load_checkpoint(zip_path).policy.features_extractor
    except CheckpointError as e:
        raise EncoderCheckpointError(f"cannot take the encoder of {str(path)!r}: {e}") from None
    want, got = encoder.describe(), source.describe()
    if got != want:
        raise EncoderCheckpointError(f"the encoder of {str(path)!r} does not fit: saved {got}, needed {want}")
    encoder.load_state_dict(source.state_dict())
    return {"source": str(zip_path)}


def build_model(cfg: PretrainConfig) -> WorldModel:
    """A fresh world model for ``cfg`` (weights from ``cfg.seed``)."""
    torch.manual_seed(cfg.seed)
    m = cfg.model
    model = WorldModel(cfg.width, cfg.height, m.encoder, m.features_dim, m.hidden, m.horizon,
                       pixels=m.objective == "pixels", reveal=m.reveal_weight > 0)
    if m.init_encoder:
        load_encoder_from(model.encoder, m.init_encoder)
        model.target.load_state_dict(model.encoder.state_dict())
    return model


def _batch(clips: Clips, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    frames = torch.from_numpy(clips.frames[idx])
    actions = torch.from_numpy(clips.actions[idx].astype(np.int64))
    t = clips.frames.shape[1]
    mask = torch.arange(t)[None, :] < torch.from_numpy(clips.lengths[idx])[:, None]
    return frames, actions, mask


def _labels(clips: Clips, idx: np.ndarray, model: WorldModel) -> torch.Tensor | None:
    """The reveal labels of clips ``idx`` when the model has a reveal head (else None)."""
    if not model.reveal:
        return None
    if clips.labels is None:
        raise ValueError("this video has no reveal labels: render it with data.reveal_labels: true")
    return torch.from_numpy(clips.labels[idx].astype(np.int64))


def total_loss(losses: dict[str, torch.Tensor], reveal_weight: float) -> torch.Tensor:
    """What one step minimises: both predictors' losses plus ``reveal_weight`` × both reveal heads'."""
    total = losses["loss"] + losses["feedforward_loss"]
    if "reveal_loss" in losses:
        total = total + reveal_weight * (losses["reveal_loss"] + losses["feedforward_reveal_loss"])
    return total


def random_shift(frames: torch.Tensor, pad: int, rng: np.random.Generator) -> torch.Tensor:
    """The same random translation (edge-padded, ±``pad`` px) for every frame of a clip, another per clip."""
    if pad == 0:
        return frames
    h, w = frames.shape[2], frames.shape[3]
    x = np.pad(frames.numpy(), ((0, 0), (0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")  # uint8: cheap
    shifts = rng.integers(0, 2 * pad + 1, size=(len(x), 2))
    return torch.from_numpy(np.stack([x[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(shifts)]))


@torch.no_grad()
def validation_loss(model: WorldModel, clips: Clips, objective: str, batch_size: int = 16,
                    change_weight: float = 0.0) -> dict[str, float]:
    """Mean losses (recurrent and feed-forward) over every validation clip, in fixed batches."""
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    for i in range(0, len(clips), batch_size):
        idx = np.arange(i, min(i + batch_size, len(clips)))
        out = model.losses(*_batch(clips, idx), objective, change_weight=change_weight,
                           labels=_labels(clips, idx, model))
        for k, v in out.items():  # reveal losses: mean over batches (labelled frames are spread evenly)
            sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
        n += len(idx)
    model.train()
    return {k: v / n for k, v in sums.items()}


@torch.no_grad()
def latent_spread(model: WorldModel, clips: Clips, batch_size: int = 16) -> float:
    """Mean cosine between each real validation frame's target latent and their mean direction: near 1 means the
    latents collapsed to one direction (a world model that predicts them then learns nothing about the frames)."""
    zs = []
    for i in range(0, len(clips), batch_size):
        idx = np.arange(i, min(i + batch_size, len(clips)))
        frames, _, mask = _batch(clips, idx)
        zs.append(F.normalize(model.encode(frames, target=True)[mask], dim=-1))
    z = torch.cat(zs)
    return float((z @ F.normalize(z.mean(0), dim=0)).mean())


class RunError(RuntimeError):
    """A run folder that cannot be used as asked (the message says what to do)."""


def pretrain(cfg: PretrainConfig, out: str | Path, resume: bool = False, progress: bool = True,
             video_dir: str | Path | None = None) -> dict[str, Any]:
    """Train and write the run folder (see the module docstring); returns ``summary.json``'s content.
    Raises ``KeyboardInterrupt`` after checkpointing when stopped with Ctrl-C."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_json = out / "config.json"
    if cfg_json.exists():
        saved = json.loads(cfg_json.read_text())
        if not resume:
            raise RunError(f"{str(out)!r} already holds a pre-training run; pass --resume to continue it or "
                           "choose another --out")
        if config_from_dict(saved).to_dict() != cfg.to_dict():  # keys added since take their defaults
            raise RunError(f"{str(out)!r} was started with another config; resume with the same one (saved in "
                           f"{str(cfg_json)!r}) or choose another --out")
        if (out / "summary.json").exists():
            return json.loads((out / "summary.json").read_text())
    else:
        write_json(cfg_json, cfg.to_dict())
    vdir = Path(video_dir) if video_dir else out / "video"
    train = build_video(cfg.data, cfg.width, cfg.height, cfg.seed, vdir, "train", progress)
    val = build_video(cfg.data, cfg.width, cfg.height, cfg.seed, vdir, "val", progress)
    model = build_model(cfg)
    cw = cfg.model.change_weight
    untrained = validation_loss(model, val, cfg.model.objective, change_weight=cw)
    untrained["latent_cos_to_mean"] = latent_spread(model, val)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.train.learning_rate)
    step, elapsed = 0, 0.0
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, elapsed = int(state["step"]), float(state["elapsed_s"])
    truncate_jsonl(out / "metrics.jsonl", step)
    from torch.utils.tensorboard import SummaryWriter
    tb = SummaryWriter(str(out / "tb"), purge_step=step + 1 if step else None)
    tc = cfg.train

    def checkpoint() -> None:
        atomic_write(ckpt, lambda f: torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                                 "step": step, "elapsed_s": elapsed}, f))

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=tc.steps, initial=step, desc="pretrain", unit="step", dynamic_ncols=True)
    model.train()
    try:
        with deferred_interrupt() as ctrl_c:
            while step < tc.steps:
                if ctrl_c.requested:
                    checkpoint()
                    raise KeyboardInterrupt
                t0 = time.perf_counter()
                rng = np.random.default_rng([cfg.seed, step, 11])  # the same batch on --resume
                idx = rng.integers(len(train), size=tc.batch_size)
                frames, actions, mask = _batch(train, idx)
                losses = model.losses(frames, actions, mask, cfg.model.objective,
                                      online_frames=random_shift(frames, tc.shift, rng), change_weight=cw,
                                      labels=_labels(train, idx, model))
                opt.zero_grad(set_to_none=True)
                total_loss(losses, cfg.model.reveal_weight).backward()
                opt.step()
                model.update_target(cfg.model.ema)
                step += 1
                elapsed += time.perf_counter() - t0
                row: dict[str, Any] = {"step": step, **{f"train/{k}": round(float(v.detach()), 5) for k, v in losses.items()}}
                if step % tc.eval_every == 0 or step == tc.steps:
                    val_now = validation_loss(model, val, cfg.model.objective, change_weight=cw)
                    row.update({f"val/{k}": round(v, 5) for k, v in val_now.items()})
                for k, v in row.items():
                    if k != "step":
                        tb.add_scalar(k, v, step)
                append_jsonl(out / "metrics.jsonl", row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{row['train/loss']:.3f}")
                if step % tc.checkpoint_every == 0:
                    checkpoint()
    finally:
        tb.close()
        if bar is not None:
            bar.close()
    checkpoint()
    final = validation_loss(model, val, cfg.model.objective, change_weight=cw)
    final["latent_cos_to_mean"] = latent_spread(model, val)
    meta = {"run": cfg.name, "steps": step, "objective": cfg.model.objective, "train_frames": int(train.lengths.sum()),
            "val_loss": final["loss"], "config": cfg.to_dict()}
    save_encoder(model.encoder, out / "encoder.pt", stage="pretrain", when="end", **meta)
    save_world_model(model, out / "world_model.pt", **meta)
    rows = read_jsonl(out / "metrics.jsonl")
    first = [r["train/loss"] for r in rows[:20]]
    last = [r["train/loss"] for r in rows[-20:]]
    summary = {"name": cfg.name, "steps": step, "objective": cfg.model.objective, "width": cfg.width,
               "height": cfg.height, "train_clips": len(train), "train_frames": int(train.lengths.sum()),
               "val_clips": len(val), "val_frames": int(val.lengths.sum()), "train_loss_first20": float(np.mean(first)),
               "train_loss_last20": float(np.mean(last)), "val_untrained": untrained, "val_final": final,
               "train_s": round(elapsed, 2), "parameters": sum(p.numel() for p in params)}
    write_json(out / "summary.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agent.pretrain", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="curriculum/pretrain.yaml", help="pre-training config (YAML/TOML/JSON)")
    ap.add_argument("--out", required=True, help="run folder")
    ap.add_argument("--resume", action="store_true", help="continue a stopped run in --out")
    ap.add_argument("--steps", type=int, default=None, help="override train.steps")
    ap.add_argument("--frames", type=int, default=None, help="override data.frames")
    ap.add_argument("--objective", choices=OBJECTIVES, default=None, help="override model.objective")
    ap.add_argument("--video-dir", default=None, help="where the video shards are cached (default: OUT/video)")
    ap.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    args = ap.parse_args(argv)
    from curriculum.config import ConfigError
    try:
        cfg = load_config(args.config)
        if args.steps is not None:
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=args.steps))
        if args.objective is not None:
            cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, objective=args.objective))
        if args.frames is not None:
            cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, frames=args.frames))
        summary = pretrain(cfg, args.out, args.resume, args.progress, args.video_dir)
    except KeyboardInterrupt:
        print(f"interrupted: checkpoint kept; continue with: python -m agent.pretrain --config {args.config} "
              f"--out {args.out} --resume", file=sys.stderr)
        return 130
    except (ConfigError, RunError, FileNotFoundError, ValueError, EncoderCheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"val loss {summary['val_untrained']['loss']:.4f} (untrained) -> {summary['val_final']['loss']:.4f}; "
          f"wrote {Path(args.out) / 'encoder.pt'} and {Path(args.out) / 'world_model.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
