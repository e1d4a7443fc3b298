"""The shared visual encoder: an SB3 features extractor that is saved on its own and transferred between stages."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn
from torch.nn import functional as F

from agent.files import atomic_write

ENCODER_FORMAT = "peekaboo-encoder/1"


def _small(c: int) -> nn.Sequential:
    # Stride-2 3x3/5x5 convs with padding: works from 16 px up (a Nature CNN needs >= 36 px).
    return nn.Sequential(
        nn.Conv2d(c, 32, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(),
    )


def _nature(c: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c, 32, 8, stride=4), nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
        nn.Flatten(),
    )


def _fast(c: int) -> nn.Sequential:
    # The DQN trunk of Mnih et al. 2013 (16 8x8/4, 32 4x4/2): ~1.3 M multiply-adds at 64x64, 3x fewer than
    # nature and 8x fewer than small. On a 2-core CPU PPO is learner-bound, so this is the default.
    return nn.Sequential(
        nn.Conv2d(c, 16, 8, stride=4), nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
        nn.Flatten(),
    )


ENCODERS: dict[str, Callable[[int], nn.Sequential]] = {"fast": _fast, "small": _small, "nature": _nature}
"""Encoder architectures by name: input channels → conv trunk (the linear head is sized by a dry pass)."""


class InfantEncoder(BaseFeaturesExtractor):
    """CNN over channel-first images (SB3 transposes HWC observations), sized by one dry forward pass.

    :param observation_space: a channel-first image ``Box`` (C, H, W); C = 3 × frame stack.
    :param features_dim: output width.
    :param arch: a name in :data:`ENCODERS`.
    :param pixel_scale: factor applied to the input pixels, folded into the first convolution's kernel: 1/255
        when the policy hands over raw 0–255 pixels (``normalize_images=False``), which saves SB3 a full pass
        over every image of every minibatch; 1 when SB3 already divided by 255. The weights mean the same either
        way (a conv is linear), so encoders transfer between the two.
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 256, arch: str = "fast",
                 pixel_scale: float = 1.0) -> None:
        super().__init__(observation_space, features_dim)
        if arch not in ENCODERS:
            raise ValueError(f"unknown encoder {arch!r}; choose one of {sorted(ENCODERS)}")
        shape = observation_space.shape
        assert shape is not None and len(shape) == 3, \
            f"InfantEncoder needs an image observation (C, H, W), got shape {shape}; use observations=('rgb',)"
        self.arch = arch
        self.pixel_scale = float(pixel_scale)
        self.obs_shape = tuple(int(s) for s in shape)
        self.cnn = ENCODERS[arch](shape[0])
        with torch.no_grad():
            try:
                n_flat = self.cnn(torch.zeros(1, *shape)).shape[1]
            except RuntimeError as e:
                raise ValueError(f"encoder {arch!r} cannot take images of shape {shape}: {e}. Use a larger "
                                 f"resolution or encoder='small'") from None
        self.linear = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        if self.pixel_scale == 1.0:
            return self.linear(self.cnn(observations))
        first, *rest = self.cnn
        # scale the (small) kernel, not the (large) activations: ~8% faster PPO gradient steps on a CPU
        x = F.conv2d(observations, first.weight * self.pixel_scale, first.bias, first.stride, first.padding)
        for layer in rest:
            x = layer(x)
        return self.linear(x)

    def describe(self) -> dict[str, Any]:
        """What must match for these weights to be loaded elsewhere."""
        return {"arch": self.arch, "features_dim": self.features_dim, "obs_shape": list(self.obs_shape)}


class EncoderCheckpointError(RuntimeError):
    """An encoder file that is unreadable or does not fit the encoder it is loaded into."""


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through :func:`agent.checkpoint.atomic_write` (a crash never leaves half a file)."""
    atomic_write(path, lambda f: torch.save(obj, f))


def save_encoder(encoder: InfantEncoder, path: str | Path, **meta: Any) -> Path:
    """Save the encoder's weights and architecture (atomically) to ``path`` (``encoder.pt``)."""
    state = {k: v.detach().cpu().clone() for k, v in encoder.state_dict().items()}
    atomic_torch_save({"format": ENCODER_FORMAT, **encoder.describe(), "state_dict": state, "meta": meta}, path)
    return Path(path)


def read_encoder(path: str | Path) -> dict[str, Any]:
    """Read an encoder file; a corrupt or foreign file is an :class:`EncoderCheckpointError`."""
    p = Path(path)
    if not p.is_file():
        raise EncoderCheckpointError(f"encoder checkpoint {str(p)!r} does not exist")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for truncated/garbage files
        raise EncoderCheckpointError(f"encoder checkpoint {str(p)!r} is corrupt or unreadable "
                                     f"({type(e).__name__}: {e}); re-run the stage that wrote it") from None
    if not isinstance(blob, dict) or blob.get("format") != ENCODER_FORMAT:
        raise EncoderCheckpointError(f"{str(p)!r} is not a Peekaboo encoder checkpoint (format {ENCODER_FORMAT})")
    return blob


def build_encoder(path: str | Path) -> InfantEncoder:
    """Rebuild a saved encoder by its architecture name and load its weights."""
    blob = read_encoder(path)
    space = gym.spaces.Box(0, 255, tuple(blob["obs_shape"]), dtype="uint8")
    enc = InfantEncoder(space, int(blob["features_dim"]), str(blob["arch"]))
    enc.load_state_dict(blob["state_dict"])
    return enc


def load_encoder(encoder: InfantEncoder, path: str | Path) -> dict[str, Any]:
    """Copy saved weights into ``encoder`` after checking architecture, width and observation shape match."""
    blob = read_encoder(path)
    want = encoder.describe()
    got = {k: blob.get(k) for k in want}
    if got != want:
        diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
        raise EncoderCheckpointError(
            f"encoder checkpoint {str(path)!r} does not fit this agent: {', '.join(f'{k} saved={a} needed={b}' for k, (a, b) in diff.items())}. "
            "Use the same encoder, features_dim, resolution and frame_stack as the run that saved it")
    try:
        encoder.load_state_dict(blob["state_dict"])
    except RuntimeError as e:
        raise EncoderCheckpointError(f"encoder checkpoint {str(path)!r}: weights do not match: {e}") from None
    return dict(blob.get("meta", {}))


def set_trainable(encoder: nn.Module, trainable: bool) -> None:
    """Freeze or unfreeze every parameter (frozen weights get no gradient, so Adam leaves them bit-identical)."""
    for p in encoder.parameters():
        p.requires_grad_(trainable)
