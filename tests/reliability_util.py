"""Helpers of the reliability tests: a genuine tiny checkpoint of this project, and a tampered copy of it."""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

from agent.checkpoint import save_model, write_json
from agent.policy import build_model, make_vec_env
from curriculum.config import AgentConfig, load_curriculum

ROOT = Path(__file__).resolve().parents[1]


def cli(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m module args`` from the repository root, as a user would."""
    return subprocess.run([sys.executable, "-m", module, *args], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def started_run(cur: Path, run: Path) -> Path:
    """A run folder of curriculum ``cur`` whose first stage has started (its files are the test's to add);
    returns that stage's folder."""
    cfg = load_curriculum(cur)
    sdir = run / "stages/00_look"
    sdir.mkdir(parents=True)
    write_json(run / "curriculum.json", cfg.to_dict())
    write_json(run / "run.json", {"digest": cfg.digest()})
    return sdir


def tiny_curriculum(path: Path, **stage0: Any) -> Path:
    """The smoke curriculum cut to one small stage, written to ``path``."""
    cfg = yaml.safe_load((ROOT / "curriculum/smoke.yaml").read_text())
    cfg["stages"] = cfg["stages"][:1]
    cfg["stages"][0].update(stage0)
    path.write_text(yaml.safe_dump(cfg))
    return path


def genuine_checkpoint(folder: Path, env_id: str = "Peekaboo/FindToy-v1", env_options: dict | None = None,
                       **agent: Any) -> tuple[Path, AgentConfig]:
    """``folder/model.zip`` of a fresh 32 px learner and the ``stage.json`` a run writes beside it."""
    cfg = load_curriculum(ROOT / "curriculum/smoke.yaml")
    agent_cfg = dataclasses.replace(cfg.agent, **agent)
    stage = dataclasses.replace(cfg.stages[0], env_ids=(env_id,), env_kwargs=env_options or {},
                                randomization={} if env_options is not None else cfg.stages[0].randomization)
    venv = make_vec_env(stage, 1, 32, 32, "mujoco", agent_cfg, subprocess=False, seed=0)
    try:
        model = build_model(agent_cfg, venv, 0, None)
        folder.mkdir(parents=True, exist_ok=True)
        save_model(model, folder / "model.zip", agent_cfg)
    finally:
        venv.close()
    write_json(folder / "stage.json", {"stage": {"name": "look"}, "env_ids": [env_id], "agent":
                                       dataclasses.asdict(agent_cfg), "env_kwargs": stage.make_kwargs(32, 32, "mujoco")})
    return folder / "model.zip", agent_cfg


class _Payload:
    """Unpickling this creates ``marker`` (as a payload running code would)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def tamper(src: Path, dst: Path, marker: Path, field: str = "evil") -> Path:
    """A copy of checkpoint ``src`` whose ``data`` entry carries a pickled payload in ``field``."""
    with zipfile.ZipFile(src) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    data = json.loads(entries["data"])
    readable = data.get(field) if isinstance(data.get(field), dict) else {":type:": "<class 'builtins.object'>"}
    data[field] = {**readable, ":serialized:": base64.b64encode(pickle.dumps(_Payload(marker))).decode()}
    entries["data"] = json.dumps(data).encode()
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    return dst
