"""Auxiliary losses on the recurrent state (issue 12): the LSTMs are asked, at every step from the hiding on, where
the toy is, so that the memory the policy could act on is kept through the search.

Two label sources, chosen in the YAML (``agent.aux_reveal`` / ``agent.aux_privileged``, each a loss weight):

- ``reveal`` (self-supervised): at the end of each trial the caregiver lifts the screens / cups and the infant sees
  where the toy was (``info["reveal_seen"]``, computed by the env from the infant's own segmentation image,
  :mod:`env.reveal`). Every step of the trial from the hiding on is labelled, in hindsight, with that sighting:
  the label is what the infant itself sees later, never the simulator's target index.
- ``privileged`` (an upper bound only): the simulator's target index; a run that uses it says ``privileged``
  beside every number.

Labels are per trial: a trial runs from a ``show`` step to the next; its steps in ``hide`` … ``reveal`` take the
last location seen during it (no sighting: no label, -1, no loss). The loss is the cross-entropy of a linear
read-out of the actor's and of the critic's LSTM outputs (:class:`agent.recurrent.InfantLstmPolicy` ``aux_pi`` /
``aux_vf``), added to the PPO loss with its weight. Sequences come from :mod:`agent.episodes` (whole episodes),
so a trial whose reveal falls in a later rollout is labelled there, where its earlier steps are re-run as the
episode's prefix.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from env.reveal import NO_LABEL

AUX_CLASSES = 6
"""Outputs of each auxiliary head: the most choice locations a battery task has."""
PHASE_CODES: dict[str, int] = {"show": 0, "hide": 1, "delay": 2, "search": 3, "reveal": 4}
"""Battery phases as small ints in the rollout buffer (-1: not a battery step)."""
LABELLED = (1, 2, 3, 4)
"""Phase codes whose steps are labelled: from the hiding on."""
SOURCES = ("reveal", "privileged")


def phase_code(info: dict[str, Any]) -> int:
    """The public phase of a step's info as a code (-1 for tasks without phases)."""
    return PHASE_CODES.get(info.get("phase", ""), -1)


def sighting(info: dict[str, Any], source: str) -> int:
    """The location this step's info reveals, per label ``source``; -1 for none.

    ``reveal`` reads only ``info["reveal_seen"]`` (the infant's own view); ``privileged`` reads the simulator's
    target index during a trial's labelled phases."""
    if source == "reveal":
        return int(info.get("reveal_seen", NO_LABEL))
    if source == "privileged":
        block = info.get("privileged") or {}
        return int(block.get("target_index", NO_LABEL)) if phase_code(info) in LABELLED else NO_LABEL
    raise ValueError(f"unknown aux label source {source!r}; choose one of {SOURCES}")


def trial_labels(phases: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Per step of one sequence that starts at an episode start: the label of its trial (see the module docstring).

    ``phases``: each observation's phase code; ``seen``: the sighting of the step taken from it (-1: none)."""
    labels = np.full(len(phases), NO_LABEL, np.int64)
    show = phases == PHASE_CODES["show"]
    starts = np.flatnonzero(show & ~np.concatenate([[False], show[:-1]]))
    bounds = sorted({0, *starts.tolist(), len(phases)})
    for a, b in pairwise(bounds):
        hits = seen[a:b][seen[a:b] >= 0]
        if len(hits):
            part = labels[a:b]
            part[np.isin(phases[a:b], LABELLED)] = hits[-1]
    return labels


def train_with_aux(algo: Any, weight: float) -> None:
    """One PPO update of a :class:`agent.episodes.EpisodeRecurrentPPO` with the auxiliary loss added.

    sb3-contrib's ``RecurrentPPO.train`` (v2.9; pinned by tests/test_sb3_internals.py) with the policy's
    ``evaluate_actions_aux`` in place of ``evaluate_actions`` and ``weight`` × the heads' cross-entropy on the
    labelled steps of each minibatch (loss terms masked as the PPO terms are not: a prefix step is labelled too)."""
    policy = algo.policy
    policy.set_training_mode(True)
    algo._update_learning_rate(policy.optimizer)
    clip_range = algo.clip_range(algo._current_progress_remaining)
    logs: dict[str, list[float]] = {k: [] for k in ("entropy", "pg", "value", "clip", "kl", "aux", "aux_acc",
                                                    "aux_vf_acc", "labelled")}
    loss = th.zeros(())
    continue_training = True
    for _ in range(algo.n_epochs):
        for data in algo.rollout_buffer.get(algo.batch_size):
            actions = data.actions.long().flatten() if isinstance(algo.action_space, spaces.Discrete) \
                else data.actions
            mask = data.mask > 1e-8
            values, log_prob, entropy, logits_pi, logits_vf = policy.evaluate_actions_aux(
                data.observations, actions, data.lstm_states, data.episode_starts)
            values = values.flatten()
            adv = data.advantages
            if algo.normalize_advantage and int(mask.sum()) > 1:
                adv = (adv - adv[mask].mean()) / (adv[mask].std() + 1e-8)
            ratio = th.exp(log_prob - data.old_log_prob)
            policy_loss = -th.mean(th.min(adv * ratio, adv * th.clamp(ratio, 1 - clip_range, 1 + clip_range))[mask])
            value_loss = th.mean(((data.returns - values) ** 2)[mask])
            entropy_loss = -th.mean(entropy[mask])
            loss = policy_loss + algo.ent_coef * entropy_loss + algo.vf_coef * value_loss
            labelled = data.aux_labels >= 0
            if th.any(labelled):
                y = data.aux_labels[labelled]
                aux_loss = F.cross_entropy(logits_pi[labelled], y) + F.cross_entropy(logits_vf[labelled], y)
                loss = loss + weight * aux_loss
                logs["aux"].append(aux_loss.item())
                logs["aux_acc"].append((logits_pi[labelled].argmax(1) == y).float().mean().item())
                logs["aux_vf_acc"].append((logits_vf[labelled].argmax(1) == y).float().mean().item())
            logs["labelled"].append(labelled.float().mean().item())
            logs["pg"].append(policy_loss.item())
            logs["value"].append(value_loss.item())
            logs["entropy"].append(entropy_loss.item())
            logs["clip"].append(th.mean((th.abs(ratio - 1) > clip_range).float()[mask]).item())
            with th.no_grad():
                log_ratio = log_prob - data.old_log_prob
                kl = th.mean(((th.exp(log_ratio) - 1) - log_ratio)[mask]).item()
            logs["kl"].append(kl)
            if algo.target_kl is not None and kl > 1.5 * algo.target_kl:
                continue_training = False
                break
            policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), algo.max_grad_norm)
            policy.optimizer.step()
        algo._n_updates += 1
        if not continue_training:
            break
    buf = algo.rollout_buffer
    record = algo.logger.record
    for key, name in (("entropy", "train/entropy_loss"), ("pg", "train/policy_gradient_loss"),
                      ("value", "train/value_loss"), ("kl", "train/approx_kl"), ("clip", "train/clip_fraction"),
                      ("aux", "aux/loss"), ("aux_acc", "aux/accuracy_actor"), ("aux_vf_acc", "aux/accuracy_critic"),
                      ("labelled", "aux/labelled_fraction")):
        if logs[key]:
            record(name, float(np.mean(logs[key])))
    record("train/loss", loss.item())
    record("train/explained_variance", explained_variance(buf.values.flatten(), buf.returns.flatten()))
    record("train/n_updates", algo._n_updates, exclude="tensorboard")
    record("train/clip_range", clip_range)
