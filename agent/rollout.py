"""PPO and RecurrentPPO whose rollouts run inside the env processes, each with a copy of the policy.

SB3 alternates policy and envs: every step the env processes wait for the policy's actions, then the policy
waits for their observations, so on a small machine the cores idle in turn. When the vectorized env can run a
whole rollout in its processes (:meth:`agent.vec_env.SubprocBatchedVecEnv.rollout`), each process gets a frozen
copy of the policy for the rollout (the weights do not change within one), chooses its own envs' actions, and
sends the steps back in parts, which the learner files while the next part runs. The data are SB3's: the same
policy for every transition, the same buffer layout, the same time-limit bootstrap; only the random draws
differ (each process samples from its own seeded generator).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv, VecTransposeImage

from agent.memory import Lapses
from agent.recurrent import InfantLstmPolicy, PackedRecurrentRolloutBuffer
from agent.rollout_protocol import Rollout
from agent.stepper import PolicyStep, PolicyStepper
from agent.vec_env import SubprocBatchedVecEnv


class PolicyActor:
    """A picklable copy of a policy that picks actions in an env process (see
    :class:`agent.rollout_protocol.RolloutActor`), stepped by an :class:`agent.stepper.PolicyStepper`.

    :param policy: the learner's policy (an SB3 categorical ``ActorCriticPolicy``); copied by its constructor
        arguments and weights, so the learner can train while the copy acts.
    :param seed: seed of the copy's action draws.
    :param channels_first: transpose ``(n, H, W, C)`` observations to ``(n, C, H, W)`` (SB3's
        ``VecTransposeImage``), so the policy sees what it sees in training.
    :param greedy: take the most likely action instead of sampling (for tests that compare rollouts).
    """

    def __init__(self, policy: ActorCriticPolicy, seed: int, channels_first: bool, greedy: bool = False) -> None:
        self.state = {"cls": type(policy), "data": policy._get_constructor_parameters(),
                      "weights": {k: v.detach().cpu().numpy().copy() for k, v in policy.state_dict().items()}}
        self.seed, self.channels_first, self.greedy = seed, channels_first, greedy
        self._stepper: PolicyStepper | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_stepper"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _stepper=None)

    def _build(self) -> PolicyStepper:
        th.set_num_threads(1)  # one process per core: the env and its copy of the policy share it
        policy = self.state["cls"](**self.state["data"])
        policy.load_state_dict({k: th.from_numpy(v) for k, v in self.state["weights"].items()})
        return PolicyStepper(policy, self.greedy, self.seed)

    def _step(self, obs: np.ndarray, episode_starts: np.ndarray) -> PolicyStep:
        if self._stepper is None:
            self._stepper = self._build()
        return self._stepper(th.as_tensor(obs.transpose(0, 3, 1, 2) if self.channels_first else obs), episode_starts)

    def __call__(self, obs: np.ndarray, episode_starts: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        step = self._step(obs, episode_starts)
        return step.actions, {"values": step.values.numpy().reshape(-1), "log_probs": step.log_probs.numpy()}


class RecurrentPolicyActor(PolicyActor):
    """:class:`PolicyActor` of a recurrent policy: carries its envs' LSTM states from step to step (reset where
    an episode starts, as in training) and returns the states after each step, env first (``(n, layers, h)``).

    :param lstm_states: the learner's states for these envs at the rollout's start (``RNNStates`` sliced to them).
    :param lapse: chance per env and step that the memory lapses (:mod:`agent.memory`); each step's lapses go back
        with it (``extras["lapse"]``), so the learner's sequences restart where these states did.
    """

    def __init__(self, policy: ActorCriticPolicy, seed: int, channels_first: bool, lstm_states: RNNStates,
                 greedy: bool = False, lapse: float = 0.0) -> None:
        super().__init__(policy, seed, channels_first, greedy)
        self.lstm_states = tuple(tuple(t.detach().cpu().numpy().copy() for t in pair) for pair in lstm_states)
        self.lapse = lapse

    def _build(self) -> PolicyStepper:
        stepper = super()._build()
        stepper.lstm_states = RNNStates(*(tuple(th.from_numpy(a) for a in pair) for pair in self.lstm_states))
        stepper.lapses = Lapses(self.lapse, self.seed + LAPSE_SEED_OFFSET)  # not the action draws' stream
        return stepper

    def __call__(self, obs: np.ndarray, episode_starts: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        actions, extras = super().__call__(obs, episode_starts)
        assert self._stepper is not None and self._stepper.lstm_states is not None
        for name, pair in zip(("pi", "vf"), self._stepper.lstm_states):
            for part, t in zip(("h", "c"), pair):
                extras[f"{name}_{part}"] = t.numpy().transpose(1, 0, 2).copy()
        if self.lapse:
            extras["lapse"] = self._stepper.last_lapses.copy()
        return actions, extras


class _InWorkerRollouts:
    """The rollout loop shared by the PPO and RecurrentPPO learners below: the processes of a
    :class:`~agent.vec_env.SubprocBatchedVecEnv` run the rollout with copies of the policy and send it in parts of
    ``rollout_chunk`` steps; callbacks see every step, in order, with SB3's locals, as its part arrives (the
    policy is the same throughout a rollout, so the checkpoints and evaluations they make are those SB3 would
    make). A callback that stops training drops the steps after it (the envs have taken them)."""

    greedy_rollouts: bool = False
    """Workers take the most likely action (tests compare rollouts with SB3's); never set for training."""
    rollout_chunk: int = 16
    """Steps per message from the env processes: the learner files one part while they run the next."""

    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer,
                         n_rollout_steps: int) -> bool:
        target = self._rollout_env(env)
        if target is None and getattr(self, "memory_lapse", 0.0):
            raise RuntimeError("agent.memory_half_life_s needs rollouts in the env processes: a batched subprocess "
                               "env (mujoco backend, an even n_envs >= 2, not privileged)")
        if target is None:  # the learner's own loop (the next class in the MRO: PPO or RecurrentPPO)
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]
        return self._in_worker_rollout(env, target, callback, rollout_buffer, n_rollout_steps)

    def _rollout_env(self, env: VecEnv) -> tuple[SubprocBatchedVecEnv, bool] | None:
        """The batched process env under ``env`` and whether images are transposed, or None: use SB3's loop."""
        transpose = isinstance(env, VecTransposeImage)
        venv = env.venv if transpose else env
        usable = (isinstance(venv, SubprocBatchedVecEnv) and isinstance(self.action_space, spaces.Discrete)
                  and isinstance(self.observation_space, spaces.Box) and not self.use_sde
                  and "forward" not in vars(self.policy) and self._plain_policy())
        return (venv, transpose) if usable else None

    def _plain_policy(self) -> bool:
        raise NotImplementedError

    def _actors(self, venv: SubprocBatchedVecEnv, transpose: bool) -> list[PolicyActor]:
        raise NotImplementedError

    def _file_step(self, rollout_buffer: RolloutBuffer, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                   dones: np.ndarray, infos: list[dict[str, Any]], extras: dict[str, np.ndarray]) -> None:
        """Bootstrap time-limit ends and add one step to the buffer."""
        raise NotImplementedError

    def _resync_after_stop(self, ro: Rollout) -> None:
        """After a callback stopped the rollout: learner state that must match where the envs are, past the last
        filed step (e.g. LSTM states after the rollout's last step)."""

    def _last_values(self, obs: np.ndarray, dones: np.ndarray) -> th.Tensor:
        raise NotImplementedError

    def _in_worker_rollout(self, env: VecEnv, target: tuple[SubprocBatchedVecEnv, bool], callback: BaseCallback,
                           rollout_buffer: RolloutBuffer, n_rollout_steps: int) -> bool:
        venv, transpose = target
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()
        stopped = False
        for ro in venv.rollout(self._actors(venv, transpose), n_rollout_steps, self.rollout_chunk):
            if stopped:
                continue  # the processes run the whole rollout: take the rest off the pipes
            obs_seq = _chw(ro.obs, transpose, axis=2)
            for t in range(len(ro.actions)):
                new_obs = obs_seq[t + 1] if t + 1 < len(ro.actions) else _chw(ro.last_obs, transpose)
                actions, rewards, dones, infos = ro.actions[t], ro.rewards[t].copy(), ro.dones[t], ro.infos[t]
                if transpose:
                    for info in infos:
                        if "terminal_observation" in info:
                            info["terminal_observation"] = _chw(info["terminal_observation"], True, axis=0)
                self.num_timesteps += env.num_envs
                callback.update_locals(locals())
                if not callback.on_step():
                    stopped = True
                    break
                self._update_info_buffer(infos, dones)
                self._file_step(rollout_buffer, obs_seq[t], actions, rewards, dones, infos,
                                {k: v[t] for k, v in ro.extras.items()})
                self._last_obs, self._last_episode_starts = new_obs, dones  # type: ignore[assignment]
        if stopped:
            self._last_obs = _chw(ro.last_obs, transpose)  # where the envs are: after the whole rollout
            self._last_episode_starts = ro.dones[-1]
            self._resync_after_stop(ro)
            return False
        rollout_buffer.compute_returns_and_advantage(last_values=self._last_values(new_obs, dones), dones=dones)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def _seeds(self, n: int) -> list[int]:
        """One action-draw seed per process and rollout, from the learner's seed and step count."""
        return [int(s) for s in np.random.SeedSequence([self.seed or 0, self.num_timesteps]).generate_state(n)]


def _chw(obs: np.ndarray, transpose: bool, axis: int = 1) -> np.ndarray:
    """Images from the env's (…, H, W, C) to the policy's (…, C, H, W) when SB3 transposes them."""
    return np.moveaxis(obs, -1, axis) if transpose else obs


class WorkerRolloutPPO(_InWorkerRollouts, PPO):
    """SB3 PPO whose rollouts run in the env processes when the env can (else SB3's ``collect_rollouts``).

    In-process rollouts need: a :class:`~agent.vec_env.SubprocBatchedVecEnv` (or one under SB3's
    ``VecTransposeImage``); image observations; a discrete action space; a plain ``ActorCriticPolicy``; no gSDE.
    """

    def _plain_policy(self) -> bool:
        return type(self.policy).forward is ActorCriticPolicy.forward

    def _actors(self, venv: SubprocBatchedVecEnv, transpose: bool) -> list[PolicyActor]:
        return [PolicyActor(self.policy, s, transpose, self.greedy_rollouts) for s in self._seeds(venv.procs)]

    def _file_step(self, rollout_buffer: RolloutBuffer, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                   dones: np.ndarray, infos: list[dict[str, Any]], extras: dict[str, np.ndarray]) -> None:
        for idx in _timeouts(dones, infos):  # SB3's rule (its issue 633): add γ·V(terminal observation)
            terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
            with th.no_grad():
                rewards[idx] += self.gamma * self.policy.predict_values(terminal_obs)[0]  # type: ignore[arg-type]
        rollout_buffer.add(obs, actions.reshape(-1, 1), rewards, self._last_episode_starts,  # type: ignore[arg-type]
                           th.as_tensor(extras["values"]), th.as_tensor(extras["log_probs"]))

    def _last_values(self, obs: np.ndarray, dones: np.ndarray) -> th.Tensor:
        with th.no_grad():
            return self.policy.predict_values(th.as_tensor(obs, device=self.device))


class WorkerRolloutRecurrentPPO(_InWorkerRollouts, RecurrentPPO):
    """sb3-contrib RecurrentPPO whose rollouts run in the env processes, under the same conditions as
    :class:`WorkerRolloutPPO` (the policy an :class:`~agent.recurrent.InfantLstmPolicy`); each process's copy
    carries its envs' LSTM states and sends them back, so the buffer holds the states SB3's loop would store.
    Its buffer is a :class:`~agent.recurrent.PackedRecurrentRolloutBuffer` (the encoder skips the padding)."""

    memory_lapse: float = 0.0
    """Chance per env and step that the rollout's memory lapses (:mod:`agent.memory`; set by the episode learner,
    whose buffer restarts its sequences there); 0 = a perfect memory."""

    def _setup_model(self) -> None:
        super()._setup_model()
        old = self.rollout_buffer
        # not the dict-observation buffer of privileged runs; PaddedSteps need InfantLstmPolicy.extract_features
        if type(old) is RecurrentRolloutBuffer and isinstance(self.policy, InfantLstmPolicy):
            self.rollout_buffer = PackedRecurrentRolloutBuffer(
                self.n_steps, self.observation_space, self.action_space, old.hidden_state_shape, self.device,
                gamma=self.gamma, gae_lambda=self.gae_lambda, n_envs=self.n_envs)

    def _plain_policy(self) -> bool:
        return (isinstance(self.policy, InfantLstmPolicy)
                and type(self.policy).forward is RecurrentActorCriticPolicy.forward)

    def _actors(self, venv: SubprocBatchedVecEnv, transpose: bool) -> list[PolicyActor]:
        n = venv.num_envs // venv.procs
        return [RecurrentPolicyActor(self.policy, s, transpose, _slice_states(self._last_lstm_states, p * n, n),
                                     self.greedy_rollouts, self.memory_lapse)
                for p, s in enumerate(self._seeds(venv.procs))]

    def _file_step(self, rollout_buffer: RolloutBuffer, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                   dones: np.ndarray, infos: list[dict[str, Any]], extras: dict[str, np.ndarray]) -> None:
        after = _states_from(extras, self.device)
        for idx in _timeouts(dones, infos):  # bootstrap with the critic's state after the step, as sb3-contrib
            terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
            state = (after.vf[0][:, idx:idx + 1, :].contiguous(), after.vf[1][:, idx:idx + 1, :].contiguous())
            with th.no_grad():
                rewards[idx] += self.gamma * self.policy.predict_values(
                    terminal_obs, state, th.zeros(1, device=self.device))[0]
        rollout_buffer.add(obs, actions.reshape(-1, 1), rewards, self._last_episode_starts,  # type: ignore[arg-type]
                           th.as_tensor(extras["values"]), th.as_tensor(extras["log_probs"]),
                           lstm_states=self._last_lstm_states)
        self._last_lstm_states = after

    def _resync_after_stop(self, ro: Rollout) -> None:
        self._last_lstm_states = _states_from({k: v[-1] for k, v in ro.extras.items()}, self.device)

    def _last_values(self, obs: np.ndarray, dones: np.ndarray) -> th.Tensor:
        with th.no_grad():
            return self.policy.predict_values(th.as_tensor(obs, device=self.device), self._last_lstm_states.vf,
                                              th.as_tensor(dones, dtype=th.float32, device=self.device))


LAPSE_SEED_OFFSET = 7919
"""Added to an actor's action-draw seed to seed its lapse draws (a separate stream)."""


def _timeouts(dones: np.ndarray, infos: list[dict[str, Any]]) -> list[int]:
    """Envs whose episode was cut by a time limit at this step (their value is bootstrapped)."""
    return [i for i, done in enumerate(dones) if done and infos[i].get("terminal_observation") is not None
            and infos[i].get("TimeLimit.truncated", False)]


def _slice_states(states: RNNStates, start: int, n: int) -> RNNStates:
    return RNNStates(*(tuple(t[:, start:start + n, :] for t in pair) for pair in states))


def _states_from(extras: dict[str, np.ndarray], device: th.device) -> RNNStates:
    """``RNNStates`` of shape (layers, n, hidden) from a step's env-first ``pi_h, pi_c, vf_h, vf_c`` extras."""
    t = {k: th.as_tensor(extras[k].transpose(1, 0, 2).copy(), device=device) for k in ("pi_h", "pi_c", "vf_h", "vf_c")}
    return RNNStates((t["pi_h"], t["pi_c"]), (t["vf_h"], t["vf_c"]))
