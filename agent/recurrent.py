"""sb3-contrib's CNN + LSTM policy with a sequence pass that does not loop over time steps in Python, and that
can be rebuilt from its constructor parameters (for the copies that act in the env processes); and a rollout
buffer whose minibatches leave the padding out of the encoder's work."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticCnnPolicy, RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RecurrentRolloutBufferSamples, RNNStates
from torch import nn


class PaddedSteps(NamedTuple):
    """A minibatch's observations without their padding: the real steps, and where each sits in the padded
    ``(sequence, time)`` layout that the LSTMs and the losses use (:class:`PackedRecurrentRolloutBuffer`)."""

    observations: th.Tensor
    """The real steps' observations, ``(n_real, C, H, W)``, in the order of the padded rows."""
    rows: th.Tensor
    """Row of each real step in the padded layout (``sequence * max_length + time``), int64."""
    padded_rows: int
    """Rows of the padded layout, ``n_sequences * max_length``."""

    def padded(self) -> th.Tensor:
        """The observations in the padded layout, zeros in the padding: what sb3-contrib's buffer gives."""
        out = self.observations.new_zeros((self.padded_rows, *self.observations.shape[1:]))
        return out.index_copy(0, self.rows, self.observations)


class InfantLstmPolicy(RecurrentActorCriticCnnPolicy):
    """``CnnLstmPolicy`` whose LSTM runs each training sequence in one call.

    RecurrentPPO cuts its minibatches into sequences that begin where an episode begins, so a sequence has an
    episode start at most at its first step. sb3-contrib sees "an episode start somewhere" and steps the LSTM one
    time step at a time from Python (two LSTMs × the rollout length per minibatch); here a start at the first
    step only zeroes the initial state and the whole sequence goes through in one call: the same function, with
    RecurrentPPO's gradient epochs 2.8x faster on a 2-core CPU (128-step rollouts, 16 envs). Sequences with a
    start later on (the buffer never makes them) take sb3-contrib's loop.
    """

    def __init__(self, *args: Any, aux_classes: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aux_classes = aux_classes
        if aux_classes:
            # auxiliary read-outs of the recurrent states (agent.auxiliary): one per LSTM, so the critic's memory is
            # asked to hold the location too (its value cannot depend on the side otherwise)
            self.aux_pi = nn.Linear(self.lstm_output_dim, aux_classes)
            self.aux_vf = nn.Linear(self.lstm_output_dim, aux_classes)
            lr = self.optimizer.param_groups[0]["lr"]  # sb3-contrib built the optimizer before these existed
            self.optimizer = self.optimizer_class(self.parameters(), lr=lr, **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        # sb3-contrib leaves the LSTM's shape out, so a copy rebuilt from these (agent.rollout) would not fit
        data = super()._get_constructor_parameters()
        data.update(lstm_hidden_size=self.lstm_output_dim, n_lstm_layers=self.lstm_actor.num_layers,
                    shared_lstm=self.shared_lstm, enable_critic_lstm=self.enable_critic_lstm,
                    lstm_kwargs=self.lstm_kwargs, aux_classes=self.aux_classes)
        return data

    def extract_features(self, obs: Any, features_extractor: Any = None) -> Any:
        """SB3's ``extract_features``; for :class:`PaddedSteps` the encoder runs on the real steps only and the
        padding rows get zero features. Padding only ever follows a sequence's real steps and is masked out of
        every loss, so the LSTM outputs of the real steps, the losses and the gradients are what encoding the
        padded observations gives, up to float rounding (the encoder sees a smaller batch)."""
        if not isinstance(obs, PaddedSteps):
            return super().extract_features(obs, features_extractor)
        real = super().extract_features(obs.observations, features_extractor)
        if isinstance(real, tuple):  # separate actor and critic encoders
            return tuple(_scatter_rows(f, obs) for f in real)
        return _scatter_rows(real, obs)

    def evaluate_actions_aux(self, obs: th.Tensor, actions: th.Tensor, lstm_states: RNNStates,
                             episode_starts: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        """sb3-contrib's ``evaluate_actions`` (values, log-probabilities, entropy) plus the auxiliary logits of the
        actor's and the critic's LSTM outputs at every step."""
        features = self.extract_features(obs)
        assert self.share_features_extractor and self.lstm_critic is not None, "aux heads need the default layout"
        lstm_pi, _ = self._process_sequence(features, lstm_states.pi, episode_starts, self.lstm_actor)
        lstm_vf, _ = self._process_sequence(features, lstm_states.vf, episode_starts, self.lstm_critic)
        distribution = self._get_action_dist_from_latent(self.mlp_extractor.forward_actor(lstm_pi))
        values = self.value_net(self.mlp_extractor.forward_critic(lstm_vf))
        return (values, distribution.log_prob(actions), distribution.entropy(), self.aux_pi(lstm_pi),
                self.aux_vf(lstm_vf))

    @staticmethod
    def _process_sequence(features: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor,
                          lstm: nn.LSTM) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        n_seq = lstm_states[0].shape[1]
        starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)  # (time, sequence)
        if th.any(starts[1:]):
            return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        keep = (1.0 - starts[0]).view(1, n_seq, 1)
        sequence = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
        output, states = lstm(sequence, (keep * lstm_states[0], keep * lstm_states[1]))
        return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), states


def _scatter_rows(features: th.Tensor, steps: PaddedSteps) -> th.Tensor:
    return features.new_zeros((steps.padded_rows, features.shape[1])).index_copy(0, steps.rows, features)


class PackedRecurrentRolloutBuffer(RecurrentRolloutBuffer):
    """sb3-contrib's ``RecurrentRolloutBuffer`` whose minibatches carry their observations as :class:`PaddedSteps`.

    sb3-contrib pads every sequence of a minibatch to the longest (a minibatch of 256 steps rotated across the
    env-major rollout holds ~3 sequences cut at env changes: ~384 rows) and the policy encodes every row, the
    padding too: a third of the encoder's work in RecurrentPPO's gradient epochs (a fifth of their time) went into
    encoding zeros. The minibatches, sequences and every other field are sb3-contrib's, byte for byte (the same draws
    from numpy's global generator); only the observations come unpadded, for
    :meth:`InfantLstmPolicy.extract_features`.
    """

    def _get_samples(self, batch_inds: np.ndarray, env_change: np.ndarray,  # type: ignore[override]
                     env: Any = None) -> RecurrentRolloutBufferSamples:
        starts = np.logical_or(self.episode_starts[batch_inds], env_change[batch_inds]).flatten()
        starts[0] = True
        self.seq_start_indices = np.flatnonzero(starts)  # as sb3-contrib's create_sequencers
        seq = np.cumsum(starts) - 1  # sequence of each step
        step = np.arange(len(batch_inds)) - self.seq_start_indices[seq]  # its place in the sequence
        n_seq, max_len = len(self.seq_start_indices), int(step.max()) + 1
        rows = seq * max_len + step

        def padded(a: np.ndarray) -> th.Tensor:  # what sb3-contrib's pad_and_flatten gives: zeros after each sequence
            out = np.zeros((n_seq * max_len, *a.shape[1:]), a.dtype)
            out[rows] = a[batch_inds]
            return self.to_torch(out, copy=False)

        def first(name: str) -> th.Tensor:  # (layers, n_seq, hidden) stored at each sequence's first step
            return self.to_torch(self.__dict__[name][batch_inds][self.seq_start_indices].swapaxes(0, 1)).contiguous()

        flat = {k: padded(self.__dict__[k].reshape(-1)) for k in ("values", "log_probs", "advantages", "returns",
                                                                    "episode_starts")}
        mask = np.zeros(n_seq * max_len, np.float32)
        mask[rows] = 1.0
        return RecurrentRolloutBufferSamples(
            observations=PaddedSteps(self.to_torch(self.observations[batch_inds], copy=False),  # type: ignore[arg-type]
                                     th.as_tensor(rows, device=self.device), n_seq * max_len),
            actions=padded(self.actions), old_values=flat["values"], old_log_prob=flat["log_probs"],
            advantages=flat["advantages"], returns=flat["returns"],
            lstm_states=RNNStates((first("hidden_states_pi"), first("cell_states_pi")),
                                  (first("hidden_states_vf"), first("cell_states_vf"))),
            episode_starts=flat["episode_starts"], mask=self.to_torch(mask, copy=False))
