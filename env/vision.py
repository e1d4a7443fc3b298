"""Developmental vision: low-pass the eye image to an infant's acuity; optional contrast/colour loss."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from env.development import acuity_cpd


@dataclass(frozen=True)
class VisionConfig:
    """How the infant's eye degrades the rendered image."""

    age_months: float | None = None
    """Age whose acuity the image is blurred to; None = the stage's typical age."""
    acuity: bool = True
    """Apply the acuity low-pass at all."""
    contrast: float = 1.0
    """Contrast multiplier around mid-grey in (0, 1]; 1 = adult contrast."""
    saturation: float = 1.0
    """Colour saturation multiplier in [0, 1]; 0 = grey (newborn-like)."""

    def __post_init__(self) -> None:
        if self.age_months is not None and not (0 <= self.age_months <= 216):
            raise ValueError(f"vision.age_months={self.age_months}: use 0..216 months")
        if not (0 < self.contrast <= 1):
            raise ValueError(f"vision.contrast={self.contrast}: use a value in (0, 1]")
        if not (0 <= self.saturation <= 1):
            raise ValueError(f"vision.saturation={self.saturation}: use a value in [0, 1]")


def blur_sigma_px(age_months: float, height_px: int, fovy_deg: float) -> float:
    """Gaussian sigma (pixels) whose transfer falls to 1/2 at the age's acuity, 0 if the image is coarser.

    A Gaussian of spatial sigma s has frequency response exp(-2 pi^2 s^2 f^2); solving for 1/2 at the cutoff
    f_c (cycles/pixel) gives s = sqrt(ln 2 / 2) / (pi f_c).
    """
    px_per_degree = height_px / fovy_deg
    cutoff = acuity_cpd(age_months) / px_per_degree  # cycles per pixel
    if cutoff >= 0.5:  # acuity above the image's Nyquist limit: nothing to remove
        return 0.0
    return math.sqrt(math.log(2) / 2) / (math.pi * cutoff)


class InfantVision:
    """Applies :class:`VisionConfig` to RGB frames of a fixed size and field of view."""

    def __init__(self, config: VisionConfig, age_months: float, height_px: int, fovy_deg: float) -> None:
        self.config = config
        self.sigma = blur_sigma_px(age_months, height_px, fovy_deg) if config.acuity else 0.0
        self.active = self.sigma > 0.3 or config.contrast < 1 or config.saturation < 1

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if not self.active:
            return rgb
        img = rgb
        if self.sigma > 0.3:
            img = cv2.GaussianBlur(img, (0, 0), self.sigma, borderType=cv2.BORDER_REFLECT)
        c = self.config
        if c.saturation < 1 or c.contrast < 1:
            f = img.astype(np.float32)
            if c.saturation < 1:
                grey = f.mean(axis=2, keepdims=True)
                f = grey + c.saturation * (f - grey)
            if c.contrast < 1:
                f = 127.5 + c.contrast * (f - 127.5)
            img = np.clip(f, 0, 255).astype(np.uint8)
        return img
