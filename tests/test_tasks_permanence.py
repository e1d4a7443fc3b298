"""The object-permanence battery tasks: registration, phases, info, and that hiding gives nothing away."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import env as peekaboo
from env.seeds import EVAL_SEED_BASE, TRAIN_SEED_MAX, check_train_seed, eval_seed

BATTERY_IDS = {
    "Peekaboo/Occluder-v2": "occluder", "Peekaboo/Cups-v2": "cups", "Peekaboo/ANotB-v2": "a_not_b",
    "Peekaboo/DelayedResponse-v2": "delayed_response", "Peekaboo/OccludedTrajectory-v2": "occluded_trajectory",
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
    for key in ("is_success", "chosen_location", "target_visible", "phase", "reward/choice", "reward/step",
                "chosen_index", "locations"):
        assert key in info, key
    for key in ("target_index", "target_location", "a_location", "b_location", "choices"):
        assert key not in info, key  # privileged: only under info["privileged"]
    assert {"target_index", "target_location", "choices"} <= set(info["privileged"])
    assert phases[:5] == ["show", "hide", "delay", "search", "reveal"]
    assert info["chosen_index"] == -1 and not info["is_success"]  # a still infant never chooses
    e.close()


@pytest.mark.parametrize("env_id,kwargs", [
    ("Peekaboo/Cups-v2", {}), ("Peekaboo/Cups-v2", {"n_cups": 4}), ("Peekaboo/Occluder-v2", {}),
    ("Peekaboo/OccludedTrajectory-v2", {}), ("Peekaboo/DelayedResponse-v2", {"delay_mode": "turn_away"}),
    ("Peekaboo/ANotB-v2", {"n_a_trials": 0}),
])
@pytest.mark.parametrize("phase", ["delay", "search"])
def test_hidden_location_not_in_frame(env_id, kwargs, phase):
    """Same seed, different hiding place: the frames after hiding are the same (toy out of sight, the caregiver's
    hand back at rest), for every toy of the set (each seed draws its own)."""
    for seed in (7, 8):
        frames, targets = [], []
        for target in (0, 1):
            e = gym.make(env_id, width=64, height=64, delay=1.0, target=target, **kwargs)
            obs, info = run_until(e, phase, seed=seed)
            assert not info["target_visible"]
            frames.append(obs.astype(int))
            targets.append(info["privileged"]["target_location"])
            e.close()
        assert targets[0] != targets[1]
        assert np.array_equal(frames[0], frames[1])


def test_toy_visible_while_shown_and_in_controls():
    e = gym.make("Peekaboo/Cups-v2", width=32, height=32, condition="transparent", delay=0.5)
    _, info = e.reset(seed=3)
    assert info["target_visible"]
    _, info = run_until(e, "search", seed=3)
    assert info["target_visible"]
    e.close()


def _delay_and_first_search(mode: str):
    """Every observation of the delay, and the first search frame, of one cups episode."""
    e = gym.make("Peekaboo/Cups-v2", width=32, height=32, delay=1.0, delay_mode=mode,
                 observations=("rgb", "depth", "segmentation"))
    obs, info = e.reset(seed=5)
    delay = []
    while info["phase"] != "search":
        obs, _, _, _, info = e.step(0)
        if info["phase"] == "delay":
            delay.append(obs)
    free = not e.unwrapped.world.frozen
    e.close()
    return delay, obs, free


def test_delay_modes_end_on_the_first_search_frame():
    """lights_out: every delay frame is dark in every observation (rgb 0, depth 0, segmentation 0); turn_away: the
    delay faces away. Both give back, on the first frame labelled search, exactly the freeze mode's frame, and the
    infant is free on it (v1 kept the lights off / the infant turned for one more step)."""
    _, first_freeze, free = _delay_and_first_search("freeze")
    assert free
    dark, first_dark, free = _delay_and_first_search("lights_out")
    assert len(dark) == 10 and free
    for obs in dark:
        assert obs["rgb"].max() == 0 and obs["depth"].max() == 0 and obs["segmentation"].max() == 0
    away, first_away, free = _delay_and_first_search("turn_away")
    assert free and not np.array_equal(away[0]["rgb"], first_freeze["rgb"])
    for first in (first_dark, first_away):
        for key in first_freeze:
            assert np.array_equal(first[key], first_freeze[key]), key


def test_same_seed_same_frames():
    a = gym.make("Peekaboo/Occluder-v2", width=32, height=32)
    b = gym.make("Peekaboo/Occluder-v2", width=32, height=32)
    oa, _ = a.reset(seed=11)
    ob, _ = b.reset(seed=11)
    for _ in range(15):
        oa = a.step(0)[0]
        ob = b.step(0)[0]
    assert np.array_equal(oa, ob)


def test_a_not_b_trials():
    e = gym.make("Peekaboo/ANotB-v2", width=32, height=32, n_a_trials=2, delay=0.0, search_time=4.0)
    _, info = e.reset(seed=5)
    assert info["n_trials"] == 3 and info["privileged"]["a_location"] != info["privileged"]["b_location"]
    done = False
    while not done:
        _, _, term, trunc, info = e.step(0)
        done = term or trunc
    assert info["privileged"]["choices"] == [-1, -1, -1] and not info["perseverative_error"]
    e2 = gym.make("Peekaboo/ANotB-v2", width=32, height=32, condition="no_history")
    assert e2.reset(seed=5)[1]["n_trials"] == 1


@pytest.mark.parametrize("bad,match", [
    ({"condition": "nope"}, "unknown condition"), ({"n_cups": 7}, "n_cups"), ({"delay_mode": "x"}, "delay_mode"),
    ({"target": 5}, "target"), ({"colour": 1}, "unknown env option"),
])
def test_bad_options(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gym.make("Peekaboo/Cups-v2", **bad)


@pytest.mark.parametrize("env_id,options,match", [
    ("Peekaboo/Occluder-v2", {"screen_distance": 2.5}, "reduce screen_distance"),
    ("Peekaboo/Occluder-v2", {"screen_spacing": 0.8}, "outside the field of view.*screen_spacing"),
    ("Peekaboo/Cups-v2", {"stage": "lying"}, r"search_time >= \d+"),
    ("Peekaboo/Cups-v2", {"stage": "sitting"}, "does not travel"),
    ("Peekaboo/Cups-v2", {"cup_spacing": 0.2}, "increase cup_spacing"),
    ("Peekaboo/ANotB-v2", {"delay": 20.0, "max_steps": 600}, r"max_steps >= \d+"),
])
def test_unsolvable_options_are_errors_that_name_the_fix(env_id, options, match):
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, **options)


def test_max_steps_is_derived_to_cover_every_trial():
    e = gym.make("Peekaboo/ANotB-v2", width=32, height=32, delay=20.0)
    task = e.unwrapped.task
    assert task.max_steps * 0.1 >= 4 * (1 + 1 + 20 + task.config.search_time + 1)
    e.close()


def test_retired_ids_name_their_replacement():
    for make in (peekaboo.make, gym.make):
        with pytest.raises(ValueError, match="Peekaboo/Occluder-v2"):
            make("Peekaboo/Occluder-v1")


def test_reads_are_pure():
    """reward, success, terminated and info only read: calling them again changes nothing, and the env's own
    answers are the same (state changes happen in after_physics)."""
    e = gym.make("Peekaboo/Cups-v2", width=32, height=32, condition="transparent", search_time=4.0)
    u = e.unwrapped
    _, info = e.reset(seed=4)
    done = False
    while not done:
        _, r, term, trunc, info = e.step(1 if info["phase"] == "search" else 0)
        done = term or trunc
        for _ in range(2):
            assert u.task.reward(u.world) == {k[7:]: v for k, v in info.items() if k.startswith("reward/")}
            assert sum(u.task.reward(u.world).values()) == r
            assert u.task.success(u.world) == info["is_success"] and u.task.terminated(u.world) == term
            assert u.task.info(u.world) == {k: v for k, v in info.items() if k in u.task.info(u.world)}
    e.close()


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
        e = gym.make("Peekaboo/Occluder-v2", width=32, height=32, n_screens=2, screen_distance=0.9,
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


def test_reward_comes_before_the_reveal_which_lifts_the_screens():
    """The choice is rewarded on the step it is made; the reveal then runs reveal_time with zero reward, lifting
    the screens, and the episode ends with it."""
    e = gym.make("Peekaboo/Occluder-v2", width=32, height=32, condition="visible", n_screens=1, reveal_time=1.0)
    _, info = e.reset(seed=2)
    rewards, phases = [], []
    done = False
    while not done:
        _, r, term, trunc, info = e.step(1 if info["phase"] == "search" else 0)
        done = term or trunc
        rewards.append(r)
        phases.append(info["phase"])
    first = phases.index("reveal")
    assert rewards[first] == 1.0 and info["is_success"] and term and not trunc
    assert set(rewards[first + 1:]) == {0.0} and len(phases) - first == 11  # the choice step + 1 s
    assert e.unwrapped.world.position("pb_screen_0")[2] > 0.4  # lifted: the infant sees where the toy was
    e.close()


def test_crossing_the_line_during_a_free_delay_is_a_false_start():
    e = gym.make("Peekaboo/Cups-v2", width=32, height=32, delay=6.0, delay_mode="free")
    _, info = e.reset(seed=1)
    events = []
    while info["phase"] in ("show", "hide", "delay"):
        _, _, _, _, info = e.step(1)
        events += info["events"]
    assert "false_start" in events and info["phase"] == "reveal" and info["chosen_index"] == -1
    e.close()
