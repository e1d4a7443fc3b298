"""The batched env: same episodes as the single env, vector-env contract, gymnasium's make_vec, no leak."""

from __future__ import annotations

import numpy as np
import pytest

import env
from env.batched import BatchedInfantEnv, make_batched

SIZE = 32
TILE_TOLERANCE = 0.01  # fraction of pixels allowed to differ when tiled (llvmpipe sub-pixel snapping)


def _singles(n: int, seed: int, **kwargs):
    envs = [env.make("Peekaboo/FindToy-v1", width=SIZE, height=SIZE, **kwargs).unwrapped for _ in range(n)]
    return envs, [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]


def _frac_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a.astype(np.int16) - b).max(-1) > 0).mean())


@pytest.mark.parametrize("tiled", [True, False])
def test_batched_matches_single_env(tiled: bool) -> None:
    n, seed = 3, 7
    v = make_batched(n, width=SIZE, height=SIZE, tiled=tiled, max_steps=15)
    singles, single_obs = _singles(n, seed, max_steps=15)
    obs, _ = v.reset(seed=seed)
    rng = np.random.default_rng(0)
    try:
        for _ in range(25):  # crosses an episode end: autoreset vs a manual reset
            for i in range(n):
                if tiled:
                    assert _frac_diff(obs[i], single_obs[i]) <= TILE_TOLERANCE
                else:
                    np.testing.assert_array_equal(obs[i], single_obs[i])
            actions = rng.integers(6, size=n)
            obs, rewards, terms, truncs, infos = v.step(actions)
            for i, e in enumerate(singles):
                if getattr(e, "_ended", False):
                    single_obs[i], _ = e.reset()
                    e._ended = False
                    assert rewards[i] == 0.0 and not terms[i] and not truncs[i]
                    continue
                o, r, te, tr, info = e.step(int(actions[i]))
                single_obs[i] = o
                e._ended = te or tr
                assert rewards[i] == pytest.approx(r)
                assert (terms[i], truncs[i]) == (te, tr)
                assert infos["infant_pose"][i] == info["infant_pose"]
    finally:
        v.close()
        for e in singles:
            e.close()


@pytest.mark.parametrize(("env_id", "max_steps"), [("Peekaboo/FindToy-v1", 20), ("Peekaboo/Occluder-v2", None)])
def test_default_batched_env_is_byte_identical_to_single_envs(env_id: str, max_steps: int | None) -> None:
    """Training steps the batched env and evaluation the single env: by default (untiled) they must see the same
    bytes, through both steps (gymnasium's next-step autoreset and the learner's same-step reset)."""
    n, seed, steps = 3, 11, 100
    opts: dict = {"width": SIZE, "height": SIZE}
    if max_steps is not None:  # else the task's own (occluder: 92 steps)
        opts["max_steps"] = max_steps
    v = make_batched(n, env_id, **opts)
    singles = [env.make(env_id, **opts).unwrapped for _ in range(n)]
    rng = np.random.default_rng(1)
    try:
        obs, _ = v.reset(seed=seed)
        for i, e in enumerate(singles):
            np.testing.assert_array_equal(obs[i], e.reset(seed=seed + i)[0])
        ended = [False] * n
        for _ in range(steps):  # next-step autoreset: a finished world's next step is its reset
            actions = rng.integers(6, size=n)
            obs, rewards, terms, truncs, infos = v.step(actions)
            for i, e in enumerate(singles):
                if ended[i]:
                    o, r, te, tr = e.reset()[0], 0.0, False, False
                else:
                    o, r, te, tr, _ = e.step(int(actions[i]))
                ended[i] = te or tr
                np.testing.assert_array_equal(obs[i], o)
                assert (rewards[i], terms[i], truncs[i]) == (r, te, tr)
        obs, _ = v.reset(seed=seed + n)  # then the learner's same-step reset, from fresh episodes
        for i, e in enumerate(singles):
            np.testing.assert_array_equal(obs[i], e.reset(seed=seed + n + i)[0])
        n_ends = 0
        for _ in range(steps):
            actions = rng.integers(6, size=n)
            obs, rewards, terms, truncs, infos = v.step_same_reset(actions)
            for i, e in enumerate(singles):
                o, r, te, tr, _ = e.step(int(actions[i]))
                assert (rewards[i], terms[i], truncs[i]) == (r, te, tr)
                if te or tr:
                    n_ends += 1
                    np.testing.assert_array_equal(infos[i]["final_observation"], o)
                    o = e.reset()[0]
                np.testing.assert_array_equal(obs[i], o)
        assert n_ends >= n, f"every world's episode should end at least once in {steps} steps; {n_ends} ended"
    finally:
        v.close()
        for e in singles:
            e.close()


def test_vector_env_contract() -> None:
    v = make_batched(2, width=SIZE, height=SIZE, max_steps=3)
    try:
        obs, infos = v.reset(seed=0)
        assert obs in v.observation_space and obs.shape == (2, SIZE, SIZE, 3) and obs.dtype == np.uint8
        assert v.single_observation_space.shape == (SIZE, SIZE, 3) and v.num_envs == 2
        assert set(infos) >= {"is_success", "_is_success"}
        seen_trunc = False
        for _ in range(5):
            obs, rew, term, trunc, infos = v.step(v.action_space.sample())
            assert obs in v.observation_space
            assert rew.shape == (2,) and term.dtype == bool and trunc.dtype == bool
            seen_trunc |= bool(trunc.any())
        assert seen_trunc, "max_steps=3 must truncate within 5 steps"
        again, _ = v.reset(seed=0)
        first, _ = make_batched(2, width=SIZE, height=SIZE).reset(seed=0)
        np.testing.assert_array_equal(again, first)  # same seed, same frames
        with pytest.raises(ValueError, match="one per env"):
            v.reset(seed=[1, 2, 3])
    finally:
        v.close()


@pytest.mark.parametrize("tiled", [False, True])
def test_batched_depth_matches_single(tiled: bool) -> None:
    v = BatchedInfantEnv(2, width=SIZE, height=SIZE, observations=("rgb", "depth"), tiled=tiled)
    singles, single_obs = _singles(2, 3, observations=("rgb", "depth"))
    try:
        obs, _ = v.reset(seed=3)
        for i in range(2):
            if tiled:
                close = np.isclose(obs["depth"][i], single_obs[i]["depth"], rtol=1e-4)
                assert close.mean() >= 1 - TILE_TOLERANCE
            else:
                np.testing.assert_array_equal(obs["depth"][i], single_obs[i]["depth"])
                np.testing.assert_array_equal(obs["rgb"][i], single_obs[i]["rgb"])
    finally:
        v.close()
        for e in singles:
            e.close()


@pytest.mark.slow
def test_no_leak_over_10k_batched_steps() -> None:
    from tools.bench_batched import batched_memory_check

    m = batched_memory_check(10_000, n_envs=4, size=SIZE)
    assert m["growth_mb"] < 30, m


def test_make_vec_gives_the_batched_env() -> None:
    """Every id's vector entry point is the batched env (env/ is plain gymnasium; the SB3 side is agent's)."""
    import gymnasium as gym

    v = gym.make_vec("Peekaboo/FindToy-v1", num_envs=2, vectorization_mode="vector_entry_point", width=SIZE,
                     height=SIZE, max_steps=3)
    try:
        assert isinstance(v, BatchedInfantEnv) and v.num_envs == 2
        obs, _ = v.reset(seed=3)
        assert obs.shape == (2, SIZE, SIZE, 3)
        legacy = gym.make_vec("Peekaboo/FindToy-v0", num_envs=1, vectorization_mode="vector_entry_point",
                              width=SIZE, height=SIZE)
        assert legacy.envs[0].config.quality.tessellation == "fine"
        legacy.close()
    finally:
        v.close()


def test_a_mixed_batch_steps_worlds_of_different_tasks() -> None:
    from env.batched import make_batched_mixed
    opts = {"width": SIZE, "height": SIZE}
    v = make_batched_mixed([("Peekaboo/Occluder-v2", {**opts, "n_screens": 3}), ("Peekaboo/Cups-v2", opts),
                            ("Peekaboo/FindToy-v1", opts)])
    try:
        obs, _ = v.reset(seed=3)
        assert obs.shape == (3, SIZE, SIZE, 3)
        assert [e.task.name for e in v.envs] == ["occluder", "cups", "find_toy"]
        single = env.make("Peekaboo/Cups-v2", **opts)
        s_obs, _ = single.reset(seed=4)
        np.testing.assert_array_equal(obs[1], s_obs)  # world 1 is the cups env reset with seed 3 + 1
        obs, *_ = v.step(np.zeros(3, int))
        assert obs.shape == (3, SIZE, SIZE, 3)
    finally:
        v.close()
