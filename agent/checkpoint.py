"""The one learner-checkpoint saver and loader (the file helpers it re-exports live in :mod:`agent.files`).

Loading never unpickles: SB3's own ``load`` runs ``cloudpickle.loads`` on fields of the zip's ``data`` entry, so a
tampered checkpoint would run code. :func:`load_checkpoint` reads the JSON part, rebuilds the pickled fields it
knows (policy class, spaces, schedules) from the agent config (the run's ``stage.json`` or the metadata
:func:`save_model` adds to the zip), refuses any it does not know, and reads the weights with
``torch.load(weights_only=True)``. ``trust_pickle=True`` is the explicit escape hatch for foreign files.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.files import (  # noqa: F401  (re-exported: a run's file helpers, one import for callers)
    TMP_MARK,
    CorruptFileError,
    append_jsonl,
    atomic_write,
    check_writable_dir,
    read_json,
    read_jsonl,
    remove_partial_files,
    truncate_jsonl,
    write_json,
)

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.vec_env import VecEnv

    from curriculum.config import AgentConfig

META_ENTRY = "peekaboo.json"
"""Zip entry that :func:`save_model` adds: the agent config and algorithm (enough to rebuild without pickle)."""


class CheckpointError(RuntimeError):
    """A learner checkpoint that cannot be used; nothing has been overwritten."""


# ------------------------------------------------------------------------------------------------ learner files
def save_model(model: BaseAlgorithm, path: str | Path, agent: AgentConfig | None = None) -> None:
    """``model.save`` into memory, :data:`META_ENTRY` (``agent``'s config) added, then :func:`atomic_write`."""
    buf = io.BytesIO()
    model.save(buf)
    if agent is not None:
        import dataclasses
        meta = {"format": 1, "agent": json.loads(json.dumps(dataclasses.asdict(agent))),
                "algorithm": "RecurrentPPO" if agent.recurrent else "PPO"}
        with zipfile.ZipFile(buf, "a") as z:
            z.writestr(META_ENTRY, json.dumps(meta, indent=2))
    atomic_write(path, buf.getvalue())


# Pickled fields of a PPO / RecurrentPPO ``data`` entry and what replaces them (never unpickled): rebuilt from
# the agent config, or state that a fresh learn() recreates (last observations, episode buffers).
_REBUILT = {"policy_class", "policy_kwargs", "observation_space", "action_space", "lr_schedule", "clip_range",
            "clip_range_vf", "learning_rate", "rollout_buffer_class"}
_DROPPED = {"_last_obs", "_last_original_obs", "_last_episode_starts", "_last_lstm_states", "ep_info_buffer",
            "ep_success_buffer", "action_noise", "_phase", "_held"}  # the last two: agent.episodes' per-env state
_NOT_RESTORED = {"tensorboard_log", "verbose", "device", "env", "policy", "rollout_buffer", "_logger",
                 "_custom_logger", "_vec_normalize_env"}


def _serialized(value: Any) -> bool:
    return isinstance(value, dict) and ":serialized:" in value


def _read_zip(p: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``data`` JSON and the Peekaboo metadata (if any) of a checkpoint zip."""
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
            if "data" not in names or "policy.pth" not in names:
                raise CheckpointError(f"checkpoint {str(p)!r} is not an SB3 model zip (no 'data'/'policy.pth' "
                                      "entry); pass a checkpoint.zip or model.zip of a run")
            data = json.loads(z.read("data"))
            meta = json.loads(z.read(META_ENTRY)) if META_ENTRY in names else None
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise CheckpointError(f"checkpoint {str(p)!r} is corrupt or unreadable ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {str(p)!r} is corrupt: its 'data' entry is not a JSON object")
    return data, meta


def checkpoint_steps(path: str | Path) -> int:
    """``num_timesteps`` recorded in a checkpoint zip's JSON (never unpickles)."""
    data, _ = _read_zip(Path(path))
    steps = data.get("num_timesteps")
    if not isinstance(steps, int) or steps < 0:
        raise CheckpointError(f"checkpoint {str(path)!r} records no step count")
    return steps


def checkpoint_agent(path: str | Path) -> AgentConfig | None:
    """The agent config a checkpoint was trained with: its zip's metadata, else the ``stage.json`` beside it."""
    from curriculum.config import AgentConfig, ConfigError, from_dict
    p = Path(path)
    _, meta = _read_zip(p)
    source = meta.get("agent") if isinstance(meta, dict) else None
    where = f"{p}:{META_ENTRY}"
    stage_json = p.parent / "stage.json"
    if source is None and stage_json.is_file():
        source, where = read_json(stage_json).get("agent"), str(stage_json)
    if source is None:
        return None
    try:
        return from_dict(AgentConfig, source, "agent")
    except ConfigError as e:
        raise CheckpointError(f"{where}: {e}") from None


def _shape(value: Any) -> tuple[int, ...]:
    """A shape as SB3's JSON stores it (a list, or its text)."""
    shape = json.loads(value) if isinstance(value, str) else value
    if not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ValueError(f"bad shape {value!r}")
    return tuple(shape)


def _space(field: dict[str, Any], what: str, p: Path) -> Any:
    """An observation/action space from the readable part of SB3's JSON (uint8 image Box or Discrete only)."""
    import numpy as np
    from gymnasium import spaces
    kind = str(field.get(":type:", ""))
    try:
        if kind.endswith("Discrete'>"):
            return spaces.Discrete(int(field["n"]), start=int(field.get("start", 0)))
        if kind.endswith("Box'>") and field.get("dtype") == "uint8":
            return spaces.Box(0, 255, _shape(field["_shape"]), np.uint8)
        if kind.endswith("Dict'>") and isinstance(field.get("spaces"), str):  # e.g. image + privileged_target
            parts = re.findall(r"'(\w+)': Box\(([-\w.]+), ([-\w.]+), \(([\d, ]*)\), (uint8|float32)\)",
                               field["spaces"])
            if parts:
                return spaces.Dict({name: spaces.Box(float(lo), float(hi), tuple(int(n) for n in shape.split(",") if n.strip()),
                                                     np.dtype(dtype)) for name, lo, hi, shape, dtype in parts})
    except (KeyError, ValueError, TypeError):
        pass
    raise CheckpointError(f"checkpoint {str(p)!r}: cannot rebuild its {what} ({kind or 'missing'}) without "
                          "unpickling; load it with an env, or pass --trust-pickle if you trust its source")


def checkpoint_path(path: str | Path) -> Path:
    """``path``, or ``path.zip`` when only that exists (SB3's habit), or ``path/model.zip`` for a folder (a shipped
    model such as ``models/permanence-baseline``); a missing file names what was given."""
    p = Path(path)
    if p.is_dir() and (p / "model.zip").is_file():
        p = p / "model.zip"
    if not p.exists() and p.suffix != ".zip" and p.with_name(p.name + ".zip").exists():
        p = p.with_name(p.name + ".zip")
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist; expected a PPO or RecurrentPPO .zip of a "
                                "run (runs/NAME/stages/NN_stage/model.zip or checkpoint.zip)")
    return p


def load_checkpoint(path: str | Path, agent: AgentConfig | None = None, venv: VecEnv | None = None,
                    trust_pickle: bool = False, device: str = "cpu") -> BaseAlgorithm:
    """Load a PPO / RecurrentPPO checkpoint written by this project without running code from the file.

    ``agent``: the learner's config (default: :func:`checkpoint_agent`); ``venv``: envs to continue training on
    (their spaces must match); ``trust_pickle``: use SB3's own (unpickling) loader, with a warning. Any failure is a
    :class:`CheckpointError` and nothing is written. ``device``: the torch device the learner continues on.
    """
    from stable_baselines3.common.save_util import load_from_zip_file

    from agent.policy import algo_class, policy_spec
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist")
    data, _ = _read_zip(p)
    if agent is None:
        agent = checkpoint_agent(p)
    if agent is None and not trust_pickle:
        raise CheckpointError(f"checkpoint {str(p)!r} carries no Peekaboo metadata and has no stage.json beside "
                              "it, so it cannot be rebuilt without unpickling; if you trust its source, pass "
                              "--trust-pickle")
    saved_recurrent = "lstm_hidden_size" in data.get("policy_kwargs", {})
    if agent is not None and agent.recurrent != saved_recurrent:
        raise CheckpointError(f"checkpoint {str(p)!r} holds a {'RecurrentPPO' if saved_recurrent else 'PPO'} "
                              f"learner but the agent config says recurrent={agent.recurrent}")
    if trust_pickle:
        return _load_trusting(p, agent, saved_recurrent, venv)
    unknown = sorted(k for k, v in data.items() if _serialized(v) and k not in _REBUILT | _DROPPED)
    if unknown:
        raise CheckpointError(f"checkpoint {str(p)!r} has pickled field(s) {unknown} that this loader does not "
                              "rebuild; refusing to unpickle them (pass --trust-pickle only if you trust its "
                              "source)")
    assert agent is not None
    cls = algo_class(agent)
    policy_class, policy_kwargs = policy_spec(agent)
    if venv is not None:
        venv = cls._wrap_env(venv, 0)
        obs_space, act_space = venv.observation_space, venv.action_space
    else:
        obs_space = _space(data.get("observation_space", {}), "observation space", p)
        act_space = _space(data.get("action_space", {}), "action space", p)
    plain = {k: v for k, v in data.items() if not _serialized(v) and k not in _REBUILT | _DROPPED | _NOT_RESTORED}
    lr = data.get("learning_rate")
    try:
        _, params, torch_vars = load_from_zip_file(p, load_data=False, device="cpu")  # weights_only=True inside
        model = cls(policy=policy_class, env=venv, device=device, _init_setup_model=False)
        model.__dict__.update(plain)
        model.__dict__.update(
            observation_space=obs_space, action_space=act_space, policy_kwargs=policy_kwargs,
            learning_rate=lr if isinstance(lr, (int, float)) else agent.ppo.learning_rate,
            clip_range=agent.ppo.clip_range, clip_range_vf=None, rollout_buffer_class=None,
            **{k: None for k in _DROPPED})
        if venv is not None:
            model.n_envs = venv.num_envs
        model._setup_model()
        model.set_parameters(params, exact_match=True, device=device)
    except Exception as e:  # noqa: BLE001 - any mismatch between the file and the config means the same here
        raise CheckpointError(f"checkpoint {str(p)!r} does not match the agent config or envs it is loaded with "
                              f"({type(e).__name__}: {e}); was the curriculum's resolution, encoder, frame_stack "
                              "or recurrence changed?") from None
    if _space_mismatch(data, model):
        raise CheckpointError(f"checkpoint {str(p)!r} was trained on observations "
                              f"{data['observation_space']['_shape']} but is loaded with "
                              f"{list(model.observation_space.shape)}; was the curriculum's "
                              "resolution or frame_stack changed?")
    del torch_vars  # PPO keeps no extra torch variables
    return model


def _space_mismatch(data: dict[str, Any], model: Any) -> bool:
    saved = data.get("observation_space", {}).get("_shape")
    try:
        return saved is not None and _shape(saved) != tuple(model.observation_space.shape)
    except ValueError:
        return False


def _load_trusting(p: Path, agent: AgentConfig | None, recurrent: bool, venv: VecEnv | None) -> BaseAlgorithm:
    print(f"warning: --trust-pickle: loading {str(p)!r} with SB3's unpickling loader; a tampered file runs "
          "code now", file=sys.stderr, flush=True)
    if agent is not None:
        from agent.policy import algo_class
        cls = algo_class(agent)
    elif recurrent:
        from sb3_contrib import RecurrentPPO as cls
    else:
        from stable_baselines3 import PPO as cls
    try:
        return cls.load(p, env=venv, device="cpu")
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(f"checkpoint {str(p)!r} could not be loaded ({type(e).__name__}: {e})") from None
