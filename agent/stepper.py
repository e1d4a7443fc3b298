"""The one policy stepper: a (recurrent or frame-stacked) SB3 actor-critic policy acting on a batch of envs.

Everything that acts with a trained or training policy outside SB3's own loop steps it here: the in-process
rollout actors (:mod:`agent.rollout`), the graduation evaluations (:mod:`agent.evaluation`), and the tools'
``PolicyAgent`` (``tools.evaluate --agent PATH.zip``) and ``tools.record``. It carries the LSTM states of a
recurrent policy from step to step (zeroed where an episode starts, as in training), optionally stacks frames as
SB3's ``VecFrameStack`` does, and draws sampled actions from its own seeded generator when given a seed, so it
never touches torch's global generator (without a seed it draws from the global one, as ``model.predict`` does).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.policies import ActorCriticPolicy

from agent.memory import Lapses
from agent.process_state import drawing_from


def sample(policy: ActorCriticPolicy, obs: th.Tensor,
           generator: th.Generator | None = None) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """``policy(obs)`` of a categorical actor-critic (actions, values, log-probabilities) without building a
    ``Distribution`` object, which costs about a quarter of a small batch's inference on a CPU. The same draws as
    the ``Distribution`` would make from a global generator in ``generator``'s state."""
    features = policy.extract_features(obs)
    if policy.share_features_extractor:
        latent_pi, latent_vf = policy.mlp_extractor(features)
    else:
        latent_pi = policy.mlp_extractor.forward_actor(features[0])
        latent_vf = policy.mlp_extractor.forward_critic(features[1])
    return _draw(policy, latent_pi, latent_vf, generator)


def _draw(policy: ActorCriticPolicy, latent_pi: th.Tensor, latent_vf: th.Tensor,
          generator: th.Generator | None) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """A categorical draw from the actor's latents (actions, values, log-probabilities of the draws)."""
    log_p = th.log_softmax(policy.action_net(latent_pi), dim=-1)
    actions = th.multinomial(log_p.exp(), 1, generator=generator)
    return actions.squeeze(1), policy.value_net(latent_vf), log_p.gather(1, actions).squeeze(1)


def sample_recurrent(policy: RecurrentActorCriticPolicy, obs: th.Tensor, lstm_states: RNNStates,
                     episode_starts: th.Tensor, generator: th.Generator | None = None
                     ) -> tuple[th.Tensor, th.Tensor, th.Tensor, RNNStates]:
    """One step of each env of sb3-contrib's ``RecurrentActorCriticPolicy.forward`` (actions, values,
    log-probabilities, LSTM states after the step) for the default layout (:func:`fast_recurrent`), drawing as
    :func:`sample` does: the same LSTM calls on the same states, without sb3-contrib's per-step sequence reshaping
    and ``Distribution`` object (together ~20% of a step of 8 envs on a CPU)."""
    features = policy.extract_features(obs).unsqueeze(0)  # (time 1, envs, features)
    keep = (1.0 - episode_starts).view(1, -1, 1)
    out_pi, states_pi = policy.lstm_actor(features, (keep * lstm_states.pi[0], keep * lstm_states.pi[1]))
    out_vf, states_vf = policy.lstm_critic(features, (keep * lstm_states.vf[0], keep * lstm_states.vf[1]))
    actions, values, log_p = _draw(policy, policy.mlp_extractor.forward_actor(out_pi[0]),
                                   policy.mlp_extractor.forward_critic(out_vf[0]), generator)
    return actions, values, log_p, RNNStates(states_pi, states_vf)


def fast_recurrent(policy: RecurrentActorCriticPolicy) -> bool:
    """Whether :func:`sample_recurrent` computes ``policy``'s step: one shared encoder, an LSTM each for actor and
    critic (sb3-contrib's default), a categorical action and no override of ``forward``."""
    return (type(policy).forward is RecurrentActorCriticPolicy.forward and policy.share_features_extractor
            and policy.lstm_critic is not None and not policy.shared_lstm
            and isinstance(policy.action_space, spaces.Discrete))


class FrameStack:
    """The last ``n`` channel-last frames along channels, oldest first, zeros before an episode's first (what SB3's
    ``VecFrameStack`` gives a policy in training), for observations that come without that wrapper."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._frames: np.ndarray | None = None

    def __call__(self, obs: np.ndarray, episode_starts: np.ndarray) -> np.ndarray:
        """``obs``: one frame ``(H, W, C)`` or a batch ``(envs, H, W, C)``; ``episode_starts``: one flag per env."""
        if self.n == 1:
            return obs
        if self._frames is None or self._frames.shape[:-1] != obs.shape[:-1]:
            self._frames = np.zeros((*obs.shape[:-1], obs.shape[-1] * self.n), obs.dtype)
        starts = np.asarray(episode_starts, bool).reshape(-1)
        if obs.ndim == 4:
            self._frames[starts] = 0
        elif starts.any():
            self._frames[:] = 0
        c = obs.shape[-1]
        self._frames[..., :-c] = self._frames[..., c:]
        self._frames[..., -c:] = obs
        return self._frames


class PolicyStep(NamedTuple):
    """What one step of the policy gives, one entry per env."""

    actions: np.ndarray
    values: th.Tensor
    """The critic's values, ``(envs, 1)``."""
    log_probs: th.Tensor
    """Log-probabilities of the actions taken."""


class PolicyStepper:
    """Steps an SB3 ``ActorCriticPolicy`` (PPO) or ``RecurrentActorCriticPolicy`` (RecurrentPPO) on a batch of envs.

    :param policy: the policy; put in evaluation mode.
    :param deterministic: take the most likely action instead of sampling.
    :param seed: seed of this stepper's own generator for sampled actions; ``None``: torch's global generator.
    :param lstm_states: a recurrent policy's states to start from (default: zeros for as many envs as the first
        observation batch has).
    :param frame_stack: stack this many frames (for observations not already stacked by ``VecFrameStack``).
    :param lapse: a recurrent policy's chance per env and step that its memory lapses (its states are wiped before
        the step, as at an episode start; :mod:`agent.memory`); 0 = a perfect memory.
    :param lapse_seed: seed of the lapse draws.
    """

    def __init__(self, policy: ActorCriticPolicy, deterministic: bool = False, seed: int | None = None,
                 lstm_states: RNNStates | None = None, frame_stack: int = 1, lapse: float = 0.0,
                 lapse_seed: int | None = None) -> None:
        self.policy = policy
        self.deterministic = deterministic
        self.recurrent = isinstance(policy, RecurrentActorCriticPolicy)
        self._fast_recurrent = self.recurrent and fast_recurrent(policy)
        self.lstm_states = lstm_states
        self.frames = FrameStack(frame_stack)
        self.generator: th.Generator | None = None
        self.lapses = Lapses(lapse, lapse_seed)
        self.last_lapses = np.zeros(0, bool)
        """Envs whose memory lapsed before the last step."""
        self.reseed(seed)
        policy.set_training_mode(False)

    def reseed(self, seed: int | None) -> None:
        """Draw sampled actions from a generator seeded with ``seed`` from now on (``None``: the global one)."""
        self.generator = None if seed is None else th.Generator().manual_seed(seed)

    def __call__(self, obs: Any, episode_starts: np.ndarray) -> PolicyStep:
        """One step: ``obs`` an env's observation or a batch of them (numpy, as the env gives them, or a tensor
        already in the policy's layout), ``episode_starts[i]``: env ``i``'s observation is its episode's first."""
        if isinstance(obs, th.Tensor):
            x = obs
        else:
            x = self.policy.obs_to_tensor(self.frames(obs, episode_starts) if self.frames.n > 1 else obs)[0]
        with th.no_grad():
            if self.recurrent:
                if self.lstm_states is None:
                    self.lstm_states = _zero_states(self.policy, len(episode_starts))
                self.last_lapses = self.lapses(len(episode_starts))
                # the policy's device: a dict observation (privileged runs) has none of its own
                starts = th.as_tensor(np.asarray(episode_starts, bool) | self.last_lapses, dtype=th.float32,
                                      device=self.policy.device)
                if not self.deterministic and self._fast_recurrent and isinstance(x, th.Tensor):
                    actions, values, log_probs, self.lstm_states = sample_recurrent(
                        self.policy, x, self.lstm_states, starts, self.generator)
                else:
                    with drawing_from(self.generator):  # sb3-contrib samples from the global generator
                        actions, values, log_probs, self.lstm_states = self.policy(
                            x, self.lstm_states, starts, deterministic=self.deterministic)
            elif self.deterministic:
                actions, values, log_probs = self.policy(x, deterministic=True)
            else:
                actions, values, log_probs = sample(self.policy, x, self.generator)
        return PolicyStep(actions.cpu().numpy(), values, log_probs)


def _zero_states(policy: Any, n_envs: int) -> RNNStates:
    layers, _, hidden = policy.lstm_hidden_state_shape
    z = th.zeros((layers, n_envs, hidden), device=policy.device)
    return RNNStates((z, z.clone()), (z.clone(), z.clone()))
