"""Violation-of-expectation probes: paired possible / impossible events and the world model's surprise at them.

Each probe is a battery task played twice from the same held-out seed with a still infant (it only watches): once
as it is (possible), once with the caregiver staging an impossible event at the critical moment (the task option
``violation``, :data:`env.tasks.permanence.VIOLATIONS`). Every frame before the critical moment is the same in
both, so any difference in surprise comes from what happens after it. The *critical frame* of a pair is the first
frame that differs. Surprise (:meth:`agent.world_model.WorldModel.surprise`) is averaged over ``window`` frames
from it; the looking-time proxy counts the frames of the 20 from it whose surprise is above the pre-critical baseline
(mean + 2 sd of the ``window`` frames before the critical frame).

A world model with a reveal head (:meth:`agent.world_model.WorldModel.reveal_logprobs`) is also scored by its
*reveal surprise*: -log p(outcome seen), the probability it gave, after the last frame the two events share (the
frame before the critical one), to what the infant then sees at the reveal (no toy, or the toy at location i; from
the infant's own view, :mod:`env.reveal`). Both events share that prediction, so the paired difference is how much
more the model expected the possible outcome than the impossible one.
"""

from __future__ import annotations

import math
from itertools import pairwise
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

PROBES: dict[str, dict[str, Any]] = {
    "occluder_vanish": {"env_id": "Peekaboo/Occluder-v2", "violation": "vanish", "memory": True,
                        "what": "the toy is gone when its screen is lifted"},
    "occluder_swap": {"env_id": "Peekaboo/Occluder-v2", "violation": "swap", "memory": True,
                      "what": "the toy is revealed behind the other (next) screen"},
    "cups_vanish": {"env_id": "Peekaboo/Cups-v2", "violation": "vanish", "memory": True,
                    "what": "the cups are lifted and the toy is not under its cup"},
    "cups_swap": {"env_id": "Peekaboo/Cups-v2", "violation": "swap", "memory": True,
                  "what": "the cups are lifted and the toy is under the next cup, not its own"},
    "occluder_pass_through": {"env_id": "Peekaboo/Occluder-v2", "violation": "pass_through", "memory": False,
                              "what": "the hand slides the toy through the solid screen instead of over it"},
}
"""Probe name → task, violation, whether it needs memory (the toy is out of sight at the critical moment), text."""
LOCATION_PROBES = tuple(p for p, spec in PROBES.items() if spec["violation"] == "swap")
"""Probes whose two outcomes are both a location (the toy reappears, elsewhere): what a head that predicts only
where the toy is (a permanence agent's, :mod:`agent.voe_agent`) can score."""

SEARCH_TIME = {"Peekaboo/Occluder-v2": 5.0, "Peekaboo/Cups-v2": 4.0}
"""The shortest search the crawling stage accepts (the still infant waits through it before the reveal)."""


@dataclass
class Pair:
    """One probe played as possible and impossible event from one seed."""

    probe: str
    """Probe name (:data:`PROBES`)."""
    seed: int
    """Env seed (held-out range)."""
    possible: np.ndarray
    """uint8 (T, H, W, 3) frames of the possible event."""
    impossible: np.ndarray
    """uint8 (T, H, W, 3) frames of the impossible event."""
    phases: list[str]
    """Battery phase of each frame."""
    critical: int
    """First frame that differs between the two (len(frames) if none does)."""
    outcomes: tuple[int, int] = (-1, -1)
    """What the infant sees at the reveal of the possible and of the impossible event, as the reveal head's class
    (:func:`agent.video.reveal_targets`: 0 no toy, 1 + i the toy at location i; -1 unknown)."""


def render_pair(probe: str, seed: int, width: int, height: int, reveal_time: float = 2.0) -> Pair:
    """Play ``probe`` from ``seed`` both ways with a still infant (action 0 every step)."""
    import env as peekaboo_env
    from agent.video import reveal_targets
    spec = PROBES[probe]
    kw = {"stage": "crawling", "age_months": 9.0, "width": width, "height": height, "condition": "hidden",
          "search_time": SEARCH_TIME[spec["env_id"]], "reveal_time": reveal_time, "reveal_label": True}
    runs = []
    for violation in ("none", spec["violation"]):
        e = peekaboo_env.make(spec["env_id"], violation=violation, **kw)
        obs, info = e.reset(seed=seed)
        frames, phases, seen = [obs], [info["phase"]], [info["reveal_seen"]]
        done = terminated = False
        while not done:
            obs, _, terminated, truncated, info = e.step(0)
            frames.append(obs)
            phases.append(info["phase"])
            seen.append(info["reveal_seen"])
            done = terminated or truncated
        e.close()
        labels = reveal_targets(phases, seen, bool(terminated))  # the infant's own view of the reveal
        runs.append((np.stack(frames), phases, int(labels.max())))
    (a, phases, oa), (b, _, ob) = runs
    n = min(len(a), len(b))
    differs = np.flatnonzero((a[:n] != b[:n]).reshape(n, -1).any(1))
    return Pair(probe, seed, a[:n], b[:n], phases[:n], int(differs[0]) if len(differs) else n, (oa, ob))


def surprise_curves(model: Any, pair: Pair, recurrent: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame surprise of ``model`` (:class:`agent.world_model.WorldModel`) on the possible and impossible
    event (the still infant's actions are all 0)."""
    frames = torch.from_numpy(np.stack([pair.possible, pair.impossible]))
    actions = torch.zeros(frames.shape[:2], dtype=torch.long)
    s = model.surprise(frames, actions, recurrent=recurrent).numpy()
    return s[0], s[1]


def reveal_surprise(model: Any, pair: Pair, recurrent: bool = True) -> tuple[float, float]:
    """-log p(outcome seen) of the possible and the impossible event, as predicted by ``model``'s reveal head after
    the frame before the critical one (the last the events share); NaN for an event whose outcome is unknown."""
    frames = torch.from_numpy(pair.possible[None])
    logp = model.reveal_logprobs(frames, torch.zeros(frames.shape[:2], dtype=torch.long), recurrent=recurrent)
    row = logp[0, max(0, pair.critical - 1)].numpy()
    return tuple(float(-row[o]) if o >= 0 else math.nan for o in pair.outcomes)  # type: ignore[return-value]


def score(curve: np.ndarray, critical: int, window: int, look_span: int = 20) -> tuple[float, int]:
    """(mean surprise over ``window`` frames from ``critical``, looking-time proxy): the proxy counts the frames of
    the ``look_span`` from ``critical`` whose surprise is above the pre-critical baseline (mean + 2 sd of the
    ``window`` frames before it, when both events are still the same)."""
    post = curve[critical:critical + window]
    pre = curve[max(1, critical - window):critical]
    base = pre.mean() + 2 * pre.std() if len(pre) else 0.0
    look = int((curve[critical:critical + look_span] > base).sum())
    return float(post.mean()) if len(post) else 0.0, look


def sign_test(diffs: np.ndarray) -> float:
    """Two-sided exact sign test of median 0 (zeros dropped)."""
    pos, neg = int((diffs > 0).sum()), int((diffs < 0).sum())
    n = pos + neg
    if n == 0:
        return 1.0
    k = min(pos, neg)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * p)


def paired_summary(diffs: np.ndarray, seed: int = 0, n_boot: int = 2000) -> dict[str, Any]:
    """Mean paired difference with a 95% bootstrap interval, the sign test, and the counts."""
    diffs = np.asarray(diffs, float)
    rng = np.random.default_rng(seed)
    boots = rng.choice(diffs, size=(n_boot, len(diffs))).mean(1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"mean": float(diffs.mean()), "ci95": [float(lo), float(hi)], "n": len(diffs),
            "positive": int((diffs > 0).sum()), "negative": int((diffs < 0).sum()), "sign_p": sign_test(diffs)}


def toy_separation(encoder: Any, pairs: list[Pair], window: int = 10) -> dict[str, np.ndarray]:
    """How much of an encoder's latent the toy is: per pair, the distance (1 − cosine) between the latents of
    the possible and the impossible frame, averaged over ``window`` frames from the critical frame (the events
    differ there only by the toy), and per consecutive two pairs the distance between two homes at their critical
    frames; the same for pixels (share that differ). A world model can only be surprised by what its encoder
    tells apart: if the toy moves the latent far less than its share of the pixels would, the encoder ignores it.
    ``encoder`` maps float (N, 3, H, W) images in [0, 1] to latents (:func:`agent.encoder.build_encoder`)."""
    def latents(frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(frames).float().div(255).permute(0, 3, 1, 2)
        with torch.no_grad():
            return encoder(x)

    def dist(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
        return (1 - torch.nn.functional.cosine_similarity(a, b, dim=-1)).numpy()

    latent_pair, pixel_pair, at_critical = [], [], []
    for p in pairs:
        c = min(p.critical, len(p.possible) - 1)
        a, b = p.possible[c:c + window], p.impossible[c:c + window]
        za, zb = latents(a), latents(b)
        latent_pair.append(float(dist(za, zb).mean()))
        pixel_pair.append(float((a != b).any(-1).mean()))
        at_critical.append((p.possible[c], za[0]))
    homes = list(pairwise(at_critical))
    return {"latent_pair": np.array(latent_pair), "pixel_pair": np.array(pixel_pair),
            "latent_homes": np.array([float(dist(za, zb)) for (_, za), (_, zb) in homes]),
            "pixel_homes": np.array([float((fa != fb).any(-1).mean()) for (fa, _), (fb, _) in homes])}
