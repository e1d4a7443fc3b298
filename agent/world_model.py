"""A small recurrent world model over the shared encoder's latents, trained from frames and actions only.

The online encoder (:class:`agent.encoder.InfantEncoder`, the curriculum's) turns each frame into a latent; a GRU
reads the latents with the action taken after each frame; for every ``k`` in 1..``horizon`` a head predicts the
latent of frame ``t + k`` from the GRU state at ``t`` and the actions ``t .. t + k - 1``. The targets come from a
*target encoder*, an exponential moving average of the online one without gradient (BYOL / SPR), which keeps the
latents from collapsing to a constant. Two objectives (``objective``):

- ``latent``: 1 - cosine(prediction, target latent);
- ``contrastive``: InfoNCE over the batch (ATC-style; Stooke et al. 2021): each prediction must pick its own
  target among the other clips' latents at the same step.

- ``pixels``: the heads output a code that a small conv decoder (:class:`FrameDecoder`) turns into the *change*
  of the image from frame ``t`` to ``t + k``; the prediction is frame ``t`` plus that change, and the loss is the
  squared pixel error, weighted ``1 + change_weight`` where the target differs from frame ``t`` (motion saliency
  from the two frames alone), so that a few changing pixels (a 4-pixel toy at the reveal) are not drowned by a
  static room. Its error is calibrated: 0 when the prediction is perfect, whatever the frame.

Optionally (``reveal=True``, the objective's ``reveal_weight``) a *reveal head* on the GRU state predicts, from the
hiding on, what the infant will see when the caregiver lifts the screens / cups: no toy, or the toy at location i
(:data:`agent.video.REVEAL_CLASSES`; the label comes from the infant's own view of the reveal, never from the
simulator). Its error at the reveal, -log p(outcome seen), is a calibrated, toy-focused prediction error
(:meth:`WorldModel.reveal_logprobs`). Its last layer starts at zero: an untrained head predicts every outcome
equally likely (it expects nothing, so it can be surprised by nothing).

A feed-forward twin (the same heads on the current latent alone, no memory) learns beside it from the detached
latents: the violation-of-expectation probes compare the two. The *surprise* at frame ``t`` compares the
prediction of frame t made at t - 1 with frame t: 1 - cosine to its target latent (``latent``, ``contrastive``),
or the frame's summed squared pixel error in [0, 1] units (``pixels``: how many pixels' worth of error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

from agent.encoder import InfantEncoder, atomic_torch_save, read_encoder

WORLD_MODEL_FORMAT = "peekaboo-world-model/1"
OBJECTIVES = ("latent", "contrastive", "pixels")
ACTION_DIM = 8
"""Width of the learned action embedding."""
REVEAL_CLASSES = 7
"""Outputs of the reveal head: no toy seen at the reveal, or the toy at location 0..5 (:mod:`agent.video`)."""


class Predictor(nn.Module):
    """Latents + actions → predicted latents ``k`` = 1..``horizon`` steps ahead; recurrent (GRU) or not."""

    def __init__(self, features_dim: int, n_actions: int, hidden: int, horizon: int, recurrent: bool,
                 out_dim: int | None = None) -> None:
        super().__init__()
        out_dim = features_dim if out_dim is None else out_dim
        self.horizon, self.recurrent, self.n_actions = horizon, recurrent, n_actions
        self.action = nn.Embedding(n_actions, ACTION_DIM)
        if recurrent:
            self.core: nn.Module = nn.GRU(features_dim + ACTION_DIM, hidden, batch_first=True)
        else:
            self.core = nn.Sequential(nn.Linear(features_dim + ACTION_DIM, hidden), nn.ReLU())
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden + ACTION_DIM * k, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))
            for k in range(1, horizon + 1))

    def state(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The core's output (B, T, hidden) after each frame and its action: the GRU state, or the current frame's
        features for the feed-forward twin."""
        x = torch.cat([z, self.action(actions)], -1)
        return self.core(x)[0] if self.recurrent else self.core(x)

    def forward(self, z: torch.Tensor, actions: torch.Tensor, h: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``z`` (B, T, D), ``actions`` (B, T) long → for each k a prediction (B, T - k, D) of ``z[:, k:]``
        (``h``: :meth:`state`, when already computed)."""
        emb = self.action(actions)
        h = self.state(z, actions) if h is None else h
        t = z.shape[1]
        out = []
        for k, head in enumerate(self.heads, start=1):
            if t <= k:
                break
            acts = torch.cat([emb[:, j:t - k + j] for j in range(k)], -1)  # a_t .. a_{t+k-1}
            out.append(head(torch.cat([h[:, :t - k], acts], -1)))
        return out


def prediction_loss(preds: list[torch.Tensor], target: torch.Tensor, mask: torch.Tensor, objective: str,
                    temperature: float = 0.1) -> torch.Tensor:
    """Mean over k of the ``objective`` between each prediction and ``target[:, k:]`` where ``mask`` (B, T)
    marks real frames (a padded target is never a positive)."""
    losses = []
    for k, p in enumerate(preds, start=1):
        tgt, m = target[:, k:], mask[:, k:].float()
        if objective == "latent":
            err = 1 - F.cosine_similarity(p, tgt, dim=-1, eps=1e-6)
            losses.append((err * m).sum() / m.sum().clamp(min=1))
        else:
            # candidates: every real frame of the batch, other times of the same clip included, so the latent
            # must tell moments of one event apart (where the toy and the hand are), not only homes
            d = p.shape[-1]
            pn = F.normalize(p.reshape(-1, d), dim=-1, eps=1e-6)
            tn = F.normalize(tgt.reshape(-1, d), dim=-1, eps=1e-6)
            mf = m.reshape(-1)
            logits = pn @ tn.T / temperature
            logits = logits.masked_fill(mf[None, :] == 0, -1e4)
            ce = F.cross_entropy(logits, torch.arange(len(pn)), reduction="none")
            losses.append((ce * mf).sum() / mf.sum().clamp(min=1))
    return torch.stack(losses).mean()


class FrameDecoder(nn.Module):
    """A code (…, C) → the predicted change of the image (…, 3, H, W): a linear map to an (H/8, W/8) grid, then
    three stride-2 transposed convolutions (DCGAN-style), so a location in the code can become a few pixels."""

    def __init__(self, code_dim: int, width: int, height: int, channels: int = 16) -> None:
        super().__init__()
        if width % 8 or height % 8:
            raise ValueError(f"the pixels objective needs a width and height divisible by 8, got {width}x{height}")
        self.grid = (channels, height // 8, width // 8)
        self.fc = nn.Linear(code_dim, channels * (height // 8) * (width // 8))
        self.up = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(channels, channels, 4, 2, 1),
            nn.ReLU(), nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1),
            nn.ReLU(), nn.ConvTranspose2d(channels // 2, 3, 4, 2, 1))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        lead = code.shape[:-1]
        x = self.up(self.fc(code.reshape(-1, code.shape[-1])).view(-1, *self.grid))
        return x.view(*lead, *x.shape[1:])


def pixel_predictions(codes: list[torch.Tensor], decoder: FrameDecoder, frames: torch.Tensor) -> list[torch.Tensor]:
    """For each k, frame ``t`` (float (B, T, 3, H, W) in [0, 1]) plus the decoded change: (B, T - k, 3, H, W)."""
    return [frames[:, :c.shape[1]] + decoder(c) for c in codes]


STATIC_STRIDE = 8
"""The pixels objective decodes every frame that changes but only every 8th static one (weighted 8×, so the loss
is the same in expectation): a watching infant sees mostly static frames, and the decoder is the costly part."""


def pixel_loss(codes: list[torch.Tensor], decoder: FrameDecoder, frames: torch.Tensor, mask: torch.Tensor,
               change_weight: float) -> torch.Tensor:
    """Mean over k of the squared error of frame ``t`` + decoded change (codes (B, T - k, C)) to ``frames[:, k:]``
    (float (B, T, 3, H, W) in [0, 1]); each pixel is weighted 1 + ``change_weight`` where the target differs from
    frame ``t`` (by more than 2/255 in a channel); losses normalised by the weights of the real frames of ``mask``."""
    losses = []
    for k, code in enumerate(codes, start=1):
        n = code.shape[1]
        base, tgt = frames[:, :n], frames[:, k:k + n]
        changed = (tgt - base).abs().amax(2) > 2 / 255  # (B, n, H, W)
        moving = changed.flatten(2).any(2)
        static_kept = (torch.arange(n) % STATIC_STRIDE == 0)[None, :]
        sel = mask[:, k:k + n] & (moving | static_kept)
        frame_w = torch.where(moving, 1.0, float(STATIC_STRIDE))[sel][:, None, None]
        pred = base[sel] + decoder(code[sel])
        w = (1 + change_weight * changed[sel].float()) * frame_w
        err = (pred - tgt[sel]).pow(2).mean(1)
        losses.append((err * w).sum() / w.sum().clamp(min=1))
    return torch.stack(losses).mean()


def surprise(pred1: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-frame surprise (B, T): 1 - cosine of the one-step prediction and the latent (latents (B, T, D)), or
    the summed squared error (predicted frames (B, T, 3, H, W)); frame 0 gets 0."""
    if pred1.dim() == 5:
        err = (pred1 - target[:, 1:]).pow(2).sum((2, 3, 4))
    else:
        err = 1 - F.cosine_similarity(pred1, target[:, 1:], dim=-1, eps=1e-6)
    return torch.cat([torch.zeros_like(err[:, :1]), err], 1)


def reveal_head(hidden: int) -> nn.Sequential:
    """Core state → logits over :data:`REVEAL_CLASSES`; the last layer starts at zero (a uniform prediction)."""
    head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, REVEAL_CLASSES))
    nn.init.zeros_(head[2].weight)
    nn.init.zeros_(head[2].bias)
    return head


def reveal_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the reveal head (logits (B, T, C)) on the labelled frames (labels (B, T), -1: none); 0
    (with a gradient) when no frame is labelled."""
    keep = labels >= 0
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], labels[keep].long())


class WorldModel(nn.Module):
    """Online encoder, EMA target encoder, recurrent predictor and its feed-forward twin; with ``pixels`` each
    predictor has a :class:`FrameDecoder` (``decoder``, ``feedforward_decoder``) and predicts frames; with
    ``reveal`` each has a reveal head (``reveal_head``, ``feedforward_reveal_head``, :func:`reveal_head`)."""

    def __init__(self, width: int, height: int, arch: str = "fast", features_dim: int = 256, hidden: int = 256,
                 horizon: int = 3, n_actions: int = 6, pixels: bool = False, reveal: bool = False) -> None:
        super().__init__()
        space = gym.spaces.Box(0, 255, (3, height, width), dtype="uint8")
        # raw 0-255 pixels in, as in the curriculum's learner (the weights mean the same either way)
        self.encoder = InfantEncoder(space, features_dim, arch, pixel_scale=1 / 255)
        self.target = InfantEncoder(space, features_dim, arch, pixel_scale=1 / 255)
        self.target.load_state_dict(self.encoder.state_dict())
        self.target.requires_grad_(False)
        out = hidden if pixels else features_dim
        self.predictor = Predictor(features_dim, n_actions, hidden, horizon, recurrent=True, out_dim=out)
        self.feedforward = Predictor(features_dim, n_actions, hidden, horizon, recurrent=False, out_dim=out)
        self.pixels = pixels
        if pixels:
            self.decoder = FrameDecoder(hidden, width, height)
            self.feedforward_decoder = FrameDecoder(hidden, width, height)
        self.spec = {"width": width, "height": height, "arch": arch, "features_dim": features_dim,
                     "hidden": hidden, "horizon": horizon, "n_actions": n_actions}
        if pixels:  # only then, so that older world models keep their spec
            self.spec["pixels"] = True
        self.reveal = reveal
        if reveal:
            self.reveal_head = reveal_head(hidden)
            self.feedforward_reveal_head = reveal_head(hidden)
            self.spec["reveal"] = True

    @staticmethod
    def _images(frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, T, H, W, 3) → float (B*T, 3, H, W)."""
        b, t, h, w, c = frames.shape
        return frames.reshape(b * t, h, w, c).permute(0, 3, 1, 2).float()

    @staticmethod
    def _frames01(frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, T, H, W, 3) → float (B, T, 3, H, W) in [0, 1]."""
        return frames.permute(0, 1, 4, 2, 3).float().div(255)

    def encode(self, frames: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Latents (B, T, D) of uint8 frames (B, T, H, W, 3)."""
        enc = self.target if target else self.encoder
        z = enc(self._images(frames))
        return z.view(frames.shape[0], frames.shape[1], -1)

    def losses(self, frames: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor, objective: str,
               online_frames: torch.Tensor | None = None, change_weight: float = 0.0,
               labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The recurrent model's loss (trains encoder + GRU) and the feed-forward twin's (on detached latents);
        ``online_frames``: an augmented view for the online encoder (targets see ``frames``); ``change_weight``:
        the ``pixels`` objective's extra weight of changing pixels; ``labels`` (B, T): the reveal labels
        (:func:`agent.video.reveal_targets`), which add ``reveal_loss`` and ``feedforward_reveal_loss``."""
        z = self.encode(frames if online_frames is None else online_frames)
        a = actions.long()
        h, hf = self.predictor.state(z, a), self.feedforward.state(z.detach(), a)
        out: dict[str, torch.Tensor] = {}
        if labels is not None:
            if not self.reveal:
                raise ValueError("reveal labels need a world model built with reveal=True")
            out["reveal_loss"] = reveal_loss(self.reveal_head(h), labels)
            out["feedforward_reveal_loss"] = reveal_loss(self.feedforward_reveal_head(hf), labels)
        if objective == "pixels":
            if not self.pixels:
                raise ValueError("objective 'pixels' needs a world model built with pixels=True")
            img = self._frames01(frames)
            rec = pixel_loss(self.predictor(z, a, h), self.decoder, img, mask, change_weight)
            ff = pixel_loss(self.feedforward(z.detach(), a, hf), self.feedforward_decoder, img, mask, change_weight)
            return {"loss": rec, "feedforward_loss": ff, **out}
        with torch.no_grad():
            tgt = self.encode(frames, target=True)
        rec = prediction_loss(self.predictor(z, a, h), tgt, mask, objective)
        ff = prediction_loss(self.feedforward(z.detach(), a, hf), tgt, mask, objective)
        return {"loss": rec, "feedforward_loss": ff, **out}

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """target ← tau · target + (1 - tau) · online."""
        for t, o in zip(self.target.parameters(), self.encoder.parameters()):
            t.mul_(tau).add_(o, alpha=1 - tau)

    @torch.no_grad()
    def surprise(self, frames: torch.Tensor, actions: torch.Tensor, recurrent: bool = True) -> torch.Tensor:
        """Per-frame surprise (B, T) of the recurrent model (or of its feed-forward twin)."""
        z = self.encode(frames)
        model = self.predictor if recurrent else self.feedforward
        pred1 = model(z, actions.long())[0]
        if self.pixels:
            img = self._frames01(frames)
            dec = self.decoder if recurrent else self.feedforward_decoder
            return surprise(pixel_predictions([pred1], dec, img)[0], img)
        return surprise(pred1, self.encode(frames, target=True))

    @torch.no_grad()
    def reveal_logprobs(self, frames: torch.Tensor, actions: torch.Tensor, recurrent: bool = True) -> torch.Tensor:
        """Log-probabilities (B, T, :data:`REVEAL_CLASSES`) of what the reveal will show, predicted after each
        frame by the recurrent model (or its feed-forward twin, from that frame alone)."""
        if not self.reveal:
            raise ValueError("this world model has no reveal head (train it with model.reveal_weight > 0)")
        z = self.encode(frames)
        model, head = (self.predictor, self.reveal_head) if recurrent else \
            (self.feedforward, self.feedforward_reveal_head)
        return F.log_softmax(head(model.state(z, actions.long())), -1)


def _parts(model: WorldModel) -> tuple[str, ...]:
    """The saved parts of a world model."""
    parts = ("encoder", "target", "predictor", "feedforward")
    parts += ("decoder", "feedforward_decoder") if model.pixels else ()
    return parts + (("reveal_head", "feedforward_reveal_head") if model.reveal else ())


def save_world_model(model: WorldModel, path: str | Path, **meta: Any) -> Path:
    """Write ``world_model.pt`` (atomically): the spec to rebuild it, every part's weights, ``meta``."""
    def sd(m: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
    atomic_torch_save({"format": WORLD_MODEL_FORMAT, "spec": dict(model.spec), "meta": meta,
                       **{name: sd(getattr(model, name)) for name in _parts(model)}}, path)
    return Path(path)


def load_world_model(path: str | Path) -> tuple[WorldModel, dict[str, Any]]:
    """Rebuild a saved world model from ``world_model.pt`` or a folder holding it; returns it and its meta."""
    p = Path(path)
    if p.is_dir():
        p = p / "world_model.pt"
    if not p.is_file():
        raise FileNotFoundError(f"no world model at {str(path)!r}: pass a folder written by python -m agent.pretrain "
                                "(or models/world-model) or its world_model.pt")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for truncated/garbage files
        raise ValueError(f"world model {str(p)!r} is corrupt or unreadable ({type(e).__name__}: {e})") from None
    if not isinstance(blob, dict) or blob.get("format") != WORLD_MODEL_FORMAT:
        raise ValueError(f"{str(p)!r} is not a Peekaboo world model (format {WORLD_MODEL_FORMAT})")
    model = WorldModel(**blob["spec"])
    for name in _parts(model):
        getattr(model, name).load_state_dict({k: v.float() for k, v in blob[name].items()})
    return model.eval(), dict(blob.get("meta", {}))


def check_encoder_file(path: str | Path, model: WorldModel) -> None:
    """An ``encoder.pt`` beside a world model must hold the same weights (a mismatch means mixed-up files)."""
    blob = read_encoder(path)
    for k, v in model.encoder.state_dict().items():
        if not torch.equal(blob["state_dict"][k].float(), v):
            raise ValueError(f"{str(path)!r} is not the encoder of the world model beside it")
