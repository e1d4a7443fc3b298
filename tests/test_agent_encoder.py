"""The shared encoder: sized by a dry pass, saved on its own, rebuilt by name, mismatches are clear errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agent.encoder import EncoderCheckpointError, InfantEncoder, build_encoder, load_encoder, save_encoder


def _space(c=3, h=32, w=32):
    return gym.spaces.Box(0, 255, (c, h, w), np.uint8)


@pytest.mark.parametrize("arch,size", [("fast", 32), ("fast", 64), ("small", 32), ("small", 48), ("nature", 64)])
def test_sized_by_dry_pass(arch, size):
    enc = InfantEncoder(_space(h=size, w=size), 32, arch)
    assert enc(torch.zeros(2, 3, size, size)).shape == (2, 32)


def test_nature_rejects_tiny_images():
    with pytest.raises(ValueError, match="encoder='small'"):
        InfantEncoder(_space(), 32, "nature")


def test_save_load_roundtrip_and_mismatch(tmp_path):
    a = InfantEncoder(_space(), 32)
    path = save_encoder(a, tmp_path / "encoder.pt", stage="s")
    b = build_encoder(path)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(EncoderCheckpointError, match="obs_shape saved=.*needed"):
        load_encoder(InfantEncoder(_space(h=48, w=48), 32), path)
    with pytest.raises(EncoderCheckpointError, match="features_dim"):
        load_encoder(InfantEncoder(_space(), 16), path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(EncoderCheckpointError, match="corrupt"):
        load_encoder(a, bad)


@pytest.mark.parametrize("arch", ["fast", "small", "nature"])
def test_pixel_scale_folded_into_the_first_conv_is_the_same_function(arch):
    """The policy hands raw 0-255 pixels to an encoder with pixel_scale=1/255: same features as SB3's /255 path,
    so encoder weights transfer between the two."""
    space = gym.spaces.Box(0, 255, (3, 48, 48), np.uint8)
    plain, folded = InfantEncoder(space, 32, arch), InfantEncoder(space, 32, arch, pixel_scale=1 / 255)
    folded.load_state_dict(plain.state_dict())
    x = torch.randint(0, 256, (2, 3, 48, 48)).float()
    assert torch.allclose(plain(x / 255), folded(x), atol=1e-5)
