"""Domain-randomization ranges: declared in one place, validated with errors that name the fix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import env
from scenes import Param, SceneRandomization, generate_home


def test_out_of_range_config_names_the_field_and_the_limits():
    with pytest.raises(ValueError, match=r"n_rooms.*\[1, 3\]"):
        SceneRandomization(n_rooms=Param(2, 1, 7, integer=True))


def test_inverted_range_is_an_error():
    with pytest.raises(ValueError, match="low=.*> high"):
        SceneRandomization(room_half_size=Param(2.0, 3.0, 1.5))


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown randomization key 'n_rooom'"):
        SceneRandomization.from_dict({"n_rooom": [1, 2]})


def test_from_dict_narrows_ranges_and_generator_obeys():
    rand = SceneRandomization.from_dict({"n_rooms": 3, "n_toys": [0, 0], "furniture_per_room": [1, 1]})
    for seed in range(3):
        scene = generate_home(np.random.default_rng(seed), rand)
        assert len(scene.rooms) == 3
        assert [o.name for o in scene.by_category("toy")] == ["duck"]  # the find-the-toy target is always there


def test_env_rejects_bad_randomization():
    with pytest.raises(ValueError, match="light_intensity"):
        env.make("Peekaboo/FindToy-v1", randomization={"light_intensity": [0.5, 9.0]})


def test_sampling_stays_in_range():
    rng = np.random.default_rng(0)
    r = SceneRandomization()
    for f in dataclasses.fields(r):
        p = getattr(r, f.name)
        vals = [p.sample(rng) for _ in range(50)]
        assert min(vals) >= p.low and max(vals) <= p.high
