"""The permanence diagnosis' tools: privileged input, sb3-contrib's sequence cutting, the linear probe."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import env  # noqa: F401  (registers ids)
from agent.policy import make_env_fn
from agent.privileged import PRIVILEGED_KEY, PrivilegedTarget, target_index
from agent.probe import linear_probe
from agent.seqpath import PHASE_CODES, Recording, buffer_sequences, gradient_path

OCC = {"width": 32, "height": 32, "n_screens": 2, "screen_distance": 0.9, "screen_spacing": 0.6}


def test_target_index_prefers_the_privileged_block() -> None:
    assert target_index({"privileged": {"target_index": 2}, "target_index": 0}) == 2
    assert target_index({"target_index": 1}) == 1
    with pytest.raises(KeyError, match="target_index"):
        target_index({"phase": "show"})


@pytest.mark.parametrize("target", [0, 1])
def test_privileged_wrapper_adds_the_one_hot_of_the_hidden_location(target: int) -> None:
    e = PrivilegedTarget(gym.make("Peekaboo/Occluder-v2", target=target, **OCC))
    obs, info = e.reset(seed=3)
    want = np.eye(2, dtype=np.float32)[target]
    np.testing.assert_array_equal(obs[PRIVILEGED_KEY], want)
    for _ in range(25):  # through show and hide into search
        obs, *_, info = e.step(0)
        np.testing.assert_array_equal(obs[PRIVILEGED_KEY], want)
    assert info["phase"] == "search"
    e.close()


def test_privileged_wrapper_gives_zeros_when_nothing_is_hidden() -> None:
    e = PrivilegedTarget(gym.make("Peekaboo/Occluder-v2", condition="empty", **OCC))
    obs, _ = e.reset(seed=0)
    assert obs[PRIVILEGED_KEY].sum() == 0
    e.close()


def test_only_a_privileged_run_sees_the_location() -> None:
    plain = make_env_fn("Peekaboo/Occluder-v2", OCC)()
    assert isinstance(plain.observation_space, gym.spaces.Box)  # the image only: no target anywhere
    priv = make_env_fn("Peekaboo/Occluder-v2", OCC, privileged=True)()
    assert set(priv.observation_space.spaces) == {"image", PRIVILEGED_KEY}
    plain.close()
    priv.close()


def test_probe_recovers_a_planted_signal_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    noise = rng.normal(size=(600, 20))
    planted = noise.copy()
    planted[:, 5] += 5.0 * y  # one direction carries the label
    good = linear_probe(planted, y, 3)
    assert good["test_acc"] > 0.9 and good["test_ci95"][0] > 0.8
    bad = linear_probe(noise, y, 3)
    assert bad["test_ci95"][0] < 0.45  # chance is ~1/3


def test_buffer_sequences_cut_at_episode_starts_and_rollout_starts() -> None:
    starts = np.zeros((8, 2), bool)
    starts[0, 0] = starts[5, 0] = starts[3, 1] = True
    seqs = buffer_sequences(starts, batch_size=16)
    ids = np.sort(np.concatenate(seqs))
    np.testing.assert_array_equal(ids, np.arange(16))  # every step in exactly one sequence
    for s in seqs:
        t, e = s // 2, s % 2
        assert np.all(e == e[0]) and np.all(np.diff(t) == 1)  # one env, consecutive steps
        assert not starts[t[1:], e[0]].any()  # an episode start only ever opens a sequence


def _synthetic(n_envs: int, t_len: int, ep_len: int) -> Recording:
    phase = np.zeros((t_len, n_envs), np.int8)
    start = np.zeros((t_len, n_envs), bool)
    done = np.zeros((t_len, n_envs), bool)
    for e in range(n_envs):
        off = (7 * e) % ep_len  # desynchronised envs
        k = (np.arange(t_len) + off) % ep_len
        start[:, e] = k == 0
        start[0, e] = True
        done[:, e] = k == ep_len - 1
        phase[:, e] = np.where(k < 10, PHASE_CODES["show"], np.where(k < 20, PHASE_CODES["hide"],
                                                                     PHASE_CODES["search"]))
    target = np.zeros((t_len, n_envs), np.int16)
    return Recording(start, phase, done, target, -np.ones((t_len, n_envs), np.int16))


def test_gradient_path_whole_rollout_batches_keep_trials_inside_rollouts_whole() -> None:
    rec = _synthetic(4, 1024, 40)
    whole = gradient_path(rec, n_steps=256, n_envs=4, batch_size=1024, n_epochs=2, burn_in=80)
    small = gradient_path(rec, n_steps=64, n_envs=4, batch_size=32, n_epochs=2, burn_in=80)
    # minibatch = whole buffer: only rollout boundaries cut (a 40-step episode straddles one with p ~ 39/256)
    assert 0.75 < whole["hide_and_choice"]["rate"] < 0.95
    assert small["hide_and_choice"]["rate"] < whole["hide_and_choice"]["rate"]
    assert small["seq_len"]["max"] <= 32
    assert json.dumps(whole)  # plain data


def test_privileged_training_run_is_labelled(tmp_path) -> None:
    from agent.runner import RunOptions, run_curriculum
    from curriculum.config import CurriculumConfig, from_dict
    cfg = from_dict(CurriculumConfig, {
        "name": "priv", "width": 32, "height": 32, "checkpoint_every": 10_000,
        "agent": {"recurrent": True, "lstm_hidden_size": 16, "features_dim": 32, "privileged": True,
                  "ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1}},
        "stages": [{"name": "occ", "env_ids": ["Peekaboo/Occluder-v2"], "budget": 64,
                    "env_kwargs": {"n_screens": 2, "screen_distance": 0.9, "screen_spacing": 0.6},
                    "graduation": {"episodes": 2, "eval_every": 64}}]})
    out = run_curriculum(cfg, tmp_path / "run", RunOptions(n_envs=2, subprocess=False, progress=False))
    assert out[0]["privileged"] is True
    rows = [json.loads(x) for x in (tmp_path / "run/stages/00_occ/evals.jsonl").read_text().splitlines()]
    assert rows and all(r["privileged"] for r in rows)
    import yaml

    from tools import heldout
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    model = str(tmp_path / "run/stages/00_occ/model.zip")
    assert heldout.main(["--curriculum", str(tmp_path / "c.yaml"), "--agent", model, "--episodes", "2",
                         "--out", str(tmp_path / "h.json")]) == 0
    assert json.loads((tmp_path / "h.json").read_text())["privileged"] is True


def test_probe_and_gradpath_commands_run_on_a_fresh_learner(tmp_path) -> None:
    import yaml

    from tools import gradpath, probe
    cur = tmp_path / "c.yaml"
    cur.write_text(yaml.safe_dump({
        "name": "tiny", "width": 32, "height": 32,
        "agent": {"recurrent": True, "lstm_hidden_size": 8, "features_dim": 16},
        "stages": [{"name": "occ", "env_ids": ["Peekaboo/Occluder-v2"],
                    "env_kwargs": {**{k: v for k, v in OCC.items() if k not in ("width", "height")},
                                   "show_time": 0.3, "hide_time": 0.3, "search_time": 3.0, "reveal_time": 0.0}}]}))
    out = tmp_path / "probe"
    assert probe.main(["--curriculum", str(cur), "--agent", "fresh", "--steps", "400", "--n-envs", "4",
                       "--offsets", "2", "--out", str(out)]) == 0
    rows = json.loads((out / "probe.json").read_text())
    assert rows[0]["trials"] >= 20 and "lstm_c" in rows[0] and "lstm_c@+2" in rows[0]
    assert gradpath.main(["--recording", str(out / "recording_fresh.npz"), "--settings", "16x4x32",
                          "--burn-in", "20",                          "--out", str(tmp_path / "g.json")]) == 0
    g = json.loads((tmp_path / "g.json").read_text())[0]
    assert g["trials"] > 0 and 0.0 <= g["hide_and_choice"]["rate"] <= 1.0
    assert probe.main(["--curriculum", str(cur), "--agent", "nope.zip", "--out", str(out)]) == 2
