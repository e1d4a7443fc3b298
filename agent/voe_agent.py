"""A trained permanence agent read as a violation-of-expectation model (``python -m tools.voe --agent PATH``).

The agents of ``curriculum/permanence.yaml`` learn a self-supervised reveal-prediction head on their actor's LSTM
(``aux_pi``, :mod:`agent.auxiliary`): from the hiding on it predicts where the caregiver's reveal will show the
toy, a label taken from what the infant itself saw at earlier reveals. Its prediction just before the reveal is an
expectation, so ``-log p(outcome seen)`` is a reveal surprise in the same units as the world model's
(:func:`agent.voe.reveal_surprise`). The head knows only locations (it was never trained on a reveal without the
toy), so it scores where the toy reappears (:data:`agent.voe.LOCATION_PROBES`), not whether it does (``tools.voe
--agent`` refuses the vanish probes).

The three models of :mod:`tools.voe` map as: ``trained`` the agent; ``untrained`` the same architecture with fresh
weights (its head zeroed: it expects nothing, or PyTorch's random init); ``feedforward`` the trained agent with
its memory wiped at every frame (the LSTM sees one frame at a time).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch as th


class AgentReveal:
    """The reveal head of a recurrent agent as :func:`agent.voe.reveal_surprise` reads a world model's."""

    reveal = True

    def __init__(self, policy: Any, width: int, height: int) -> None:
        if getattr(policy, "aux_classes", 0) <= 0:
            raise ValueError("this agent has no reveal-prediction head (agent.aux_reveal was 0 when it trained): "
                             "VoE probes of an agent need one; use a permanence agent, e.g. "
                             "models/permanence-baseline, or a world model with --model")
        self.policy = policy.eval()
        self.spec = {"width": width, "height": height}

    @classmethod
    def load(cls, path: str | Path) -> tuple[AgentReveal, dict[str, Any]]:
        """The agent of ``path`` (a model.zip or a folder holding one) and what to report about it."""
        from agent.checkpoint import CheckpointError, checkpoint_path, load_checkpoint

        zip_path = checkpoint_path(path)
        try:
            model = load_checkpoint(zip_path)
        except CheckpointError as e:
            raise ValueError(str(e)) from None
        if not hasattr(model.policy, "lstm_hidden_state_shape"):
            raise ValueError(f"{str(path)!r} is a feed-forward policy: VoE probes of an agent need its recurrent "
                             "memory and reveal head (a RecurrentPPO permanence agent)")
        shape = model.observation_space.shape
        h, w = (shape[1], shape[2]) if shape[0] in (1, 3) else (shape[0], shape[1])
        meta = {"kind": "agent", "path": str(zip_path), "aux_classes": model.policy.aux_classes,
                "memory_half_life_s": getattr(model, "memory_half_life_s", None)}
        return cls(model.policy, w, h), meta

    def untrained(self, seed: int, head: str = "uniform") -> AgentReveal:
        """The same architecture with fresh weights (``seed``); ``head``: ``uniform`` zeroes the reveal head's last
        layer (it expects nothing), ``random`` keeps PyTorch's initial weights."""
        with th.random.fork_rng():
            th.manual_seed(seed)
            fresh = type(self.policy)(**self.policy._get_constructor_parameters())
        if head == "uniform":
            with th.no_grad():
                fresh.aux_pi.weight.zero_()
                fresh.aux_pi.bias.zero_()
        return AgentReveal(fresh, self.spec["width"], self.spec["height"])

    def reveal_logprobs(self, frames: th.Tensor, actions: th.Tensor, recurrent: bool = True) -> th.Tensor:
        """``(B, T, 1 + C)`` log-probabilities of what the reveal shows after each frame of ``frames`` (uint8
        ``(B, T, H, W, 3)``, from an episode's first frame): class 0 "no toy" is NaN (the head has no such class),
        class ``1 + i`` the toy at location ``i``. ``recurrent=False`` wipes the memory at every frame. ``actions``
        is unused: the head reads frames only (the still infant of the probes)."""
        del actions
        p = self.policy
        b, t = frames.shape[:2]
        out = th.full((b, t, 1 + p.aux_classes), math.nan)
        layers, _, hidden = p.lstm_hidden_state_shape
        with th.no_grad():
            for i in range(b):
                obs = p.obs_to_tensor(np.asarray(frames[i]))[0]  # (T, C, H, W) as the policy was trained on
                features = p.extract_features(obs).unsqueeze(1)  # (T, 1, F): one sequence
                if recurrent:
                    z = th.zeros((layers, 1, hidden))
                    lstm_out, _ = p.lstm_actor(features, (z, z.clone()))
                else:  # every frame from zero states: no memory of the frames before
                    z = th.zeros((layers, t, hidden))
                    lstm_out, _ = p.lstm_actor(features.transpose(0, 1), (z, z.clone()))
                    lstm_out = lstm_out.transpose(0, 1)
                out[i, :, 1:] = th.log_softmax(p.aux_pi(lstm_out[:, 0]), dim=-1)
        return out


def reveal_surprise_curves(model: AgentReveal, pair: Any) -> tuple[np.ndarray, np.ndarray]:
    """-log p(each event's own outcome) after every frame of that event (NaN where the outcome is unknown or the
    head has no class for it): the expectation the agent carries, frame by frame, for the video."""
    curves = []
    for frames, outcome in ((pair.possible, pair.outcomes[0]), (pair.impossible, pair.outcomes[1])):
        logp = model.reveal_logprobs(th.from_numpy(frames[None]), th.zeros((1, len(frames)), dtype=th.long))[0]
        curves.append(-logp[:, outcome].numpy() if outcome >= 0 else np.full(len(frames), math.nan))
    return curves[0], curves[1]
