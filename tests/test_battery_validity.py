"""The battery measures memory: a hidden toy stays put and out of sight, looking cannot find it, every option set
that makes an env is solvable, and only the oracle is given privileged information."""

from __future__ import annotations

import numpy as np
import pytest

import env as peekaboo
from env.seeds import eval_seed
from env.tasks.base import PRIVILEGED, public_info
from env.tasks.props import CUP_HEIGHT, CUP_RADIUS, TOY
from scenes import objects
from tools.agents import make_agent
from tools.evaluate import evaluate, run_episode

FAST = {"width": 32, "height": 32, "render_observations": False}


def test_hidden_toy_stays_put_and_is_never_seen_before_the_choice():
    """200 episodes over cups, delayed response, A-not-B and occluder (a searching agent that moves): from the end
    of hiding until the trial's choice the toy does not move by more than 1 mm and has no segmentation pixel."""
    cases = [("cups", {}), ("delayed_response", {"delay": 2.0}), ("a_not_b", {"delay": 1.0, "n_a_trials": 1}),
             ("occluder", {})]
    checked = 0
    for task, kw in cases:
        e = peekaboo.make(task, width=32, height=32, observations=("segmentation",), **kw)
        agent = make_agent("memoryless", e)
        toy_id = None
        for i in range(50):
            seed = eval_seed(task, i, 7)
            obs, info = e.reset(seed=seed)
            agent.reset(seed)
            toy_id = 1 + e.unwrapped.backend.object_names.index(TOY)
            hidden_at, done = None, False
            while not done:
                obs, _, term, trunc, info = e.step(agent.act(obs, public_info(info)))
                done = term or trunc
                if info["phase"] in ("delay", "search"):
                    where = e.unwrapped.world.position(TOY)
                    hidden_at = where if hidden_at is None else hidden_at
                    assert np.abs(where - hidden_at).max() <= 1e-3, (task, i)
                    assert not (obs["segmentation"] == toy_id).any(), (task, i, info["phase"])
                    checked += 1
                else:
                    hidden_at = None
        e.close()
    assert checked > 200 * 20


def test_toy_set_fits_under_a_cup_and_is_randomized():
    for kind in objects.BATTERY_TOY_KINDS:
        toy = objects.battery_toy("t", kind, 0.075, "m", "a")
        x0, y0, x1, y1 = toy.footprint()
        assert max(-x0, -y0, x1, y1) < CUP_RADIUS and toy.height() < CUP_HEIGHT, kind
        assert toy.dynamics == "kinematic"
    kinds, sizes = set(), set()
    for seed in range(12):
        e = peekaboo.make("cups", **FAST)
        e.reset(seed=seed)
        kinds.add(e.unwrapped.task.toy.kind)
        sizes.add(round(e.unwrapped.task.toy.size, 4))
        e.close()
    assert kinds == set(objects.BATTERY_TOY_KINDS) and len(sizes) > 6
    e = peekaboo.make("cups", randomization={"battery_toy_kind": 2}, **FAST)
    e.reset(seed=0)
    assert e.unwrapped.task.toy.kind == "block"
    e.close()


class _Recorder:
    """An agent that records the info it is given."""

    name = "recorder"

    def __init__(self, privileged: bool) -> None:
        self.privileged = privileged
        self.keys: set[str] = set()

    def reset(self, seed: int) -> None:
        pass

    def act(self, obs, info):
        self.keys |= set(info)
        return 1 if info["phase"] == "search" else 0


def test_only_a_privileged_agent_is_given_the_privileged_block():
    e = peekaboo.make("a_not_b", n_a_trials=1, **FAST)
    public, oracle = _Recorder(False), _Recorder(True)
    for agent in (public, oracle):
        info, _ = run_episode(e, agent, 3)
        assert PRIVILEGED in info  # the scoring still reads it
    assert PRIVILEGED not in public.keys and PRIVILEGED in oracle.keys
    assert not public.keys & {"target_index", "target_location", "a_location", "b_location", "choices"}
    for name in ("memoryless", "random", "peeking"):
        assert not make_agent(name, e).privileged
    assert make_agent("oracle", e).privileged
    e.close()


@pytest.mark.parametrize("task,options", [
    ("cups", {"n_cups": 4}), ("cups", {"n_cups": 4, "delay_mode": "lights_out", "delay": 2.0}),
    ("a_not_b", {"delay": 20.0}), ("occluder", {"n_screens": 2, "screen_spacing": 0.7}),
    ("occluded_trajectory", {"delay_mode": "turn_away", "delay": 1.0}),
])
def test_oracle_solves_every_valid_option_set(task, options):
    rep = evaluate("oracle", [task], 10, 1, {**FAST, "stage": "crawling"}, options, show_progress=False)
    for label, entry in rep["tasks"][task]["conditions"].items():
        assert entry["rate"] >= 0.98, (task, options, label, entry["rate"])


def test_oracle_solves_lying_with_a_long_enough_search():
    """The lying stage crawls at 0.05 m/s: the error names the search time that suffices, and it does."""
    with pytest.raises(ValueError, match=r"search_time >= (\d+)") as err:
        peekaboo.make("cups", stage="lying")
    need = int(err.value.args[0].rsplit(">= ", 1)[1])
    rep = evaluate("oracle", ["cups"], 4, 0, {**FAST, "stage": "lying"}, {"search_time": need}, show_progress=False)
    assert all(e["rate"] == 1.0 for e in rep["tasks"]["cups"]["conditions"].values())


def test_peeking_agent_never_sees_toy_pixels_in_hidden_conditions():
    """With rendering on, the peeking agent's whole search (its tour of vantage points) shows no toy pixel."""
    for task in ("occluder", "occluded_trajectory"):
        e = peekaboo.make(task, width=48, height=48, observations=("segmentation",), search_time=12.0)
        agent = make_agent("peeking", e)
        for i in range(3):
            seed = eval_seed(task, i, 5)
            obs, info = e.reset(seed=seed)
            agent.reset(seed)
            toy_id = 1 + e.unwrapped.backend.object_names.index(TOY)
            moved, done = 0.0, False
            start = np.array(info["infant_pose"][:2])
            while not done:
                obs, _, term, trunc, info = e.step(agent.act(obs, public_info(info)))
                done = term or trunc
                if info["phase"] == "search":
                    assert not (obs["segmentation"] == toy_id).any(), (task, i)
                    moved = max(moved, float(np.hypot(*(np.array(info["infant_pose"][:2]) - start))))
            assert moved > 0.5  # it did go looking
        e.close()


@pytest.mark.slow
def test_peeking_agent_is_at_chance_when_hidden_and_solves_the_controls():
    tasks = ["occluder", "occluded_trajectory", "cups"]
    for search_time in (6.0, 20.0):
        rep = evaluate("peeking", tasks, 40, 2, FAST, {"search_time": search_time}, show_progress=False)
        for task, tr in rep["tasks"].items():
            for label, e in tr["conditions"].items():
                if e["kind"] == "hidden":
                    assert e["ci95"][0] <= e["chance"], (task, label, search_time, e)
                elif e["kind"] == "control":
                    assert e["rate"] >= 0.95, (task, label, search_time, e["rate"])
