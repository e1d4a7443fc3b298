"""sb3-contrib's CNN + LSTM policy with a sequence pass that does not loop over time steps in Python, and that
can be rebuilt from its constructor parameters (for the copies that act in the env processes)."""

from __future__ import annotations

from typing import Any

import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticCnnPolicy, RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from torch import nn


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
