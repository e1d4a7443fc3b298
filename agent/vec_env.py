"""A stable-baselines3 ``VecEnv`` over a :class:`env.batched.BatchedInfantEnv`, one or several processes of them,
and rollouts run inside those processes by an actor the learner sends (``SubprocBatchedVecEnv.rollout``; the
protocol is in :mod:`agent.rollout_protocol`, the learners in :mod:`agent.rollout`).

The learner's side of the batched env: ``env/`` stays plain gymnasium (``gymnasium.make_vec(id, num_envs=N,
vectorization_mode="vector_entry_point")`` gives the :class:`~env.batched.BatchedInfantEnv` itself)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from agent.rollout_protocol import Rollout, RolloutActor
from env.batched import BatchedInfantEnv, make_batched, make_batched_mixed


class SB3BatchedVecEnv(VecEnv):
    """SB3 view of a batch (a :class:`BatchedInfantEnv`, or an :class:`env.warp_vector.WarpVectorEnv` with the
    same ``reset``/``step_same_reset``/``envs``): same-step reset, ``terminal_observation`` and ``TimeLimit.truncated`` in infos, and
    at an episode's end ``info["episode"] = {"r", "l", "t", "is_success"}`` as SB3's ``Monitor`` would add (so
    ``ep_info_buffer`` and the training curves work without wrapping each world)."""

    def __init__(self, batched: BatchedInfantEnv) -> None:
        self.batched = batched
        super().__init__(batched.num_envs, batched.single_observation_space, batched.single_action_space)
        self._actions: np.ndarray | None = None
        self._last_obs: np.ndarray | None = None
        self._last_dones = np.ones(self.num_envs, bool)  # episode starts, as SB3 learners track them
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, np.int64)
        self._t0 = time.time()

    def reset(self):
        seeds = [s if s is None else int(s) for s in self._seeds]
        obs, _ = self.batched.reset(seed=None if all(s is None for s in seeds) else seeds,
                                    options=self._options[0] or None)
        self._reset_seeds()
        self._reset_options()
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._last_obs = obs
        self._last_dones = np.ones(self.num_envs, bool)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        assert self._actions is not None, "call step_async() first"
        obs, rewards, terms, truncs, infos = self.batched.step_same_reset(self._actions)
        self._returns += rewards
        self._lengths += 1
        for i, info in enumerate(infos):
            info["TimeLimit.truncated"] = bool(truncs[i] and not terms[i])
            if "final_observation" in info:
                info["terminal_observation"] = info.pop("final_observation")
                info["episode"] = {"r": round(float(self._returns[i]), 6), "l": int(self._lengths[i]),
                                   "t": round(time.time() - self._t0, 6),
                                   "is_success": bool(info.get("final_info", {}).get("is_success", False))}
                self._returns[i], self._lengths[i] = 0.0, 0
        self._actions = None
        self._last_obs, self._last_dones = obs, terms | truncs
        return obs, rewards.astype(np.float32), terms | truncs, infos

    def rollout(self, actor: RolloutActor, n_steps: int, chunk: int) -> Iterator[Rollout]:
        """``n_steps`` steps from the current observations, each choosing its actions with ``actor`` here, in
        this process (no round trip per step), handed out ``chunk`` steps at a time. ``obs[t]`` is what
        ``actions[t]`` was chosen from."""
        assert self._last_obs is not None, "reset() before rollout()"
        for start in range(0, n_steps, chunk):
            obs, actions, rewards, dones, infos = [], [], [], [], []
            extras: dict[str, list[np.ndarray]] = {}
            for _ in range(min(chunk, n_steps - start)):
                obs.append(self._last_obs)
                a, extra = actor(self._last_obs, self._last_dones)
                self.step_async(a)
                _, r, d, info = self.step_wait()
                actions.append(a)
                rewards.append(r)
                dones.append(d)
                infos.append(info)
                for k, v in extra.items():
                    extras.setdefault(k, []).append(v)
            yield Rollout(np.stack(obs), np.stack(actions), np.stack(rewards), np.stack(dones), infos,
                          {k: np.stack(v) for k, v in extras.items()}, self._last_obs)

    def close(self) -> None:
        self.batched.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.batched.envs[i], attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        for i in self._get_indices(indices):
            setattr(self.batched.envs[i], attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        return [getattr(self.batched.envs[i], method_name)(*method_args, **method_kwargs)
                for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


class EnvWorkerError(RuntimeError):
    """An env worker process failed (its error, in one line) or died."""


@dataclass
class _Failure:
    """What a worker sends instead of an answer when its env raised."""

    error: str


def _worker(remote, parent_remote, n_envs: int, env_id: str | list[tuple[str, dict[str, Any]]],
            kwargs: dict[str, Any]) -> None:
    import signal

    # Ctrl-C reaches the whole process group: the parent checkpoints and closes us, so do not die mid-message
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_remote.close()
    try:
        batch = make_batched(n_envs, env_id, **kwargs) if isinstance(env_id, str) else make_batched_mixed(env_id)
        vec = SB3BatchedVecEnv(batch)
    except Exception as e:  # noqa: BLE001 - the learner reports it as one line
        with contextlib.suppress(OSError):  # the learner may have gone already (another worker failed first)
            remote.send(_Failure(f"{type(e).__name__}: {e}"))
        remote.close()
        return
    try:
        while True:
            cmd, arg = remote.recv()
            try:
                if cmd == "step":
                    vec.step_async(arg)
                    remote.send(vec.step_wait())
                elif cmd == "rollout":
                    for part in vec.rollout(*arg):  # the learner digests each part while the next one runs
                        remote.send(part)
                elif cmd == "reset":
                    seeds, options = arg
                    vec._seeds, vec._options = seeds, options
                    remote.send(vec.reset())
                elif cmd == "call":
                    name, args, kw = arg
                    remote.send(getattr(vec, name)(*args, **kw))
                elif cmd == "close":
                    break
            except (EOFError, ConnectionError):
                raise
            except Exception as e:  # noqa: BLE001 - the env failed: the learner raises it as one line
                with contextlib.suppress(OSError):
                    remote.send(_Failure(f"{type(e).__name__}: {e}"))
                break
    except (EOFError, ConnectionError, KeyboardInterrupt):
        pass  # the learner went away (killed, or closed us mid-rollout)
    finally:
        vec.close()
        remote.close()


class SubprocBatchedVecEnv(VecEnv):
    """``procs`` processes, each a :class:`SB3BatchedVecEnv` of ``n_envs_per_proc`` worlds, as one VecEnv.

    Uses both cores of a small machine while keeping each process's worlds in one batch. Env ``k`` of process
    ``p`` is env ``p * n_envs_per_proc + k``; seeds are per env, as in the single-process adapter.
    """

    def __init__(self, n_envs_per_proc: int, procs: int = 2, env_id: str = "Peekaboo/FindToy-v1",
                 specs: list[tuple[str, dict[str, Any]]] | None = None, **kwargs: Any) -> None:
        """``specs``: instead of ``env_id`` and ``kwargs``, env ``i``'s id and options (``n_envs_per_proc * procs``
        of them: a stage mixed with rehearsal worlds)."""
        import multiprocessing as mp

        if specs is not None and len(specs) != n_envs_per_proc * procs:
            raise ValueError(f"{len(specs)} env specs for {procs} processes x {n_envs_per_proc} worlds")
        ctx = mp.get_context("forkserver")  # EGL contexts are not fork-safe
        self._n = n_envs_per_proc
        self.procs = procs
        self.remotes, self.processes = [], []
        for i in range(procs):
            what = env_id if specs is None else specs[i * n_envs_per_proc:(i + 1) * n_envs_per_proc]
            remote, work_remote = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(work_remote, remote, n_envs_per_proc, what, kwargs), daemon=True)
            p.start()
            work_remote.close()
            self.remotes.append(remote)
            self.processes.append(p)
        self.remotes[0].send(("call", ("__getattribute__", ("observation_space",), {})))
        obs_space = self._recv(self.remotes[0])
        self.remotes[0].send(("call", ("__getattribute__", ("action_space",), {})))
        act_space = self._recv(self.remotes[0])
        super().__init__(n_envs_per_proc * procs, obs_space, act_space)
        self._closed = False
        self._rollout_in_flight = False

    @staticmethod
    def _recv(remote) -> Any:
        """A worker's answer; a dead worker becomes an error that says where to look."""
        try:
            answer = remote.recv()
        except (EOFError, ConnectionResetError):
            raise EnvWorkerError("a batched env worker process died (its traceback is printed above this one). If "
                                 "it is an import error in the main script, guard it with `if __name__ == "
                                 "'__main__':` (workers start with forkserver)") from None
        if isinstance(answer, _Failure):
            raise EnvWorkerError(f"an env worker failed: {answer.error}")
        return answer

    def rollout(self, actors: list[RolloutActor], n_steps: int, chunk: int = 16) -> Iterator[Rollout]:
        """``n_steps`` steps run inside the processes, process ``p`` choosing its actions with ``actors[p]``;
        yields them ``chunk`` steps at a time, processes side by side (env ``p * n_envs_per_proc + k`` is column
        ``p * n_envs_per_proc + k``), as they arrive. Consume it to the end: the processes run every step."""
        for r, actor in zip(self.remotes, actors):
            r.send(("rollout", (actor, n_steps, chunk)))
        self._rollout_in_flight = True  # until the last part is read (close() must not wait on a busy process)
        for i in range(0, n_steps, chunk):
            parts = [self._recv(r) for r in self.remotes]
            self._rollout_in_flight = i + chunk < n_steps
            yield Rollout(*(np.concatenate([getattr(p, f) for p in parts], axis=1)
                            for f in ("obs", "actions", "rewards", "dones")),
                          [[info for p in parts for info in p.infos[t]] for t in range(len(parts[0].infos))],
                          {k: np.concatenate([p.extras[k] for p in parts], axis=1) for k in parts[0].extras},
                          np.concatenate([p.last_obs for p in parts]))

    def _split(self, items: list) -> list[list]:
        return [items[i * self._n:(i + 1) * self._n] for i in range(len(self.remotes))]

    def reset(self):
        for r, seeds, options in zip(self.remotes, self._split(self._seeds), self._split(self._options)):
            r.send(("reset", (seeds, options)))
        obs = np.concatenate([self._recv(r) for r in self.remotes])
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        for r, a in zip(self.remotes, self._split(list(actions))):
            r.send(("step", np.asarray(a)))

    def step_wait(self):
        results = [self._recv(r) for r in self.remotes]
        obs, rews, dones, infos = zip(*results)
        return (np.concatenate(obs), np.concatenate(rews), np.concatenate(dones),
                [i for chunk in infos for i in chunk])

    def _per_proc(self, name: str, indices, *args) -> list[Any]:
        out: list[Any] = []
        for p, r in enumerate(self.remotes):
            local = [i - p * self._n for i in self._get_indices(indices) if p * self._n <= i < (p + 1) * self._n]
            if local:
                r.send(("call", (name, (*args,), {"indices": local})))
                out.extend(self._recv(r) or [])
        return out

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return self._per_proc("get_attr", indices, attr_name)

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        self._per_proc("set_attr", indices, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        if method_kwargs:
            raise NotImplementedError("keyword arguments to env_method are not forwarded; pass them positionally")
        return self._per_proc("env_method", indices, method_name, *method_args)

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def close(self) -> None:
        if self._closed:
            return
        if self._rollout_in_flight:  # interrupted mid-rollout (Ctrl-C, an error): the processes are busy sending
            for p in self.processes:
                p.terminate()
        else:
            for r in self.remotes:
                r.send(("close", None))
        for p in self.processes:
            p.join(timeout=10)
        self._closed = True


def sb3_vec_env(num_envs: int, env_id: str = "Peekaboo/FindToy-v1", **kwargs: Any) -> SB3BatchedVecEnv:
    """A stable-baselines3 ``VecEnv`` over a :class:`~env.batched.BatchedInfantEnv` in this process."""
    return SB3BatchedVecEnv(make_batched(num_envs, env_id, **kwargs))
