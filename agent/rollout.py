"""PPO whose rollouts run inside the env processes, each with a copy of the policy.

SB3 alternates policy and envs: every step the env processes wait for the policy's actions, then the policy
waits for their observations, so on a small machine the cores idle in turn. When the vectorized env can run a
whole rollout in its processes (:meth:`env.sb3_vec.SubprocBatchedVecEnv.rollout`), each process gets a frozen
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
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv, VecTransposeImage

from env.sb3_vec import SubprocBatchedVecEnv


def sample(policy: ActorCriticPolicy, obs: th.Tensor,
           generator: th.Generator | None = None) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """``policy(obs)`` of a categorical actor-critic (actions, values, log-probabilities) without building a
    ``Distribution`` object, which is a third of a small batch's inference on a CPU."""
    features = policy.extract_features(obs)
    if policy.share_features_extractor:
        latent_pi, latent_vf = policy.mlp_extractor(features)
    else:
        latent_pi = policy.mlp_extractor.forward_actor(features[0])
        latent_vf = policy.mlp_extractor.forward_critic(features[1])
    log_p = th.log_softmax(policy.action_net(latent_pi), dim=-1)
    actions = th.multinomial(log_p.exp(), 1, generator=generator)
    return actions.squeeze(1), policy.value_net(latent_vf), log_p.gather(1, actions).squeeze(1)


class PolicyActor:
    """A picklable copy of a policy that picks actions in an env process (see :class:`env.sb3_vec.RolloutActor`).

    :param policy: the learner's policy (an SB3 categorical ``ActorCriticPolicy``); copied by its constructor
        arguments and weights, so the learner can train while the copy acts.
    :param seed: seed of the copy's action draws.
    :param channels_first: transpose ``(n, H, W, C)`` observations to ``(n, C, H, W)`` (SB3's
        ``VecTransposeImage``), so the policy sees what it sees in training.
    :param greedy: take the most likely action instead of sampling (for tests that compare rollouts).
    """

    def __init__(self, policy: ActorCriticPolicy, seed: int, channels_first: bool, greedy: bool = False) -> None:
        self.state = {"cls": type(policy), "data": policy._get_constructor_parameters(),
                      "weights": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()}}
        self.seed, self.channels_first, self.greedy = seed, channels_first, greedy
        self._policy: ActorCriticPolicy | None = None
        self._generator: th.Generator | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_policy", "_generator")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _policy=None, _generator=None)

    def _build(self) -> ActorCriticPolicy:
        th.set_num_threads(1)  # one process per core: the env and its copy of the policy share it
        policy = self.state["cls"](**self.state["data"])
        policy.load_state_dict(self.state["weights"])
        policy.set_training_mode(False)
        self._generator = th.Generator().manual_seed(self.seed)
        return policy

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self._policy is None:
            self._policy = self._build()
        x = th.as_tensor(obs.transpose(0, 3, 1, 2) if self.channels_first else obs)
        with th.no_grad():
            if self.greedy:
                actions, values, log_probs = self._policy(x, deterministic=True)
            else:
                actions, values, log_probs = sample(self._policy, x, self._generator)
        return actions.numpy(), {"values": values.numpy().reshape(-1), "log_probs": log_probs.numpy()}


class WorkerRolloutPPO(PPO):
    """SB3 PPO whose rollouts run in the env processes when the env can (else SB3's ``collect_rollouts``).

    In-process rollouts need: a :class:`~env.sb3_vec.SubprocBatchedVecEnv` (or one under SB3's
    ``VecTransposeImage``); image observations; a discrete action space; a plain ``ActorCriticPolicy``; no gSDE.
    The processes send the rollout in parts of ``rollout_chunk`` steps; callbacks see every step, in order, with
    SB3's locals, as its part arrives (the policy is the same throughout a rollout, so the checkpoints and
    evaluations they make are those SB3 would make). A callback that stops training drops the steps after it.
    """

    greedy_rollouts: bool = False
    """Workers take the most likely action (tests compare rollouts with SB3's); never set for training."""
    rollout_chunk: int = 16
    """Steps per message from the env processes: the learner files one part while they run the next."""

    def _rollout_env(self, env: VecEnv) -> tuple[VecEnv, bool] | None:
        transpose = isinstance(env, VecTransposeImage)
        venv = env.venv if transpose else env
        usable = (isinstance(venv, SubprocBatchedVecEnv) and isinstance(self.action_space, spaces.Discrete)
                  and isinstance(self.observation_space, spaces.Box) and not self.use_sde and type(self.policy).forward is ActorCriticPolicy.forward
                  and "forward" not in vars(self.policy))
        return (venv, transpose) if usable else None

    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer,
                         n_rollout_steps: int) -> bool:
        target = self._rollout_env(env)
        if target is None:
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)
        venv, transpose = target
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()

        seeds = np.random.SeedSequence([self.seed or 0, self.num_timesteps]).generate_state(venv.procs)
        actors = [PolicyActor(self.policy, int(s), transpose, self.greedy_rollouts) for s in seeds]
        stopped = False
        for ro in venv.rollout(actors, n_rollout_steps, self.rollout_chunk):
            if stopped:
                continue  # the processes run the whole rollout: take the rest off the pipes
            obs_seq = self._obs(ro.obs, transpose, axis=2)
            for t in range(len(ro.actions)):
                new_obs = obs_seq[t + 1] if t + 1 < len(ro.actions) else self._obs(ro.last_obs, transpose)
                actions, rewards, dones, infos = ro.actions[t], ro.rewards[t].copy(), ro.dones[t], ro.infos[t]
                if transpose:
                    for info in infos:
                        if "terminal_observation" in info:
                            info["terminal_observation"] = self._obs(info["terminal_observation"][None], True)[0]
                self.num_timesteps += env.num_envs
                callback.update_locals(locals())
                if not callback.on_step():
                    stopped = True
                    break
                self._update_info_buffer(infos, dones)
                self._bootstrap_timeouts(rewards, dones, infos)
                rollout_buffer.add(obs_seq[t], actions.reshape(-1, 1), rewards,  # type: ignore[arg-type]
                                   self._last_episode_starts, th.as_tensor(ro.extras["values"][t]),
                                   th.as_tensor(ro.extras["log_probs"][t]))
                self._last_obs, self._last_episode_starts = new_obs, dones  # type: ignore[assignment]
        if stopped:
            self._last_obs = self._obs(ro.last_obs, transpose)  # where the envs are: after the whole rollout
            self._last_episode_starts = ro.dones[-1]
            return False

        with th.no_grad():
            values = self.policy.predict_values(th.as_tensor(new_obs, device=self.device))
        rollout_buffer.compute_returns_and_advantage(last_values=values, dones=dones)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    @staticmethod
    def _obs(obs: np.ndarray, transpose: bool, axis: int = 1) -> np.ndarray:
        """Images from the env's (…, H, W, C) to the policy's (…, C, H, W) when SB3 transposes them."""
        return np.moveaxis(obs, -1, axis) if transpose else obs

    def _bootstrap_timeouts(self, rewards: np.ndarray, dones: np.ndarray, infos: list[dict[str, Any]]) -> None:
        """Add γ·V(terminal observation) to the reward of episodes cut by a time limit (SB3's rule, issue 633)."""
        for idx, done in enumerate(dones):
            if done and infos[idx].get("terminal_observation") is not None \
                    and infos[idx].get("TimeLimit.truncated", False):
                terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                with th.no_grad():
                    terminal_value = self.policy.predict_values(terminal_obs)[0]  # type: ignore[arg-type]
                rewards[idx] += self.gamma * terminal_value
