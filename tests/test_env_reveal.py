"""The reveal label (env.reveal): where the infant itself sees the toy when the caregiver reveals it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import env as peekaboo
from env.batched import make_batched
from env.reveal import NO_LABEL, seen_location
from tools.agents import make_agent

SMALL = {"width": 48, "height": 48, "reveal_label": True}


def test_seen_location_reads_the_side_of_the_image_the_toy_is_on() -> None:
    seg = np.zeros((10, 20), np.int32)
    spots = [(1.0, 0.5), (1.0, -0.5)]  # facing +x: location 0 on the left, 1 on the right
    seg[4:6, 2:5] = 7
    assert seen_location(seg, 7, 0.0, math.radians(45), (0.0, 0.0), spots) == 0
    seg[:] = 0
    seg[4:6, 15:18] = 7
    assert seen_location(seg, 7, 0.0, math.radians(45), (0.0, 0.0), spots) == 1
    assert seen_location(seg, 8, 0.0, math.radians(45), (0.0, 0.0), spots) == NO_LABEL  # another object
    seg[:] = 0
    seg[5, 10:12] = 7  # two pixels, dead centre: too few to count, and ambiguous anyway
    assert seen_location(seg, 7, 0.0, math.radians(45), (0.0, 0.0), spots) == NO_LABEL


def _episode_labels(env_id: str, agent: str, seed: int, **kwargs) -> tuple[list[int], int, list[str]]:
    e = peekaboo.make(env_id, **SMALL, **kwargs)
    a = make_agent(agent, e)
    obs, info = e.reset(seed=seed)
    a.reset(seed)
    seen, phases, done = [], [], False
    while not done:
        obs, _, term, trunc, info = e.step(a.act(obs, info))
        done = term or trunc
        seen.append(info["reveal_seen"])
        phases.append(info["phase"])
    e.close()
    return seen, info["privileged"]["target_index"], phases


@pytest.mark.parametrize("env_id", ["Peekaboo/Occluder-v2", "Peekaboo/Cups-v2"])
def test_watched_from_the_display_every_reveal_shows_where_the_toy_was(env_id: str) -> None:
    for seed, agent in enumerate(["oracle", "random", "memoryless", "random"]):
        seen, target, phases = _episode_labels(env_id, agent, seed, reveal_view="display")
        labels = [s for s in seen if s != NO_LABEL]
        assert labels and set(labels) == {target}, (agent, seed)
        assert all(s == NO_LABEL for s, p in zip(seen, phases) if p != "reveal")  # only the reveal is labelled


def test_the_label_is_what_the_infant_sees_not_where_the_toy_is() -> None:
    # a wrong choice watched from where it ended: the other screen (and the toy) is out of view, so no label,
    # although the simulator knows the target; the right choice is seen
    outcomes = set()
    for seed in range(8):
        seen, target, _ = _episode_labels("Peekaboo/Occluder-v2", "memoryless", seed, reveal_view="stay")
        labels = {s for s in seen if s != NO_LABEL}
        assert labels <= {target}
        outcomes.add(bool(labels))
    assert outcomes == {True, False}


def test_lights_out_at_the_reveal_gives_no_label() -> None:
    e = peekaboo.make("Peekaboo/Occluder-v2", **SMALL, reveal_view="display").unwrapped
    e.reset(seed=3)
    e.backend.set_lights(False)
    assert e._reveal_seen() == NO_LABEL


def test_batched_worlds_give_the_single_envs_labels() -> None:
    opts = {**SMALL, "reveal_view": "display", "n_screens": 2, "screen_spacing": 0.6, "screen_distance": 0.9}
    v = make_batched(2, "Peekaboo/Occluder-v2", **opts)
    singles = [peekaboo.make("Peekaboo/Occluder-v2", **opts) for _ in range(2)]
    v.reset(seed=11)
    for i, s in enumerate(singles):
        s.reset(seed=11 + i)
    rng = np.random.default_rng(0)
    got, want = [], []
    try:
        for _ in range(100):  # a whole trial, reveal included (10 show + 10 hide + <= 60 search + 10 reveal)
            actions = rng.integers(6, size=2)
            _, _, terms, truncs, infos = v.step(actions)
            got.append(list(infos["reveal_seen"]))
            want.append([s.step(int(a))[4]["reveal_seen"] for s, a in zip(singles, actions)])
            if any(terms | truncs):  # the batch resets a finished world on its next step
                break
    finally:
        v.close()
        for s in singles:
            s.close()
    assert got == want
    assert any(x != NO_LABEL for row in got for x in row)
