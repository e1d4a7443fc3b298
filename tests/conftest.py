"""Shared fixtures: small real MuJoCo renders, never mocks."""

from __future__ import annotations

import numpy as np
import pytest

import env  # noqa: F401  (sets MUJOCO_GL before anything imports mujoco)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
