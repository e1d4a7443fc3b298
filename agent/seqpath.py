"""Where RecurrentPPO's gradient can flow: sb3-contrib's sequence cutting applied to recorded episodes.

sb3-contrib's ``RecurrentRolloutBuffer.get`` rotates the flattened rollout (env-major) by a random offset, slices it
into minibatches of ``batch_size`` indices and cuts each minibatch into sequences at episode starts, env changes and
the minibatch's first index; every sequence starts from the LSTM state *stored* during the rollout, so no gradient
crosses a cut. :func:`buffer_sequences` runs that very code (a real buffer, filled with step ids instead of
images) and :func:`gradient_path` counts, per trial, whether the hiding and the choice share one sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RNNStates

from agent.stats import wilson_interval


class _RecordingBuffer(RecurrentRolloutBuffer):
    """A RecurrentRolloutBuffer that keeps, per minibatch, its indices and the sequence starts it cut."""

    def _get_samples(self, batch_inds: np.ndarray, env_change: np.ndarray, env: Any = None):  # type: ignore[override]
        out = super()._get_samples(batch_inds, env_change)
        self.cuts.append((batch_inds.copy(), np.asarray(self.seq_start_indices).copy()))
        return out


def buffer_sequences(episode_starts: np.ndarray, batch_size: int, seed: int = 0) -> list[np.ndarray]:
    """The gradient sequences of one rollout as sb3-contrib cuts them, for one gradient epoch.

    :param episode_starts: ``(n_steps, n_envs)``: step ``t`` of env ``e`` is the first of an episode (as the
        buffer stores it).
    :param batch_size: RecurrentPPO's minibatch size.
    :param seed: seed of the buffer's random rotation (it draws from numpy's global generator).
    :return: each sequence as an array of ``t * n_envs + e`` step ids, in time order.
    """
    n_steps, n_envs = episode_starts.shape
    buf = _RecordingBuffer(n_steps, spaces.Box(-np.inf, np.inf, (1,), np.float32), spaces.Discrete(2),
                           (n_steps, 1, n_envs, 1), device="cpu", n_envs=n_envs)
    buf.cuts = []
    zeros = th.zeros(1, n_envs, 1)
    states = RNNStates((zeros, zeros), (zeros, zeros))
    for t in range(n_steps):
        ids = (t * n_envs + np.arange(n_envs)).astype(np.float32).reshape(n_envs, 1)
        buf.add(ids, np.zeros((n_envs, 1)), np.zeros(n_envs), episode_starts[t].astype(np.float32),
                th.zeros(n_envs), th.zeros(n_envs), lstm_states=states)
    buf.compute_returns_and_advantage(th.zeros(n_envs), np.zeros(n_envs))
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        for _ in buf.get(batch_size):
            pass
    finally:
        np.random.set_state(state)
    seqs = []
    for inds, starts in buf.cuts:
        ids = buf.observations[inds, 0].astype(np.int64)
        ends = [*starts[1:], len(inds)]
        seqs += [ids[a:b] for a, b in zip(starts, ends)]
    return seqs


@dataclass
class Recording:
    """Per-env streams of consecutive steps (``(T, n_envs)`` arrays) recorded from a policy in the task."""

    episode_start: np.ndarray
    """The step's observation is an episode's first."""
    phase: np.ndarray
    """Phase of the step's observation: 0 show, 1 hide, 2 delay, 3 search, 4 reveal (the v2 battery)."""
    done: np.ndarray
    """The episode ended at this step."""
    target: np.ndarray
    """Hidden location of the step's trial (-1: none)."""
    chosen: np.ndarray
    """At an episode's last step: the location chosen (-1: none); else -1."""
    features: dict[str, np.ndarray] = field(default_factory=dict)
    """Optional per-step features ``(T, n_envs, d)`` (e.g. the LSTM state after the step's observation)."""


PHASE_CODES = {"show": 0, "hide": 1, "delay": 2, "search": 3, "reveal": 4}
"""Phase names → codes in :attr:`Recording.phase`."""


def trials(rec: Recording) -> list[dict[str, Any]]:
    """The complete episodes of a recording: env, first and last step, hide steps, first search step, choice."""
    out = []
    n_envs = rec.phase.shape[1]
    for e in range(n_envs):
        starts = np.flatnonzero(rec.episode_start[:, e])
        for a, b in pairwise(starts):  # only episodes seen from start to end
            last = b - 1
            if not rec.done[last, e]:
                continue
            ph = rec.phase[a:b, e]
            hide = a + np.flatnonzero(ph == PHASE_CODES["hide"])
            search = a + np.flatnonzero(ph == PHASE_CODES["search"])
            if len(hide) == 0 or len(search) == 0:
                continue
            out.append({"env": e, "first": int(a), "last": int(last), "hide": hide, "search_first": int(search[0]),
                        "target": int(rec.target[a, e]), "chosen": int(rec.chosen[last, e])})
    return out


def gradient_path(rec: Recording, n_steps: int, n_envs: int, batch_size: int, n_epochs: int = 4,
                  seed: int = 0, burn_in: int = 200) -> dict[str, Any]:
    """Cut the recording into rollouts of ``n_envs`` × ``n_steps`` and every rollout into the buffer's gradient
    sequences, ``n_epochs`` times (a new rotation each epoch, as in training). Per trial (episode) and epoch:

    - ``hide_and_choice``: the trial's last step (the choice, or the time-out) and at least one hide-phase step are
      in one sequence (some gradient from the choice reaches the hiding);
    - ``whole_hide_and_choice``: all hide-phase steps and the last step in one sequence;
    - ``from_episode_start``: the last step's sequence begins at the episode's first step (zero state: the whole
      trial is in the gradient path);
    - ``search_terms_reaching_hide``: share of search-step loss terms whose sequence holds a hide step.
    Also the sequence lengths (BPTT lengths) and the share of sequences that start from a stored state.

    Rollouts start at the recording's first step (as training's first rollout starts at the first reset); trials
    that start in the first ``burn_in`` steps are not counted (every env starts an episode at step 0, which
    would align the first trials with the first rollout). A trial that runs past the last whole rollout counts
    as cut there (its end falls in the next rollout).
    """
    t_len, rec_envs = rec.phase.shape
    if rec_envs < n_envs:
        raise ValueError(f"recording has {rec_envs} envs, fewer than n_envs={n_envs}")
    n_roll = t_len // n_steps
    if n_roll < 1:
        raise ValueError(f"recording of {t_len} steps is shorter than one rollout of n_steps={n_steps}")
    # sequence id of each (epoch, t, env); steps past the last whole rollout get ids of their own (cut)
    seq_of = np.broadcast_to(-2 - np.arange(t_len * n_envs).reshape(t_len, n_envs), (n_epochs, t_len, n_envs)).copy()
    lengths, stored = [], []
    sid = 0
    for r in range(n_roll):
        window = slice(r * n_steps, (r + 1) * n_steps)
        starts = rec.episode_start[window, :n_envs].copy()
        for ep in range(n_epochs):
            for seq in buffer_sequences(starts, batch_size, seed=seed + 1000 * r + ep):
                t, e = seq // n_envs, seq % n_envs
                seq_of[ep, r * n_steps + t, e] = sid
                sid += 1
                lengths.append(len(seq))
                stored.append(not bool(starts[t[0], e[0]]))
    sub = Recording(rec.episode_start[:, :n_envs], rec.phase[:, :n_envs], rec.done[:, :n_envs],
                    rec.target[:, :n_envs], rec.chosen[:, :n_envs])
    trs = [tr for tr in trials(sub) if burn_in <= tr["first"] < n_roll * n_steps]
    counts = {"hide_and_choice": 0, "whole_hide_and_choice": 0, "from_episode_start": 0}
    terms_total = terms_hit = 0
    for tr in trs:
        e = tr["env"]
        for ep in range(n_epochs):
            s_last = seq_of[ep, tr["last"], e]
            s_hide = seq_of[ep, tr["hide"], e]
            counts["hide_and_choice"] += int(np.any(s_hide == s_last))
            counts["whole_hide_and_choice"] += int(np.all(s_hide == s_last))
            counts["from_episode_start"] += int(seq_of[ep, tr["first"], e] == s_last)
            search = np.arange(tr["search_first"], tr["last"] + 1)
            hide_seqs = set(s_hide.tolist())
            terms_total += len(search)
            terms_hit += sum(int(s in hide_seqs) for s in seq_of[ep, search, e].tolist())
    n = len(trs) * n_epochs
    lengths_a = np.array(lengths)
    res: dict[str, Any] = {"n_steps": n_steps, "n_envs": n_envs, "batch_size": batch_size, "n_epochs": n_epochs,
                           "rollouts": n_roll, "trials": len(trs), "trial_epochs": n}
    for k, v in counts.items():
        # the interval counts each trial once (the epochs of one trial are not independent draws)
        p = v / max(n, 1)
        res[k] = {"rate": p, "ci95": list(wilson_interval(round(p * len(trs)), len(trs))) if trs else None}
    res["search_terms_reaching_hide"] = terms_hit / max(terms_total, 1)
    res["seq_len"] = {"mean": float(lengths_a.mean()), "median": float(np.median(lengths_a)),
                      "p10": float(np.percentile(lengths_a, 10)), "p90": float(np.percentile(lengths_a, 90)),
                      "max": int(lengths_a.max()), "n": len(lengths_a)}
    res["seq_from_stored_state"] = float(np.mean(stored))
    ep_len = np.array([tr["last"] - tr["first"] + 1 for tr in trs]) if trs else np.zeros(1)
    res["episode_len"] = {"mean": float(ep_len.mean()), "median": float(np.median(ep_len)),
                          "min": int(ep_len.min()), "max": int(ep_len.max())}
    return res
