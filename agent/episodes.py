"""RecurrentPPO whose gradient covers whole episodes (``agent.sequences: episode``).

sb3-contrib's ``RecurrentRolloutBuffer`` cuts each minibatch (a slice of the flattened rollout) into sequences
that start from LSTM states stored during the rollout, without gradient: a trial whose hiding and choice fall in
different minibatches or rollouts gets no gradient from the choice back to the hiding (measured in
docs/permanence.md). :class:`EpisodeSequenceBuffer` instead

- cuts each env's rollout only at episode starts and never splits a segment across minibatches (minibatches are
  whole segments, shuffled, about ``batch_size`` loss steps each), and
- puts in front of a rollout's first segment the part of the same episode seen in earlier rollouts (its
  observations are kept across ``reset``), run by the LSTM from the episode's start *with* gradient and masked
  out of the loss (its actions and advantages were trained on with the rollout they came from),

so every loss term's sequence starts at its episode's first step: a loss at the choice reaches the hiding.
Episodes longer than ``max_prefix`` steps before the rollout fall back to the stored state.

With ``mask_frozen`` the steps where the infant is held still (a battery trial's show, hide and delay phases:
its actions there change nothing) stay in the LSTM's sequences but leave the losses, so their noise and
entropy bonus do not act on the policy (docs/permanence.md: 34–46% of the loss terms otherwise).
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any, NamedTuple

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RNNStates

from agent.auxiliary import PHASE_CODES, phase_code, sighting, train_with_aux, trial_labels
from agent.memory import lapse_probability
from agent.rollout import WorkerRolloutRecurrentPPO

class EpisodeSamples(NamedTuple):
    """sb3-contrib's ``RecurrentRolloutBufferSamples`` plus each step's auxiliary label (:mod:`agent.auxiliary`)."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    lstm_states: RNNStates
    episode_starts: th.Tensor
    mask: th.Tensor
    aux_labels: th.Tensor


class _Segment(NamedTuple):
    """One gradient sequence of a rollout: an env's steps between episode starts, and what runs before them."""

    start: int
    """First step, as a flat (env-major) buffer index."""
    length: int
    """Steps in this rollout (the loss terms)."""
    prefix: np.ndarray
    """Observations of the same episode from earlier rollouts, run first without loss terms (may be empty)."""
    from_start: bool
    """The sequence begins at its episode's first step (else from the state stored during the rollout)."""
    labels: np.ndarray
    """Auxiliary label of each step, prefix included (:func:`agent.auxiliary.trial_labels`; -1: none)."""


_FLAT = ("observations", "actions", "values", "log_probs", "advantages", "returns", "hidden_states_pi",
         "cell_states_pi", "hidden_states_vf", "cell_states_vf", "episode_starts")


class EpisodeSequenceBuffer(RecurrentRolloutBuffer):
    """A ``RecurrentRolloutBuffer`` whose gradient sequences begin at episode starts (see the module docstring).

    :param max_prefix: most earlier-rollout steps kept per env (their observations are held in memory).
    Other parameters as sb3-contrib's buffer.
    """

    def __init__(self, *args: Any, max_prefix: int = 512, **kwargs: Any) -> None:
        self.max_prefix = max_prefix
        self.pending_frozen: np.ndarray | None = None
        """Per env: the observation being added was taken while the infant is held still (set by the learner)."""
        self.pending_aux: np.ndarray | None = None
        """Per env: (phase code of the observation being added, sighting of its step) (set by the learner)."""
        self.pending_lapse: np.ndarray | None = None
        """Per env: its memory lapsed before the step being added (:mod:`agent.memory`; set by the learner)."""
        self._prefix: list[np.ndarray] = []  # observations since the LSTM's last reset (episode start or lapse)
        self._prefix_aux: list[np.ndarray] = []  # phase codes and sightings since the episode's start
        self._prefix_open = np.zeros(0, bool)
        self._aux_open = np.zeros(0, bool)
        self.stats: dict[str, float] = {}
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        if getattr(self, "full", False):
            self._keep_prefixes()
        elif not self._prefix:
            self._prefix = [np.zeros((0, *self.obs_shape), np.uint8) for _ in range(self.n_envs)]
            self._prefix_aux = [np.zeros((0, 2), np.int8) for _ in range(self.n_envs)]
            self._prefix_open = np.zeros(self.n_envs, bool)
            self._aux_open = np.zeros(self.n_envs, bool)
        super().reset()
        self._segs: list[_Segment] | None = None
        self.frozen = np.zeros((self.buffer_size, self.n_envs), np.float32)
        self.aux = np.full((self.buffer_size, self.n_envs, 2), -1, np.int8)
        self.lapses = np.zeros((self.buffer_size, self.n_envs), np.float32)

    def add(self, *args: Any, **kwargs: Any) -> None:
        if self.pending_frozen is not None:
            self.frozen[self.pos] = self.pending_frozen
        if self.pending_aux is not None:
            self.aux[self.pos] = self.pending_aux
        if self.pending_lapse is not None:
            self.lapses[self.pos] = self.pending_lapse
        super().add(*args, **kwargs)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, *self.obs_shape), self.observations.dtype)

    def _per_env(self, name: str) -> np.ndarray:
        """``(n_envs, n_steps, ...)`` view of a buffer array, flattened by ``get`` or not."""
        a = self.__dict__[name]
        if self.generator_ready:
            return a.reshape(self.n_envs, self.buffer_size, *a.shape[1:])
        return a.swapaxes(0, 1)

    def _keep_prefixes(self) -> None:
        """Keep, per env, the observations of the episode still running at the rollout's end since the LSTM's last
        reset (its start, or a memory lapse), and its phase codes and sightings since its start (for its labels)."""
        obs, starts, aux = self._per_env("observations"), self._per_env("episode_starts"), self._per_env("aux")
        resets = np.maximum(starts, self._per_env("lapses"))
        for e in range(self.n_envs):
            s, r = np.flatnonzero(starts[e] > 0.5), np.flatnonzero(resets[e] > 0.5)
            if len(r):
                kept = obs[e, r[-1]:].copy()
            elif self._prefix_open[e]:  # the LSTM's run began in an earlier rollout, whose part is kept
                kept = np.concatenate([self._prefix[e], obs[e]])
            else:
                kept = None
            if len(s):
                kept_aux = aux[e, s[-1]:].copy()
            elif self._aux_open[e]:
                kept_aux = np.concatenate([self._prefix_aux[e], aux[e]])
            else:
                kept_aux = None
            # not kept, or too long: that episode's next segment starts from the stored state, as in sb3-contrib
            self._prefix_open[e] = kept is not None and len(kept) <= self.max_prefix
            self._aux_open[e] = kept_aux is not None and len(kept_aux) <= self.max_prefix
            self._prefix[e] = kept if self._prefix_open[e] else self._empty()
            self._prefix_aux[e] = kept_aux if self._aux_open[e] else np.zeros((0, 2), np.int8)

    def _flatten(self) -> None:
        for name in ("hidden_states_pi", "cell_states_pi", "hidden_states_vf", "cell_states_vf"):
            self.__dict__[name] = self.__dict__[name].swapaxes(1, 2)
        for name in _FLAT:
            self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
        self.frozen = self.swap_and_flatten(self.frozen)
        self.aux = self.swap_and_flatten(self.aux)
        self.lapses = self.swap_and_flatten(self.lapses)
        self.generator_ready = True

    def _segments(self) -> list[_Segment]:
        """The rollout's segments (the same for every epoch of it: built once, after the rollout)."""
        if self._segs is not None:
            return self._segs
        starts = self.episode_starts.reshape(self.n_envs, self.buffer_size)
        lapses = self.lapses.reshape(self.n_envs, self.buffer_size)
        no_aux = np.zeros((0, 2), np.int8)
        self._segs = []
        for e in range(self.n_envs):
            cut = sorted({0, *np.flatnonzero(starts[e] > 0.5).tolist()})
            for a, b in zip(cut, [*cut[1:], self.buffer_size]):
                flat = e * self.buffer_size + a
                continued = a == 0 and starts[e, 0] < 0.5  # the episode began in an earlier rollout
                known = not continued or bool(self._aux_open[e])
                prefix_aux = self._prefix_aux[e] if continued and known else no_aux
                aux = np.concatenate([prefix_aux, self.aux[flat:flat + b - a]])
                # a trial's label needs its steps from the episode's start (see agent.auxiliary)
                labels = trial_labels(aux[:, 0], aux[:, 1]) if known else np.full(len(aux), -1, np.int64)
                # a memory lapse wipes the LSTM's states as an episode start does: a new sequence from zero states
                sub = sorted({a, *(i for i in np.flatnonzero(lapses[e] > 0.5).tolist() if a < i < b)})
                for x, y in zip(sub, [*sub[1:], b]):
                    if x == a and continued and lapses[e, x] < 0.5:
                        from_start = bool(self._prefix_open[e])
                        prefix = self._prefix[e] if from_start else self._empty()
                    else:
                        from_start, prefix = True, self._empty()
                    at = len(prefix_aux) + x - a  # this sub-sequence's first rollout step in ``labels``
                    sub_labels = labels[at - len(prefix):at + y - x] if known else \
                        np.full(len(prefix) + y - x, -1, np.int64)
                    self._segs.append(_Segment(e * self.buffer_size + x, y - x, prefix, from_start, sub_labels))
        return self._segs

    def get(self, batch_size: int | None = None) -> Generator[EpisodeSamples, None, None]:
        assert self.full, "Rollout buffer must be full before sampling from it"
        if not self.generator_ready:
            self._flatten()
        total = self.buffer_size * self.n_envs
        batch_size = total if batch_size is None else batch_size
        segs = self._segments()
        self.stats = {"sequences": len(segs), "from_episode_start": float(np.mean([s.from_start for s in segs])),
                      "prefix_steps": float(sum(len(s.prefix) for s in segs))}
        order = np.random.permutation(len(segs))
        groups: list[list[_Segment]] = [[]]
        steps = 0
        for i in order:
            if steps >= batch_size:
                groups.append([])
                steps = 0
            groups[-1].append(segs[i])
            steps += segs[i].length
        if len(groups) > 1 and steps < batch_size // 2:  # a leftover of a few steps joins the group before it
            groups[-2] += groups.pop()  # (a 1-step minibatch has no advantage std: NaN weights)
        for group in groups:
            yield from self._nonempty(group)

    def _nonempty(self, group: list[_Segment]) -> Generator[EpisodeSamples]:
        """The group's samples, unless every step is masked (no loss term: its means would be NaN)."""
        if any(self.frozen[g.start:g.start + g.length].min() < 0.5 for g in group):
            yield self._samples(group)

    def _samples(self, group: list[_Segment]) -> EpisodeSamples:
        n_seq = len(group)
        max_len = max(len(g.prefix) + g.length for g in group)
        obs = np.zeros((n_seq, max_len, *self.obs_shape), self.observations.dtype)
        act = np.zeros((n_seq, max_len, *self.actions.shape[1:]), np.float32)
        cols = {k: np.zeros((n_seq, max_len), np.float32) for k in ("values", "log_probs", "advantages", "returns",
                                                                     "episode_starts", "mask")}
        labels = np.full((n_seq, max_len), -1, np.int64)
        first = np.array([g.start for g in group])
        for j, (a, n, prefix, from_start, seg_labels) in enumerate(group):
            k = len(prefix)
            obs[j, :k], obs[j, k:k + n] = prefix, self.observations[a:a + n]
            act[j, k:k + n] = self.actions[a:a + n]
            for name in ("values", "log_probs", "advantages", "returns"):
                cols[name][j, k:k + n] = self.__dict__[name][a:a + n].reshape(-1)
            cols["episode_starts"][j, 0] = 1.0 if from_start else 0.0
            cols["mask"][j, k:k + n] = 1.0 - self.frozen[a:a + n].reshape(-1)
            labels[j, :k + n] = seg_labels

        def states(name: str) -> th.Tensor:  # (n_seq, layers, h) stored at each sequence's first step
            return self.to_torch(self.__dict__[name][first].swapaxes(0, 1)).contiguous()

        t = self.to_torch
        return EpisodeSamples(
            observations=t(obs.reshape(n_seq * max_len, *self.obs_shape)),
            actions=t(act.reshape(n_seq * max_len, *self.actions.shape[1:])),
            old_values=t(cols["values"].reshape(-1)), old_log_prob=t(cols["log_probs"].reshape(-1)),
            advantages=t(cols["advantages"].reshape(-1)), returns=t(cols["returns"].reshape(-1)),
            lstm_states=RNNStates((states("hidden_states_pi"), states("cell_states_pi")),
                                  (states("hidden_states_vf"), states("cell_states_vf"))),
            episode_starts=t(cols["episode_starts"].reshape(-1)), mask=t(cols["mask"].reshape(-1)),
            aux_labels=th.as_tensor(labels.reshape(-1), device=self.device))


HELD_PHASES = ("show", "hide", "delay")
"""Battery phases in which the infant is held still (``delay`` unless its mode is ``free``, which the info does
not say: a free delay counts as held here)."""


class EpisodeRecurrentPPO(WorkerRolloutRecurrentPPO):
    """:class:`~agent.rollout.WorkerRolloutRecurrentPPO` training on :class:`EpisodeSequenceBuffer` sequences.

    Class attributes (set by :func:`learner_class` from the agent config, so a checkpoint loads into the same
    learner): ``mask_frozen``: leave held-still steps out of the PPO losses; ``aux_weight`` / ``aux_source``: the
    auxiliary loss on the LSTM states (:mod:`agent.auxiliary`; 0 = off). Whether the *next* observation is held,
    and its phase, are read from the public ``info["phase"]`` of each step (a new battery episode starts held, in
    ``show``)."""

    mask_frozen: bool = False
    aux_weight: float = 0.0
    aux_source: str = "reveal"
    memory_half_life_s: float | None = None
    """Half-life of the agent's memory (:mod:`agent.memory`); None = a perfect memory."""

    @property
    def memory_lapse(self) -> float:  # type: ignore[override]
        return lapse_probability(self.memory_half_life_s)

    def _setup_model(self) -> None:
        super()._setup_model()
        old = self.rollout_buffer
        if not isinstance(old, RecurrentRolloutBuffer):
            raise TypeError("agent.sequences='episode' needs image observations (not a dict observation)")
        self.rollout_buffer = EpisodeSequenceBuffer(
            self.n_steps, self.observation_space, self.action_space, old.hidden_state_shape, self.device,
            gamma=self.gamma, gae_lambda=self.gae_lambda, n_envs=self.n_envs)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_phase", "_held"]  # per-env rollout state, rebuilt on the go

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        # both rollout loops call this after each step and before filing it: file the current observation's
        # flags, then work out the next observation's from this step's info
        super()._update_info_buffer(infos, dones)
        done = np.zeros(len(infos), bool) if dones is None else np.asarray(dones, bool)
        if self.aux_weight:
            self._file_aux(infos, done)
        if self.mask_frozen:
            self._file_frozen(infos, done)

    def _file_aux(self, infos: list[dict[str, Any]], done: np.ndarray) -> None:
        """The current observation's phase code and its step's sighting (:mod:`agent.auxiliary`)."""
        phase = getattr(self, "_phase", None)
        if phase is None:  # the first step of training: a battery episode starts in show
            phase = np.array([PHASE_CODES["show"] if "phase" in info else -1 for info in infos])
        if isinstance(self.rollout_buffer, EpisodeSequenceBuffer):
            seen = [sighting(info, self.aux_source) for info in infos]
            self.rollout_buffer.pending_aux = np.stack([phase, seen], axis=1).astype(np.int8)
        self._phase = np.array([(PHASE_CODES["show"] if d else phase_code(info)) if "phase" in info else -1
                                for info, d in zip(infos, done)])

    def _file_frozen(self, infos: list[dict[str, Any]], done: np.ndarray) -> None:
        """Whether the current observation was taken while the infant is held still."""
        held = getattr(self, "_held", None)
        if held is None:  # the first step of training: a battery episode starts held
            held = np.array(["phase" in info for info in infos])
        if isinstance(self.rollout_buffer, EpisodeSequenceBuffer):
            self.rollout_buffer.pending_frozen = held.astype(np.float32)
        self._held = np.array([("phase" in info) and (bool(d) or info["phase"] in HELD_PHASES)
                               for info, d in zip(infos, done)])

    def _file_step(self, rollout_buffer: Any, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                   dones: np.ndarray, infos: list[dict[str, Any]], extras: dict[str, np.ndarray]) -> None:
        if isinstance(rollout_buffer, EpisodeSequenceBuffer):
            rollout_buffer.pending_lapse = extras.get("lapse")
        super()._file_step(rollout_buffer, obs, actions, rewards, dones, infos, extras)

    def train(self) -> None:
        if self.aux_weight:
            train_with_aux(self, self.aux_weight)
        else:
            super().train()
        for k, v in self.rollout_buffer.stats.items():
            self.logger.record(f"sequences/{k}", v)


@functools.cache
def learner_class(mask_frozen: bool = False, aux_weight: float = 0.0, aux_source: str = "reveal",
                  memory_half_life_s: float | None = None) -> type[EpisodeRecurrentPPO]:
    """The :class:`EpisodeRecurrentPPO` with these settings (one class per setting, so loading finds it again)."""
    if not (mask_frozen or aux_weight or memory_half_life_s):
        return EpisodeRecurrentPPO
    name = "EpisodeRecurrentPPO" + ("MaskFrozen" if mask_frozen else "") + (f"Aux_{aux_source}" if aux_weight
                                                                           else "")
    if memory_half_life_s:
        name += f"_Memory{memory_half_life_s:g}s"
    return type(name, (EpisodeRecurrentPPO,), {"mask_frozen": mask_frozen, "aux_weight": aux_weight,
                                               "aux_source": aux_source, "memory_half_life_s": memory_half_life_s,
                                               "__module__": __name__})
