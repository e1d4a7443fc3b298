"""Developmental vision: acuity by age and the low-pass filter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import env
from env.development import acuity_cpd
from env.vision import InfantVision, VisionConfig, blur_sigma_px


def _high_freq_energy(img: np.ndarray) -> float:
    g = img.astype(np.float64).mean(axis=2)
    f = np.abs(np.fft.fftshift(np.fft.fft2(g - g.mean()))) ** 2
    h, w = g.shape
    yy, xx = np.mgrid[-h // 2:h // 2, -w // 2:w // 2]
    return float(f[np.hypot(yy / h, xx / w) > 0.1].sum())


def test_acuity_table_matches_mayer_1995():
    assert acuity_cpd(1) == pytest.approx(0.85)
    assert acuity_cpd(3) == pytest.approx(2.6)
    assert acuity_cpd(6) == pytest.approx(5.5)
    assert acuity_cpd(12) == pytest.approx(9.4)
    assert acuity_cpd(36) == pytest.approx(17.4)
    ages = np.linspace(0, 60, 50)
    assert np.all(np.diff([acuity_cpd(a) for a in ages]) > 0)


def test_filter_removes_more_high_frequencies_the_younger_the_infant():
    e = env.make("Peekaboo/FindToy-v1", width=256, height=256, age_months=36)
    e.reset(seed=5)
    raw = e.unwrapped.backend.render().rgb
    e.close()
    ages = [0.5, 1, 1.5, 2, 2.5, 3, 6, 12, 36]
    filters = [InfantVision(VisionConfig(), a, 256, 60.0) for a in ages]
    energies = [_high_freq_energy(f(raw)) for f in filters]
    assert all(a <= b for a, b in itertools.pairwise(energies)), energies  # monotone in age
    blurred = [e for e, f in zip(energies, filters) if f.sigma > 0]
    assert len(blurred) >= 4 and all(a < b for a, b in itertools.pairwise(blurred))  # strictly, below Nyquist
    # 256 px over 60° resolve 2.1 cycles/degree: from ~2.5 months on, acuity exceeds the image's.
    assert energies[-1] == _high_freq_energy(raw)
    assert energies[0] < 0.5 * _high_freq_energy(raw)


def test_no_blur_when_the_image_is_coarser_than_acuity():
    # 64 px over 60° resolves 0.53 cycles/degree: below even a 1-month-old's acuity.
    assert blur_sigma_px(1.0, 64, 60.0) == 0.0
    assert blur_sigma_px(1.0, 256, 60.0) > 0.0


def test_contrast_and_saturation_reduction():
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0] = 255
    out = InfantVision(VisionConfig(contrast=0.5, saturation=0.0), 36, 8, 60)(img)
    assert np.ptp(out.astype(int), axis=2).max() <= 1  # grey
    assert 60 < out.mean() < 200


def test_env_applies_age_blur_to_observations():
    young = env.make("Peekaboo/FindToy-v1", width=256, height=256, age_months=1)
    old = env.make("Peekaboo/FindToy-v1", width=256, height=256, age_months=24)
    a, _ = young.reset(seed=2)
    b, _ = old.reset(seed=2)
    assert _high_freq_energy(a) < 0.5 * _high_freq_energy(b)
    young.close(); old.close()
