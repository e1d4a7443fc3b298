"""A small recurrent world model over the shared encoder's latents, trained from frames and actions only.

The online encoder (:class:`agent.encoder.InfantEncoder`, the curriculum's) turns each frame into a latent; a GRU
reads the latents with the action taken after each frame; for every ``k`` in 1..``horizon`` a head predicts the
latent of frame ``t + k`` from the GRU state at ``t`` and the actions ``t .. t + k - 1``. The targets come from a
*target encoder*, an exponential moving average of the online one without gradient (BYOL / SPR), which keeps the
latents from collapsing to a constant. Two objectives (``objective``):

- ``latent``: 1 - cosine(prediction, target latent);
- ``contrastive``: InfoNCE over the batch (ATC-style; Stooke et al. 2021): each prediction must pick its own
  target among the other clips' latents at the same step.

A feed-forward twin (the same heads on the current latent alone, no memory) learns beside it from the detached
latents: the violation-of-expectation probes compare the two. The *surprise* at frame ``t`` is
1 - cosine(prediction of frame t made at t - 1, target latent of frame t).
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
OBJECTIVES = ("latent", "contrastive")
ACTION_DIM = 8
"""Width of the learned action embedding."""


class Predictor(nn.Module):
    """Latents + actions → predicted latents ``k`` = 1..``horizon`` steps ahead; recurrent (GRU) or not."""

    def __init__(self, features_dim: int, n_actions: int, hidden: int, horizon: int, recurrent: bool) -> None:
        super().__init__()
        self.horizon, self.recurrent, self.n_actions = horizon, recurrent, n_actions
        self.action = nn.Embedding(n_actions, ACTION_DIM)
        if recurrent:
            self.core: nn.Module = nn.GRU(features_dim + ACTION_DIM, hidden, batch_first=True)
        else:
            self.core = nn.Sequential(nn.Linear(features_dim + ACTION_DIM, hidden), nn.ReLU())
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden + ACTION_DIM * k, hidden), nn.ReLU(), nn.Linear(hidden, features_dim))
            for k in range(1, horizon + 1))

    def forward(self, z: torch.Tensor, actions: torch.Tensor) -> list[torch.Tensor]:
        """``z`` (B, T, D), ``actions`` (B, T) long → for each k a prediction (B, T - k, D) of ``z[:, k:]``."""
        emb = self.action(actions)
        x = torch.cat([z, emb], -1)
        h = self.core(x)[0] if self.recurrent else self.core(x)
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


def surprise(pred1: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-frame surprise (B, T): 1 - cosine of the one-step prediction and the latent; frame 0 gets 0."""
    err = 1 - F.cosine_similarity(pred1, target[:, 1:], dim=-1, eps=1e-6)
    return torch.cat([torch.zeros_like(err[:, :1]), err], 1)


class WorldModel(nn.Module):
    """Online encoder, EMA target encoder, recurrent predictor and its feed-forward twin."""

    def __init__(self, width: int, height: int, arch: str = "fast", features_dim: int = 256, hidden: int = 256,
                 horizon: int = 3, n_actions: int = 6) -> None:
        super().__init__()
        space = gym.spaces.Box(0, 255, (3, height, width), dtype="uint8")
        # raw 0-255 pixels in, as in the curriculum's learner (the weights mean the same either way)
        self.encoder = InfantEncoder(space, features_dim, arch, pixel_scale=1 / 255)
        self.target = InfantEncoder(space, features_dim, arch, pixel_scale=1 / 255)
        self.target.load_state_dict(self.encoder.state_dict())
        self.target.requires_grad_(False)
        self.predictor = Predictor(features_dim, n_actions, hidden, horizon, recurrent=True)
        self.feedforward = Predictor(features_dim, n_actions, hidden, horizon, recurrent=False)
        self.spec = {"width": width, "height": height, "arch": arch, "features_dim": features_dim,
                     "hidden": hidden, "horizon": horizon, "n_actions": n_actions}

    @staticmethod
    def _images(frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, T, H, W, 3) → float (B*T, 3, H, W)."""
        b, t, h, w, c = frames.shape
        return frames.reshape(b * t, h, w, c).permute(0, 3, 1, 2).float()

    def encode(self, frames: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Latents (B, T, D) of uint8 frames (B, T, H, W, 3)."""
        enc = self.target if target else self.encoder
        z = enc(self._images(frames))
        return z.view(frames.shape[0], frames.shape[1], -1)

    def losses(self, frames: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor, objective: str,
               online_frames: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The recurrent model's loss (trains encoder + GRU) and the feed-forward twin's (on detached latents);
        ``online_frames``: an augmented view for the online encoder (targets see ``frames``)."""
        z = self.encode(frames if online_frames is None else online_frames)
        with torch.no_grad():
            tgt = self.encode(frames, target=True)
        a = actions.long()
        rec = prediction_loss(self.predictor(z, a), tgt, mask, objective)
        ff = prediction_loss(self.feedforward(z.detach(), a), tgt, mask, objective)
        return {"loss": rec, "feedforward_loss": ff}

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """target ← tau · target + (1 - tau) · online."""
        for t, o in zip(self.target.parameters(), self.encoder.parameters()):
            t.mul_(tau).add_(o, alpha=1 - tau)

    @torch.no_grad()
    def surprise(self, frames: torch.Tensor, actions: torch.Tensor, recurrent: bool = True) -> torch.Tensor:
        """Per-frame surprise (B, T) of the recurrent model (or of its feed-forward twin)."""
        z, tgt = self.encode(frames), self.encode(frames, target=True)
        model = self.predictor if recurrent else self.feedforward
        return surprise(model(z, actions.long())[0], tgt)


def save_world_model(model: WorldModel, path: str | Path, **meta: Any) -> Path:
    """Write ``world_model.pt`` (atomically): the spec to rebuild it, every part's weights, ``meta``."""
    def sd(m: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
    atomic_torch_save({"format": WORLD_MODEL_FORMAT, "spec": dict(model.spec), "encoder": sd(model.encoder),
                       "target": sd(model.target), "predictor": sd(model.predictor),
                       "feedforward": sd(model.feedforward), "meta": meta}, path)
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
    for name in ("encoder", "target", "predictor", "feedforward"):
        getattr(model, name).load_state_dict({k: v.float() for k, v in blob[name].items()})
    return model.eval(), dict(blob.get("meta", {}))


def check_encoder_file(path: str | Path, model: WorldModel) -> None:
    """An ``encoder.pt`` beside a world model must hold the same weights (a mismatch means mixed-up files)."""
    blob = read_encoder(path)
    for k, v in model.encoder.state_dict().items():
        if not torch.equal(blob["state_dict"][k].float(), v):
            raise ValueError(f"{str(path)!r} is not the encoder of the world model beside it")
