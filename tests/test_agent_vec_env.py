"""agent.vec_env: the SB3 VecEnv over the batched env, in one process and in several (moved from env.sb3_vec)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.vec_env import EnvWorkerError, SubprocBatchedVecEnv, sb3_vec_env

SIZE = 32


def test_sb3_adapter_same_step_reset() -> None:
    venv = sb3_vec_env(2, width=SIZE, height=SIZE, max_steps=2)
    try:
        venv.seed(5)
        obs = venv.reset()
        assert obs.shape == (2, SIZE, SIZE, 3)
        _, first, _, infos = venv.step(np.array([1, 2]))
        assert all("episode" not in info for info in infos)
        obs, rewards, dones, infos = venv.step(np.array([0, 0]))
        assert dones.all() and rewards.dtype == np.float32
        for i, info in enumerate(infos):
            assert info["terminal_observation"].shape == (SIZE, SIZE, 3)
            assert info["TimeLimit.truncated"] is True
            # Monitor-style episode stats, as SB3's ep_info_buffer and the training curves read them.
            ep = info["episode"]
            assert ep["l"] == 2 and ep["r"] == pytest.approx(first[i] + rewards[i], abs=1e-5)
            assert ep["is_success"] is info["is_success"]
        assert venv.get_attr("age_months") == [venv.batched.envs[0].age_months] * 2
    finally:
        venv.close()


def test_subproc_batched_vec_env_matches_one_process() -> None:
    multi = SubprocBatchedVecEnv(1, procs=2, width=SIZE, height=SIZE, max_steps=3)
    single = sb3_vec_env(2, width=SIZE, height=SIZE, max_steps=3)
    try:
        multi.seed(4)
        single.seed(4)
        np.testing.assert_array_equal(multi.reset(), single.reset())
        for t in range(4):
            a = np.array([t % 6, (t + 1) % 6])
            mo, mr, md, _ = multi.step(a)
            so, sr, sd, _ = single.step(a)
            np.testing.assert_array_equal(mr, sr)
            np.testing.assert_array_equal(md, sd)
            np.testing.assert_array_equal(mo, so)
        assert multi.get_attr("age_months", [1]) == single.get_attr("age_months", [1])
    finally:
        multi.close()
        single.close()


class _FailingActor:
    """A rollout actor (picklable: it travels to the worker) that acts, then raises at its ``fail_at``-th call."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.calls = fail_at, 0

    def __call__(self, obs: np.ndarray, episode_starts: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("actor broke")
        return np.zeros(len(obs), np.int64), {"calls": np.full(len(obs), self.calls)}


def test_rollout_parts_arrive_in_order_and_then_the_workers_error() -> None:
    """In-worker rollouts: every part made before a failure reaches the learner, in order, before the failure
    does (as one line naming the error); the same rollout in one process gives the same steps."""
    multi = SubprocBatchedVecEnv(1, procs=2, width=SIZE, height=SIZE)
    single = sb3_vec_env(2, width=SIZE, height=SIZE)
    try:
        multi.seed(3)
        single.seed(3)
        multi.reset()
        single.reset()
        whole = list(multi.rollout([_FailingActor(99), _FailingActor(99)], n_steps=6, chunk=2))
        alone = list(single.rollout(_FailingActor(99), n_steps=6, chunk=2))
        assert [p.extras["calls"][:, 0].tolist() for p in whole] == [[1, 2], [3, 4], [5, 6]]
        for a, b in zip(whole, alone):
            np.testing.assert_array_equal(a.obs, b.obs)
            np.testing.assert_array_equal(a.rewards, b.rewards)
            np.testing.assert_array_equal(a.last_obs, b.last_obs)
        got = []
        with pytest.raises(EnvWorkerError, match="actor broke"):
            for part in multi.rollout([_FailingActor(5), _FailingActor(99)], n_steps=6, chunk=2):
                got.append(part.extras["calls"][:, 0].tolist())
        assert got == [[1, 2], [3, 4]]  # both parts made before the third call's failure
    finally:
        multi.close()
        single.close()
