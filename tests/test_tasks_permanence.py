"""The object-permanence battery tasks: registration, phases, info, and that hiding gives nothing away."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import env as peekaboo
from env.seeds import EVAL_SEED_BASE, TRAIN_SEED_MAX, check_train_seed, eval_seed

BATTERY_IDS = {
    "Peekaboo/Occluder-v1": "occluder", "Peekaboo/Cups-v1": "cups", "Peekaboo/ANotB-v1": "a_not_b",
    "Peekaboo/DelayedResponse-v1": "delayed_response", "Peekaboo/OccludedTrajectory-v1": "occluded_trajectory",
}


def run_until(e, phase: str, seed: int):
    """Step with noop until the first observation of ``phase``; returns (obs, info)."""
    obs, info = e.reset(seed=seed)
    while info["phase"] != phase:
        obs, _, term, trunc, info = e.step(0)
        assert not (term or trunc)
    return obs, info


@pytest.mark.parametrize("env_id", sorted(BATTERY_IDS))
def test_check_env(env_id):
    assert peekaboo.ENV_IDS[env_id] == BATTERY_IDS[env_id]
    e = gym.make(env_id, width=32, height=32)
    check_env(e.unwrapped, skip_render_check=True)
    e.close()


@pytest.mark.parametrize("env_id", sorted(BATTERY_IDS))
def test_phases_and_info(env_id):
    e = gym.make(env_id, width=32, height=32, delay=0.5)
    _, info = e.reset(seed=1)
    phases = [info["phase"]]
    done = False
    while not done:
        _, _, term, trunc, info = e.step(0)
        done = term or trunc
        if info["phase"] != phases[-1]:
            phases.append(info["phase"])
    assert term and not trunc
    for key in ("is_success", "target_location", "chosen_location", "target_visible", "phase", "reward/choice",
                "reward/step", "target_index", "chosen_index", "locations"):
        assert key in info, key
    assert phases[:4] == ["show", "hide", "delay", "search"]
    assert info["chosen_index"] == -1 and not info["is_success"]  # a still infant never chooses
    e.close()


@pytest.mark.parametrize("env_id,kwargs", [
    ("Peekaboo/Cups-v1", {}), ("Peekaboo/Cups-v1", {"n_cups": 4}), ("Peekaboo/Occluder-v1", {}),
    ("Peekaboo/OccludedTrajectory-v1", {}), ("Peekaboo/DelayedResponse-v1", {"delay_mode": "turn_away"}),
])
@pytest.mark.parametrize("phase", ["delay", "search"])
def test_hidden_location_not_in_frame(env_id, kwargs, phase):
    """Same seed, different hiding place: the frames after hiding are the same (toy out of sight)."""
    frames, targets = [], []
    for target in (0, 1):
        e = gym.make(env_id, width=64, height=64, delay=1.0, target=target, **kwargs)
        obs, info = run_until(e, phase, seed=7)
        assert not info["target_visible"]
        frames.append(obs.astype(int))
        targets.append(info["target_location"])
        e.close()
    assert targets[0] != targets[1]
    assert np.abs(frames[0] - frames[1]).max() <= 2


def test_toy_visible_while_shown_and_in_controls():
    e = gym.make("Peekaboo/Cups-v1", width=32, height=32, condition="transparent", delay=0.5)
    _, info = e.reset(seed=3)
    assert info["target_visible"]
    _, info = run_until(e, "search", seed=3)
    assert info["target_visible"]
    e.close()


def test_lights_out_delay():
    e = gym.make("Peekaboo/Cups-v1", width=32, height=32, delay=1.0, delay_mode="lights_out")
    lit, _ = run_until(e, "hide", seed=2)
    e.step(0)
    obs, _ = run_until_next(e, "delay")
    assert obs.mean() < 0.2 * lit.mean()
    e.close()


def run_until_next(e, phase):
    while True:
        obs, _, _, _, info = e.step(0)
        if info["phase"] == phase:
            obs, _, _, _, info = e.step(0)  # the delay's first step runs with the lights already out
            return obs, info


def test_same_seed_same_frames():
    a = gym.make("Peekaboo/Occluder-v1", width=32, height=32)
    b = gym.make("Peekaboo/Occluder-v1", width=32, height=32)
    oa, _ = a.reset(seed=11)
    ob, _ = b.reset(seed=11)
    for _ in range(15):
        oa = a.step(0)[0]
        ob = b.step(0)[0]
    assert np.array_equal(oa, ob)


def test_a_not_b_trials():
    e = gym.make("Peekaboo/ANotB-v1", width=32, height=32, n_a_trials=2, delay=0.0, search_time=0.5)
    _, info = e.reset(seed=5)
    assert info["n_trials"] == 3 and info["a_location"] != info["b_location"]
    done = False
    while not done:
        _, _, term, trunc, info = e.step(0)
        done = term or trunc
    assert info["choices"] == [-1, -1, -1] and not info["perseverative_error"]
    e2 = gym.make("Peekaboo/ANotB-v1", width=32, height=32, condition="no_history")
    assert e2.reset(seed=5)[1]["n_trials"] == 1


@pytest.mark.parametrize("bad,match", [
    ({"condition": "nope"}, "unknown condition"), ({"n_cups": 7}, "n_cups"), ({"delay_mode": "x"}, "delay_mode"),
    ({"target": 5}, "target"), ({"colour": 1}, "unknown env option"),
])
def test_bad_options(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gym.make("Peekaboo/Cups-v1", **bad)


def test_eval_seeds_disjoint_from_training():
    seeds = [eval_seed(t, i, s) for t in BATTERY_IDS.values() for i in range(200) for s in range(3)]
    assert min(seeds) >= EVAL_SEED_BASE >= TRAIN_SEED_MAX and max(seeds) < 2**32
    assert len(set(seeds)) == len(seeds)
    with pytest.raises(ValueError, match="reserved"):
        check_train_seed(eval_seed("cups", 0))


def test_approach_shaping_is_the_same_whichever_location_hides_the_toy():
    """The shaping term rewards closing in on the nearest choice object, not on the target: two episodes that
    differ only in the hiding place get identical shaping for the same actions (so it cannot teach where)."""
    shaping = []
    for target in (0, 1):
        e = gym.make("Peekaboo/Occluder-v1", width=32, height=32, n_screens=2, screen_distance=0.9,
                     approach_weight=1.0, target=target)
        run_until(e, "search", seed=5)
        terms = []
        for _ in range(12):
            _, _, term, trunc, info = e.step(1)  # crawl forward, towards the row of screens
            terms.append(info["reward/approach"])
            if term or trunc:
                break
        shaping.append(terms)
        e.close()
    assert shaping[0] == shaping[1]
    assert sum(shaping[0]) > 0.1  # crawling towards the screens pays
