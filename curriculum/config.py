"""Typed curriculum configuration. YAML/TOML files map onto these dataclasses; unknown keys are an error.

:func:`load_curriculum` also checks every stage's env ids and env options against the registered tasks
(:func:`check_curriculum_envs`), so a typo in the last stage is an error before the first one trains.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, NamedTuple

TRANSFER_MODES = ("finetune", "freeze", "freeze-then-unfreeze", "scratch", "policy")
"""How a stage starts its encoder: finetune (load previous, train all), freeze (load, never update),
freeze-then-unfreeze (load, frozen for the first ``unfreeze_after`` of the budget), scratch (fresh weights),
policy (the previous stage's *whole* policy: encoder, LSTMs, heads; the action space is shared)."""


_SET_ELSEWHERE = ("stage", "age_months", "randomization", "width", "height", "backend")
"""``gym.make`` options a stage sets through its own fields (never in ``env_kwargs`` or a variant)."""


class StageEnv(NamedTuple):
    """One kind of training env of a stage: a label for reports, its gymnasium id and ``gym.make`` options."""

    label: str
    env_id: str
    kwargs: dict[str, Any]


class ConfigError(ValueError):
    """A curriculum file that does not map onto the dataclasses; the message names the offending key."""


@dataclass(frozen=True)
class GraduationConfig:
    """When a stage is passed: success rate on held-out evaluation episodes."""

    threshold: float = 0.8
    """Success rate (``info['is_success']`` at episode end) needed to graduate, in [0, 1]."""
    episodes: int = 20
    """Held-out evaluation episodes per evaluation (seeds disjoint from training, see ``agent.seeds``). They are
    the first episodes of ``tools.evaluate --seed 0``: a result meant to be untouched by graduation (a stage that
    stops when it passes) is measured on another ``--seed``."""
    eval_every: int = 10_000
    """Env steps between evaluations."""
    deterministic: bool = False
    """Evaluate the greedy (argmax) action instead of sampling from the policy."""
    min_steps: int = 0
    """Never graduate before this many env steps of the stage."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"graduation.threshold={self.threshold}: must be within [0, 1], e.g. 0.8")
        if self.episodes < 1 or self.eval_every < 1:
            raise ConfigError("graduation.episodes and graduation.eval_every must be >= 1")


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters (stable-baselines3 names)."""

    n_steps: int = 128
    """Rollout length per env."""
    batch_size: int = 256
    """Minibatch size."""
    n_epochs: int = 4
    """Optimisation epochs per rollout."""
    learning_rate: float = 2.5e-4
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """PPO clip range."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Gradient clipping norm."""


def _check_half_life(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}={value!r}: a half-life in seconds > 0, or leave it out for a perfect memory")


@dataclass(frozen=True)
class AgentConfig:
    """The learner, shared by every stage (the encoder's shape must not change between stages)."""

    encoder: str = "fast"
    """Encoder architecture by name, see ``agent.encoder.ENCODERS`` (fast: >= 20 px, cheapest to train; small:
    >= 16 px; nature: >= 36 px)."""
    features_dim: int = 256
    """Width of the encoder's output."""
    recurrent: bool = False
    """Use sb3-contrib RecurrentPPO (CNN + LSTM) instead of PPO: permanence needs memory."""
    lstm_hidden_size: int = 128
    """LSTM width when ``recurrent``."""
    sequences: Literal["sb3", "episode"] = "sb3"
    """Gradient sequences of a recurrent learner: ``sb3`` (sb3-contrib: slices of the rollout cut at episode
    starts, each from a stored state without gradient) or ``episode`` (every loss term's sequence runs from its
    episode's first step, the part seen in earlier rollouts included: :mod:`agent.episodes`)."""
    mask_frozen: bool = False
    """With ``sequences: episode``: leave the steps where the infant is held still (a battery trial's show,
    hide and delay; its actions there do nothing) out of the PPO losses; they stay in the LSTM's sequences."""
    frame_stack: int = 1
    """Stack this many frames (the cheap alternative to recurrence); 1 = off."""
    init_encoder: str | None = None
    """Optional encoder checkpoint (``encoder.pt``) the first stage starts from."""
    privileged: bool = False
    """Upper bound only: give the agent the hidden location (a one-hot beside the image, read from the
    simulator; :mod:`agent.privileged`). Every output of such a run says ``privileged``; never for a claim about
    memory or learning from experience."""
    aux_reveal: float = 0.0
    """Weight of the *reveal-prediction* loss (self-supervised; needs ``sequences: episode``): from the hiding on,
    the actor's and critic's LSTM states predict where the infant will see the toy when the caregiver reveals
    it (:mod:`agent.auxiliary`; the envs get ``reveal_label``). Set the battery stages' ``reveal_view: display``
    so that every trial is labelled, not only those the infant chose right. 0 = off."""
    aux_privileged: float = 0.0
    """Upper bound only: weight of the same loss with the simulator's target index as the label. Every output
    of such a run says ``privileged``. 0 = off."""
    memory_half_life_s: float | None = None
    """An infant memory that fades (needs ``sequences: episode``): at every control step each env's LSTM states
    are wiped with the chance that gives this half-life, in training rollouts, in their gradient sequences and at
    evaluation (:mod:`agent.memory`). None = a perfect memory. A stage may set its own (``StageConfig``)."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    """PPO hyper-parameters."""

    @property
    def uses_privileged(self) -> bool:
        """Whether any simulator-only state (the hidden location) reaches the learner: outputs must say so."""
        return self.privileged or self.aux_privileged > 0

    @property
    def aux(self) -> tuple[float, str]:
        """(weight, label source) of the auxiliary loss; weight 0 = off."""
        return (self.aux_privileged, "privileged") if self.aux_privileged > 0 else (self.aux_reveal, "reveal")

    def __post_init__(self) -> None:
        if self.frame_stack < 1:
            raise ConfigError(f"agent.frame_stack={self.frame_stack}: must be >= 1")
        if self.recurrent and self.frame_stack > 1:
            raise ConfigError("agent.recurrent and agent.frame_stack > 1 are alternatives; choose one")
        if self.sequences not in ("sb3", "episode"):
            raise ConfigError(f"agent.sequences={self.sequences!r}: use 'sb3' or 'episode'")
        if self.sequences == "episode" and not self.recurrent:
            raise ConfigError("agent.sequences='episode' is for a recurrent learner; set agent.recurrent: true")
        for name in ("aux_reveal", "aux_privileged"):
            if getattr(self, name) < 0:
                raise ConfigError(f"agent.{name}={getattr(self, name)}: a loss weight must be >= 0")
            if getattr(self, name) > 0 and self.sequences != "episode":
                raise ConfigError(f"agent.{name} needs agent.sequences: episode (a trial's label is known only "
                                  "at its reveal, so its steps are trained from the episode's start)")
        if self.aux_reveal > 0 and self.aux_privileged > 0:
            raise ConfigError("agent.aux_reveal and agent.aux_privileged are alternatives; set one to 0")
        if self.mask_frozen and self.sequences != "episode":
            raise ConfigError("agent.mask_frozen needs agent.sequences: episode")
        if self.memory_half_life_s is not None:
            _check_half_life(self.memory_half_life_s, "agent.memory_half_life_s")
            if self.sequences != "episode":
                raise ConfigError("agent.memory_half_life_s needs agent.sequences: episode (its gradient sequences "
                                  "restart where a memory lapses)")
        if self.privileged and self.frame_stack > 1:
            raise ConfigError("agent.privileged needs no frame stack (the location is given every step); "
                              "set agent.frame_stack: 1")


@dataclass(frozen=True)
class StageConfig:
    """One curriculum stage: what the infant does, at what age, for how long, and when it has learned it."""

    name: str
    """Short unique name (used for folders and logs)."""
    env_ids: tuple[str, ...]
    """Gymnasium ids trained on (envs are split round-robin); checked when the stage starts."""
    stage: str = "crawling"
    """Developmental stage: lying, crawling, sitting or walking (the env's ``stage=`` option; in code a
    :class:`env.development.Posture`, not to be confused with this curriculum stage)."""
    age_months: float | None = None
    """Age for the acuity filter (default: the developmental stage's typical age)."""
    randomization: dict[str, Any] = field(default_factory=dict)
    """Scene randomization ranges (``scenes.randomization.SceneRandomization`` names)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Further ``gym.make`` options, e.g. task options such as ``reach_distance`` or ``max_steps``."""
    budget: int = 100_000
    """Most env steps spent in this stage."""
    graduation: GraduationConfig = field(default_factory=GraduationConfig)
    """When the stage is passed."""
    transfer: Literal["finetune", "freeze", "freeze-then-unfreeze", "scratch", "policy"] = "finetune"
    """How the stage's encoder starts from the previous stage's (ignored for the first stage unless
    ``agent.init_encoder`` is set)."""
    unfreeze_after: float = 0.5
    """For freeze-then-unfreeze: fraction of ``budget`` spent with the encoder frozen."""
    rehearsal: float = 0.0
    """Share of the training envs that replay the earlier stages (their env ids and options, round-robin), so
    that earlier skills are kept; graduation is evaluated on this stage's envs only. 0 = off."""
    variants: tuple[dict[str, Any], ...] = ()
    """Conditions mixed within the stage: each entry is options laid over ``env_kwargs`` (task options such as
    ``condition`` or ``n_screens``), with ``env_id`` naming one of ``env_ids`` (needed when there are several)
    and an optional ``name`` for reports. The stage's envs cycle over the entries (list one twice to weight it)
    and its graduation evaluation splits its episodes over the distinct ones. Empty: each id with ``env_kwargs``."""
    ppo: dict[str, Any] = field(default_factory=dict)
    """This stage's PPO hyper-parameters that differ from ``agent.ppo`` (``PPOConfig`` names), e.g. a lower
    ``ent_coef`` in a last stage so that greedy actions act as the sampled ones do."""
    memory_half_life_s: float | None = None
    """This stage's infant memory half-life in seconds (overrides ``agent.memory_half_life_s``; see there);
    None: the agent's."""
    encoder: str | None = None
    """Start this stage's encoder from this file instead of the previous stage's: an ``encoder.pt``, or a folder
    holding one (a ``python -m agent.pretrain`` run, ``models/world-model``); ``transfer`` still says whether it
    is frozen or fine-tuned (``scratch`` ignores it; ``policy`` cannot use it)."""

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ConfigError(f"stage name {self.name!r}: must be non-empty and contain no '/'")
        if not self.env_ids:
            raise ConfigError(f"stage {self.name!r}: env_ids must name at least one env id")
        if self.transfer not in TRANSFER_MODES:
            raise ConfigError(f"stage {self.name!r}: transfer={self.transfer!r}; choose one of {TRANSFER_MODES}")
        if self.budget < 1:
            raise ConfigError(f"stage {self.name!r}: budget must be >= 1 env step")
        if not 0.0 <= self.unfreeze_after <= 1.0:
            raise ConfigError(f"stage {self.name!r}: unfreeze_after must be within [0, 1]")
        if not 0.0 <= self.rehearsal < 1.0:
            raise ConfigError(f"stage {self.name!r}: rehearsal={self.rehearsal} must be within [0, 1)")
        if self.encoder is not None and not self.encoder:
            raise ConfigError(f"stage {self.name!r}: encoder must be a path to an encoder.pt or a folder holding one")
        if self.encoder is not None and self.transfer == "policy":
            raise ConfigError(f"stage {self.name!r}: transfer: policy carries the previous stage's whole policy and "
                              "cannot start from an encoder file; use finetune, freeze or freeze-then-unfreeze")
        for key in _SET_ELSEWHERE:
            if key in self.env_kwargs:
                raise ConfigError(f"stage {self.name!r}: env_kwargs.{key} is set elsewhere (stage field or "
                                  f"curriculum width/height/backend); move it out of env_kwargs")
        self._check_variants()
        if self.memory_half_life_s is not None:
            _check_half_life(self.memory_half_life_s, f"stage {self.name!r}: memory_half_life_s")
            if "control_dt" in self.env_kwargs or any("control_dt" in v for v in self.variants):
                raise ConfigError(f"stage {self.name!r}: memory_half_life_s assumes the default control_dt; leave "
                                  "control_dt out of env_kwargs and variants")
        known = {f.name for f in fields(PPOConfig)}
        for key, value in self.ppo.items():
            if key not in known:
                raise ConfigError(f"stage {self.name!r}: ppo.{key} is no PPO setting; choose from {sorted(known)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"stage {self.name!r}: ppo.{key}={value!r} must be a number")

    def _check_variants(self) -> None:
        named: dict[str, dict[str, Any]] = {}
        for i, v in enumerate(self.variants):
            where = f"stage {self.name!r}: variants[{i}]"
            if not isinstance(v, dict):
                raise ConfigError(f"{where} must be a mapping of options, e.g. {{condition: visible}}")
            env_id = v.get("env_id")
            if env_id is None and len(self.env_ids) > 1:
                raise ConfigError(f"{where} needs env_id: the stage has several env ids {list(self.env_ids)}")
            if env_id is not None and env_id not in self.env_ids:
                raise ConfigError(f"{where}: env_id {env_id!r} is not one of the stage's env_ids "
                                  f"{list(self.env_ids)}; add it there")
            if not isinstance(v.get("name", ""), str):
                raise ConfigError(f"{where}: name must be a string")
            for key in _SET_ELSEWHERE:
                if key in v:
                    raise ConfigError(f"{where}: {key} is set by a stage field or the curriculum, not per variant")
            name = v.get("name")
            if name and named.setdefault(name, v) != v:  # a repeated name must be a repeat
                raise ConfigError(f"{where}: name {name!r} is used by a variant with other options; a name "
                                  "may repeat only to weight the same variant")

    def make_kwargs(self, width: int, height: int, backend: str) -> dict[str, Any]:
        """Keyword arguments for ``gym.make`` (one env of this stage)."""
        kw: dict[str, Any] = {"stage": self.stage, "width": width, "height": height, "backend": backend,
                              "randomization": dict(self.randomization), **self.env_kwargs}
        if self.age_months is not None:
            kw["age_months"] = self.age_months
        return kw

    def envs(self, width: int, height: int, backend: str) -> list[StageEnv]:
        """The stage's kinds of training env: each id with ``env_kwargs``, or each of :attr:`variants` (ids
        resolved against the registry)."""
        base = self.make_kwargs(width, height, backend)
        ids = check_stage_env_ids(self)
        if not self.variants:
            return [StageEnv(i, i, base) for i in ids]
        resolved = dict(zip(self.env_ids, ids))
        out = []
        for v in self.variants:
            opts = {k: x for k, x in v.items() if k not in ("env_id", "name")}
            env_id = resolved[v.get("env_id", self.env_ids[0])]
            label = v.get("name") or env_id + ":" + ",".join(f"{k}={x}" for k, x in sorted(opts.items()))
            out.append(StageEnv(label, env_id, {**base, **opts}))
        return out

    def agent_for(self, agent: AgentConfig) -> AgentConfig:
        """``agent`` with this stage's :attr:`ppo` settings and memory half-life."""
        if self.ppo:
            agent = dataclasses.replace(agent, ppo=dataclasses.replace(agent.ppo, **self.ppo))
        if self.memory_half_life_s is not None:
            agent = dataclasses.replace(agent, memory_half_life_s=self.memory_half_life_s)
        return agent

    def encoder_file(self) -> str | None:
        """The encoder file of :attr:`encoder` (``PATH/encoder.pt`` when it names a folder), or None."""
        if self.encoder is None:
            return None
        p = Path(self.encoder)
        return str(p / "encoder.pt") if p.is_dir() else str(p)


@dataclass(frozen=True)
class CurriculumConfig:
    """A whole curriculum: a learner and its ordered stages."""

    name: str
    """Curriculum name."""
    stages: tuple[StageConfig, ...]
    """Stages in developmental order."""
    width: int = 64
    """Observation width (shared by every stage: the encoder is shared)."""
    height: int = 64
    """Observation height."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """The learner."""
    checkpoint_every: int = 10_000
    """Env steps between checkpoints (``--resume`` loses at most this many)."""
    seed: int = 0
    """Seed of the learner and of the training envs."""
    on_fail: Literal["continue", "stop"] = "continue"
    """When a stage spends its budget without graduating: go on to the next stage, or stop the run."""

    def __post_init__(self) -> None:
        names = [s.name for s in self.stages]
        if self.stages and self.stages[0].rehearsal > 0:
            raise ConfigError(f"stage {names[0]!r}: rehearsal needs earlier stages to replay; the first stage has "
                              "none (set rehearsal: 0)")
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"stage names must be unique; repeated: {sorted(dup)}")
        if not self.stages:
            raise ConfigError("a curriculum needs at least one stage")
        if self.on_fail not in ("continue", "stop"):
            raise ConfigError(f"on_fail={self.on_fail!r}: use 'continue' or 'stop'")
        if self.checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be >= 1")
        for stage in self.stages:  # a stage's own settings must fit the learner (e.g. a half-life needs episodes)
            try:
                stage.agent_for(self.agent)
            except ConfigError as e:
                raise ConfigError(f"stage {stage.name!r}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (round-trips through :func:`from_dict`)."""
        data = json.loads(json.dumps(dataclasses.asdict(self)))
        for stage in data["stages"]:  # unset later fields are left out: runs saved before they existed still
            if stage.get("encoder") is None:  # have the same digest and stage definitions (--resume)
                stage.pop("encoder", None)
            for key in ("variants", "ppo"):
                if not stage.get(key):
                    stage.pop(key, None)
        return data

    def digest(self) -> str:
        """Hash of everything that shapes training (to refuse resuming a run with a different curriculum)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def stage(self, name: str) -> StageConfig:
        """The stage called ``name``."""
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage {name!r}; stages: {[s.name for s in self.stages]}")


# ------------------------------------------------------------------------------------------------ loading
def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}={value!r}: choose one of {list(args)}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}={value!r}: expected true/false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where}={value!r}: expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}={value!r}: expected a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}={value!r}: expected a string")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build dataclass ``cls`` from plain data; unknown keys are a :class:`ConfigError` naming them."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            path = f"{where}.{key}" if where else str(key)
            raise ConfigError(f"unknown key {path!r}{hint}; valid keys for {cls.__name__}: {sorted(known)}")
    kwargs = {}
    for name, f in known.items():
        path = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required key {path!r} for {cls.__name__}")
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(f"{where + ': ' if where else ''}{e}") from None


def load_curriculum(path: str | Path) -> CurriculumConfig:
    """Read a ``.yaml``/``.yml``/``.toml``/``.json`` curriculum file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"curriculum file {str(p)!r} not found; built-in ones: {builtin_curricula()}")
    data = _parse(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping with 'name' and 'stages'")
    try:
        cfg = from_dict(CurriculumConfig, data)
        check_curriculum_envs(cfg)
        for stage in cfg.stages:
            path = stage.encoder_file()
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"stage {stage.name!r}: encoder {stage.encoder!r} has no encoder file ({path} "
                                  "does not exist); run python -m agent.pretrain first or fix the path")
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None
    return cfg


def _parse(p: Path) -> Any:
    """The file's data; a syntax error is a :class:`ConfigError` at ``file:line:col``."""
    try:
        text = p.read_text()
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not a text file ({e})") from None
    if p.suffix == ".toml":
        import tomllib
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            line, col = getattr(e, "lineno", None), getattr(e, "colno", None)
            where = f"{p}:{line}:{col}" if line else str(p)
            raise ConfigError(f"{where}: TOML syntax error: {getattr(e, 'msg', e)}") from None
    if p.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}:{e.lineno}:{e.colno}: JSON syntax error: {e.msg}") from None
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None


def builtin_curricula() -> list[str]:
    """Paths of the curricula shipped in this folder (``pretrain*.yaml`` are pre-training configs of
    ``agent.pretrain``, not curricula)."""
    here = Path(__file__).parent
    return sorted(str(q) for q in here.glob("*.yaml") if not q.name.startswith("pretrain"))


def check_curriculum_envs(cfg: CurriculumConfig) -> None:
    """Every stage's env ids and options (task options, randomization ranges, env kwargs) as ``gym.make`` would
    take them; the :class:`ConfigError` names the stage and the key and lists the allowed ones."""
    import env as peekaboo_env
    for stage in cfg.stages:
        for label, env_id, kwargs in stage.envs(cfg.width, cfg.height, "mujoco"):
            if env_id not in peekaboo_env.ENV_IDS and env_id not in peekaboo_env.LEGACY_IDS:
                continue  # registered by another package: its options are its own business
            try:
                peekaboo_env.check_options(env_id, **kwargs)
            except (ValueError, TypeError) as e:
                where = env_id if label == env_id else f"variant {label!r}"
                raise ConfigError(f"stage {stage.name!r} ({where}): {e}") from None


def check_stage_env_ids(stage: StageConfig) -> list[str]:
    """Resolve a stage's env ids against the registry (a :class:`ConfigError` naming the stage otherwise)."""
    import gymnasium as gym

    import env as peekaboo_env
    out = []
    for env_id in stage.env_ids:
        if env_id in gym.registry:
            out.append(env_id)
            continue
        try:
            out.append(peekaboo_env.check_env_id(env_id))
        except ValueError as e:
            raise ConfigError(f"stage {stage.name!r}: {e}. (This id may come from a task package that is not "
                              f"installed yet.)") from None
    return out
