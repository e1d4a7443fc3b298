"""Infant-view video made by the simulator itself, for self-supervised pre-training (:mod:`agent.pretrain`).

A *clip* is the first ``clip_len`` frames of one episode from its reset, with the action taken after each frame:

- ``battery``: a caregiver hiding event of the permanence battery (Occluder-v2, Cups-v2, OccludedTrajectory-v2,
  hidden or control condition) watched to the end, reveal included: the infant stays still (``noop``) through the
  search most of the time, else it wanders;
- ``find_toy``: the find-the-toy task with a wandering infant (mostly forward, turning after bumps);
- ``explore``: free exploration, uniformly random actions in a find-the-toy home.

Each clip draws its developmental stage (eye height, speed) and age from the config, and the home is randomized
(the env's default randomization ranges, or the config's). Training clips use seeds in ``[0, 2**30)`` and
validation clips seeds in ``[2**30, 2**31)``: both below ``2**31``, so no held-out evaluation home
(``env.seeds``) is ever watched. Only frames and actions are kept: nothing privileged (where a toy is hidden)
is stored. Clips are cached as uint8 ``.npz`` shards (``frames`` (N, T, H, W, 3), ``actions`` (N, T) int8,
``lengths`` (N,)), so a resumed or repeated run does not render them again.

With ``reveal_labels`` a clip also keeps, per frame, the label of the reveal-prediction objective
(:func:`reveal_targets`): what the infant *itself* sees when the caregiver lifts the screens / cups at the end of a
battery event (``info["reveal_seen"]``, computed by the env from the infant's own segmentation image,
:mod:`env.reveal`), given in hindsight to the frames from the hiding on. The simulator's target index is never read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.files import atomic_write
from env.reveal import NO_LABEL

SOURCES: tuple[str, ...] = ("battery", "find_toy", "explore")
"""Kinds of clip."""
BATTERY_IDS: tuple[str, ...] = ("Peekaboo/Occluder-v2", "Peekaboo/Cups-v2", "Peekaboo/OccludedTrajectory-v2")
"""Battery tasks whose hiding events are watched."""
N_ACTIONS = 6
"""Size of the infant's discrete action set (``env.body.DISCRETE_ACTIONS``)."""
TRAIN_SEEDS = (0, 2**30)
"""Seed range of training clips."""
VAL_SEEDS = (2**30, 2**31)
"""Seed range of validation clips (disjoint from training, still below the held-out range 2**31)."""
REVEAL_CLASSES = 7
"""Classes of the reveal-prediction label: 0 = no toy seen at the reveal, 1 + i = the toy seen at location i
(up to 6 locations, the most a battery task has)."""
LABELLED_PHASES = ("hide", "delay", "search", "reveal")
"""Battery phases whose frames get the reveal label (from the hiding on, as in :mod:`agent.auxiliary`)."""


@dataclass(frozen=True)
class VideoConfig:
    """What video the simulator renders for pre-training."""

    frames: int = 40_000
    """Training frames (clips × clip_len; padding after an episode's end counts)."""
    val_frames: int = 4_000
    """Held-out validation frames (other homes)."""
    clip_len: int = 96
    """Frames per clip, from the episode's reset (a crawling occluder event with its reveal is 81 frames)."""
    mix: dict[str, float] = field(default_factory=lambda: {"battery": 0.5, "find_toy": 0.3, "explore": 0.2})
    """Share of each clip source (:data:`SOURCES`)."""
    stages: tuple[str, ...] = ("lying", "crawling", "sitting", "walking")
    """Developmental stages (eye heights) drawn per clip; the battery uses crawling or walking only (it rejects
    infants that do not travel)."""
    ages: tuple[float, ...] = (7.0, 8.0, 9.0, 10.0, 11.0, 12.0)
    """Ages in months (the acuity filter) drawn per clip: the default curriculum's range."""
    still: float = 0.7
    """Share of battery clips in which the infant stays still through the search (it watches the reveal)."""
    randomization: dict[str, Any] = field(default_factory=dict)
    """Scene randomization ranges (``scenes.randomization`` names); empty: the env's own (randomized) ones."""
    shard_clips: int = 64
    """Clips per cached shard."""
    reveal_labels: bool = False
    """Also keep each frame's reveal-prediction label (:func:`reveal_targets`; from the infant's own view of the
    reveal), for the world model's reveal head (``model.reveal_weight``)."""
    empty: float = 0.0
    """Share of the occluder clips played in its ``empty`` catch condition (the caregiver hides nothing: the lifted
    screens show no toy), so that whether a toy will appear depends on what was seen before; 0 keeps older video."""

    def __post_init__(self) -> None:
        unknown = set(self.mix) - set(SOURCES)
        if unknown or not self.mix or min(self.mix.values()) < 0 or sum(self.mix.values()) <= 0:
            raise ValueError(f"data.mix={self.mix}: use non-negative shares of {list(SOURCES)}")
        if self.clip_len < 4 or self.frames < self.clip_len or self.val_frames < self.clip_len:
            raise ValueError("data.clip_len must be >= 4 and data.frames/val_frames at least one clip")
        if not self.stages or not self.ages:
            raise ValueError("data.stages and data.ages must not be empty")
        if not 0.0 <= self.empty <= 1.0:
            raise ValueError(f"data.empty={self.empty}: use a share within [0, 1]")


@dataclass
class Clips:
    """A batch of clips in memory."""

    frames: np.ndarray
    """uint8 (N, T, H, W, 3)."""
    actions: np.ndarray
    """int8 (N, T): the action taken after each frame (0 after the episode's end)."""
    lengths: np.ndarray
    """int (N,): real frames of each clip (the rest repeats the last frame)."""
    labels: np.ndarray | None = None
    """int8 (N, T) reveal-prediction label of each frame (:func:`reveal_targets`; -1: none), or None when the
    video was made without ``reveal_labels``."""

    def __len__(self) -> int:
        return len(self.frames)

    @staticmethod
    def concat(parts: list[Clips]) -> Clips:
        """All ``parts`` as one."""
        labels = None if any(p.labels is None for p in parts) else np.concatenate([p.labels for p in parts])
        return Clips(np.concatenate([p.frames for p in parts]), np.concatenate([p.actions for p in parts]),
                     np.concatenate([p.lengths for p in parts]), labels)


def reveal_targets(phases: list[str], seen: list[int], ended: bool) -> np.ndarray:
    """The reveal-prediction label of each frame of one battery clip (int8; -1: no label).

    ``phases``: each frame's public battery phase (``info["phase"]``); ``seen``: each frame's sighting
    (``info["reveal_seen"]``: the location where the infant sees the toy on a reveal step, -1 for none); ``ended``:
    the clip holds the end of the event (its last reveal). The outcome is ``1 + `` the last location seen during the
    reveal, or 0 when the infant saw no toy there (nothing hidden, looking away, a vanished toy); it labels every
    frame from the hiding on. A clip cut before its reveal ends has no label (its outcome is unknown). Only what
    the infant sees enters: the signature has no room for the simulator's target index."""
    labels = np.full(len(phases), NO_LABEL, np.int8)
    if not ended or "reveal" not in phases:
        return labels
    hits = [s for s in seen if s >= 0]
    if hits and hits[-1] + 1 >= REVEAL_CLASSES:
        raise ValueError(f"location {hits[-1]} is beyond the {REVEAL_CLASSES - 1} the reveal label holds")
    outcome = hits[-1] + 1 if hits else 0
    labels[np.isin(np.array(phases), LABELLED_PHASES)] = outcome
    return labels


def play(e: Any, seed: int, policy: Callable[[dict[str, Any]], int], t_max: int,
         labels: bool = False) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None]:
    """The first ``t_max`` frames of an episode of env ``e`` from ``seed`` under ``policy`` (info → action):
    frames (T, H, W, 3) (the last real frame repeated after the end), actions (T,), real length, and with
    ``labels`` the reveal labels (:func:`reveal_targets`; ``e`` must be made with ``reveal_label=True``)."""
    obs, info = e.reset(seed=seed)
    h, w = obs.shape[:2]
    frames = np.zeros((t_max, h, w, 3), np.uint8)
    actions = np.zeros(t_max, np.int8)
    phases, seen = [info.get("phase", "")], [int(info.get("reveal_seen", NO_LABEL))]
    n, ended = 0, False
    while True:
        frames[n] = obs
        n += 1
        if n == t_max:
            break
        a = policy(info)
        actions[n - 1] = a
        obs, _, terminated, truncated, info = e.step(a)
        phases.append(info.get("phase", ""))
        seen.append(int(info.get("reveal_seen", NO_LABEL)))
        if terminated or truncated:
            frames[n] = obs
            n += 1
            ended = bool(terminated)
            break
    frames[n:] = frames[n - 1]
    if not labels:
        return frames, actions, n, None
    if "reveal_seen" not in info:
        raise ValueError("reveal labels need an env made with reveal_label=True")
    out = np.full(t_max, NO_LABEL, np.int8)
    out[:n] = reveal_targets(phases[:n], seen[:n], ended)
    return frames, actions, n, out


class _Wander:
    """Mostly forward, a turning spell after a bump or at random (a crawling infant's random walk)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.turn_steps, self.turn = rng, 0, 2

    def __call__(self, info: dict[str, Any]) -> int:
        if "bump" in info.get("events", ()) or self.rng.random() < 0.03:
            self.turn_steps, self.turn = int(self.rng.integers(4, 16)), int(self.rng.choice([2, 3]))
        if self.turn_steps > 0:
            self.turn_steps -= 1
            return self.turn
        return 1


class ClipMaker:
    """Renders clips; keeps one env per (task, stage) and gives it a new home with each seed."""

    def __init__(self, cfg: VideoConfig, width: int, height: int) -> None:
        self.cfg, self.width, self.height = cfg, width, height
        self._envs: dict[tuple[str, str, str], Any] = {}
        self._search: dict[tuple[str, str], float] = {}

    def _env(self, key: tuple[str, str, str, float]) -> Any:
        import env as peekaboo_env
        if key not in self._envs:
            if len(self._envs) >= 8:  # few GL contexts alive; shards render grouped by key, so misses are rare
                self._envs.pop(next(iter(self._envs))).close()
            env_id, stage, condition, age = key
            kw: dict[str, Any] = {"stage": stage, "width": self.width, "height": self.height, "age_months": age}
            if self.cfg.randomization:
                kw["randomization"] = dict(self.cfg.randomization)
            if env_id in BATTERY_IDS:
                kw["condition"] = condition
                kw["search_time"] = self._search_time(env_id, stage)
                if self.cfg.reveal_labels:
                    kw["reveal_label"] = True
            self._envs[key] = peekaboo_env.make(env_id, **kw)
        return self._envs[key]

    def _search_time(self, env_id: str, stage: str) -> float:
        """The shortest search the task accepts for the stage (a still infant then sees the reveal sooner)."""
        import env as peekaboo_env
        if (env_id, stage) not in self._search:
            for s in (3.0, 4.0, 5.0, 6.0, 8.0, 12.0):
                try:
                    peekaboo_env.make(env_id, stage=stage, width=16, height=16, search_time=s).close()
                except ValueError:
                    continue
                self._search[(env_id, stage)] = s
                break
            else:
                raise ValueError(f"{env_id} has no feasible search_time for stage {stage!r}")
        return self._search[(env_id, stage)]

    def spec(self, seed: int, source: str) -> tuple[tuple[str, str, str, float], bool]:
        """The env (id, stage, condition, age) of a clip and whether its infant stays still (battery)."""
        rng = np.random.default_rng([seed, 7])
        cfg = self.cfg
        age = float(rng.choice(cfg.ages))
        if source != "battery":
            return ("Peekaboo/FindToy-v1", str(rng.choice(cfg.stages)), "", age), False
        stages = [s for s in cfg.stages if s in ("crawling", "walking")] or ["crawling"]
        env_id = str(rng.choice(BATTERY_IDS))
        control = "visible" if "Occluder" in env_id else "transparent" if "Cups" in env_id else "emerges"
        condition = "hidden" if rng.random() < 0.75 else control
        if cfg.empty > 0 and "Occluder-v" in env_id and rng.random() < cfg.empty:  # no draw when off: old video
            condition = "empty"
        return (env_id, str(rng.choice(stages)), condition, age), bool(rng.random() < cfg.still)

    def clip(self, seed: int, source: str) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None]:
        """One clip of ``source`` from the home of ``seed``: frames (T, H, W, 3), actions (T,), real length and,
        with ``reveal_labels``, the reveal labels (T,) (-1 everywhere outside battery events)."""
        rng = np.random.default_rng(seed)
        key, still = self.spec(seed, source)
        e = self._env(key)
        policy: Callable[[dict[str, Any]], int]
        if source == "battery":
            wander = _Wander(rng)
            policy = (lambda info: 0) if still else (lambda info: wander(info) if info.get("phase") == "search" else 0)
        else:
            policy = _Wander(rng) if source == "find_toy" else (lambda info: int(rng.integers(N_ACTIONS)))
        frames, actions, n, labels = play(e, seed, policy, self.cfg.clip_len,
                                          labels=self.cfg.reveal_labels and source == "battery")
        if self.cfg.reveal_labels and labels is None:
            labels = np.full(self.cfg.clip_len, NO_LABEL, np.int8)
        return frames, actions, n, labels

    def close(self) -> None:
        for e in self._envs.values():
            e.close()
        self._envs.clear()


def clip_plan(cfg: VideoConfig, n_clips: int, seed: int, split: str) -> list[tuple[int, str]]:
    """(env seed, source) of each clip of ``split`` (``train`` or ``val``); the same for the same arguments, and
    the plan of ``n`` clips is the start of the plan of more."""
    lo, hi = TRAIN_SEEDS if split == "train" else VAL_SEEDS
    split_id = 0 if split == "train" else 1
    names = [s for s in SOURCES if cfg.mix.get(s, 0) > 0]
    p = np.array([cfg.mix[s] for s in names], float)
    # two generators: the plan of n clips is the start of the plan of more (nested data sizes, agent.scaling)
    seeds = np.random.default_rng([seed, split_id]).integers(lo, hi, size=n_clips)
    kinds = np.random.default_rng([seed, split_id, 1]).choice(len(names), size=n_clips, p=p / p.sum())
    return [(int(s), names[k]) for s, k in zip(seeds, kinds)]


def save_shard(path: Path, clips: Clips) -> None:
    """Write ``clips`` as a compressed uint8 ``.npz`` (atomically)."""
    import io
    buf = io.BytesIO()
    extra = {} if clips.labels is None else {"labels": clips.labels}
    np.savez_compressed(buf, frames=clips.frames, actions=clips.actions, lengths=clips.lengths, **extra)
    atomic_write(path, buf.getvalue())


def load_shard(path: Path) -> Clips:
    """Read a shard; a damaged file is a ``ValueError`` saying to delete it."""
    try:
        with np.load(path) as z:
            return Clips(z["frames"], z["actions"], z["lengths"], z["labels"] if "labels" in z.files else None)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f"video shard {str(path)!r} is damaged ({e}); delete it and run again") from None


def build_video(cfg: VideoConfig, width: int, height: int, seed: int, folder: Path, split: str,
                progress: bool = True) -> Clips:
    """The clips of ``split``, rendered into ``folder`` as shards (shards already there are reused)."""
    frames = cfg.frames if split == "train" else cfg.val_frames
    plan = clip_plan(cfg, max(1, frames // cfg.clip_len), seed, split)
    folder.mkdir(parents=True, exist_ok=True)
    maker = ClipMaker(cfg, width, height)
    parts = []
    shards = [plan[i:i + cfg.shard_clips] for i in range(0, len(plan), cfg.shard_clips)]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(plan), desc=f"video:{split}", unit="clip", dynamic_ncols=True)
    try:
        for i, shard in enumerate(shards):
            tag = "_reveal" if cfg.reveal_labels else ""  # shards without labels are never mistaken for ones with
            path = folder / f"{split}_{width}x{height}_{seed}_{i:04d}_{len(shard)}{tag}.npz"
            if path.is_file():
                clips = load_shard(path)
            else:
                order = sorted(range(len(shard)), key=lambda j: maker.spec(*shard[j])[0])  # one env per key
                rendered = {j: maker.clip(*shard[j]) for j in order}
                rows = [rendered[j] for j in range(len(shard))]
                clips = Clips(np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]),
                              np.array([r[2] for r in rows]),
                              np.stack([r[3] for r in rows]) if cfg.reveal_labels else None)
                save_shard(path, clips)
            parts.append(clips)
            if bar is not None:
                bar.update(len(shard))
    finally:
        maker.close()
        if bar is not None:
            bar.close()
    return Clips.concat(parts)
