"""Running a curriculum: one learner per stage, the encoder carried from stage to stage, resumable.

Layout of a run folder::

    run.json                      curriculum digest (a resume with another curriculum is refused)
    curriculum.json               the resolved curriculum
    summary.json                  every finished stage's summary
    stages/NN_<name>/
        checkpoint.zip/.json      latest learner + counters (atomic; kill -9 loses < checkpoint_every steps)
        evals.jsonl train.jsonl   held-out evaluations / rollout statistics (learning curves)
        tb/                       TensorBoard
        encoder_start.pt          the encoder the stage started from (after transfer)
        encoder.pt model.zip      final shared encoder and learner
        stage.json                how to rebuild the stage's env (used by tools.record)
        summary.json              written last: its presence marks the stage finished (never overwritten)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agent.checkpoint import append_jsonl, read_json, read_jsonl, save_model, truncate_jsonl, write_json
from agent.encoder import save_encoder
from agent.evaluation import Evaluator
from agent.policy import (FreezeSchedule, TorchThreads, apply_transfer, build_model, encoder_of, load_model,
                          make_vec_env)
from agent.seeds import train_seed
from agent.process_state import torch_threads
from curriculum.config import CurriculumConfig, StageConfig, check_stage_env_ids


class RunError(RuntimeError):
    """A run folder that cannot be (re)used as asked; nothing has been written."""


class StageInterrupted(Exception):
    """Ctrl-C (SIGINT) during a stage: the stage was checkpointed at the step it had reached."""


@dataclass
class RunOptions:
    """How to run (not what to learn). ``python -m agent.train``'s flags are derived from these fields (names,
    defaults, and the docstrings as help; :mod:`agent.cli`), so the two cannot drift."""

    n_envs: int = 8
    """Parallel envs; an even number on MuJoCo runs as 2 processes of ``n_envs // 2`` batched worlds."""
    subprocess: bool = field(default=True, metadata={"aliases": {"--in-process": False}})
    """Envs in subprocesses (forkserver) rather than in-process (DummyVecEnv)."""
    batched: bool = True
    """Batch the worlds of each process (see :func:`agent.policy.make_vec_env`); off: one process per env."""
    backend: str = field(default="mujoco", metadata={"choices": ("mujoco", "habitat")})
    """Simulator backend passed to every env."""
    resume: bool = False
    """Continue an interrupted run in the same folder."""
    progress: bool = True
    """Show a tqdm progress bar."""
    until: str | None = None
    """Stop after this stage (inclusive)."""
    torch_threads: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    """Torch CPU threads for the gradient epochs (rollouts always use 1: the envs need the other cores); default:
    the CPUs, at most 4."""


def stage_dir(out: Path, index: int, stage: StageConfig) -> Path:
    return out / "stages" / f"{index:02d}_{stage.name}"


class StageCallback(BaseCallback):
    """Checkpoints, held-out evaluations (graduation), rollout stats and the progress bar of one stage."""

    def __init__(self, sdir: Path, stage: StageConfig, cfg: CurriculumConfig, evaluator: Evaluator,
                 state: dict[str, Any], progress: bool) -> None:
        super().__init__()
        self.sdir, self.stage, self.cfg, self.evaluator, self.state = sdir, stage, cfg, evaluator, state
        self.show_progress = progress
        self.t0 = time.perf_counter()
        self.eval_s = 0.0

    def _elapsed(self) -> float:
        return self.state["elapsed_s"] + time.perf_counter() - self.t0

    def _on_training_start(self) -> None:
        g = self.stage.graduation
        n = self.model.num_timesteps
        self.next_eval = (n // g.eval_every + 1) * g.eval_every
        self.next_ckpt = (n // self.cfg.checkpoint_every + 1) * self.cfg.checkpoint_every
        self.bar = None
        self.end_evaluated = False
        if self.show_progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.stage.budget, initial=n, desc=self.stage.name, unit="step", dynamic_ncols=True)

    def _on_step(self) -> bool:
        n = self.model.num_timesteps
        if self.bar is not None:
            self.bar.update(n - self.bar.n)
        if n >= self.next_ckpt:
            self.next_ckpt += self.cfg.checkpoint_every
            self.checkpoint()
        at_end = n >= self.stage.budget and not self.end_evaluated
        if n >= self.next_eval or at_end:
            self.end_evaluated = self.end_evaluated or at_end
            while self.next_eval <= n:
                self.next_eval += self.stage.graduation.eval_every
            if self.evaluate():
                return False
        return True

    def _on_rollout_end(self) -> None:
        buf = list(self.model.ep_info_buffer or [])
        row: dict[str, Any] = {"step": self.model.num_timesteps, "wall_s": self._elapsed()}
        if buf:
            row["ep_rew_mean"] = sum(e["r"] for e in buf) / len(buf)
            row["ep_len_mean"] = sum(e["l"] for e in buf) / len(buf)
            row["success_rate"] = sum(float(e.get("is_success", 0)) for e in buf) / len(buf)
            self.logger.record("rollout/success_rate", row["success_rate"])
        append_jsonl(self.sdir / "train.jsonl", row)

    def evaluate(self) -> bool:
        """Held-out evaluation; returns True when the stage graduates."""
        g = self.stage.graduation
        t = time.perf_counter()
        res = self.evaluator.evaluate(self.model, g.episodes, g.deterministic)
        self.eval_s += time.perf_counter() - t
        n = self.model.num_timesteps
        graduated = res.success_rate >= g.threshold and n >= g.min_steps
        row = {"step": n, "wall_s": self._elapsed(), **res.as_dict()}
        if self.cfg.agent.privileged:  # an upper bound, never a memory result: said beside every number
            row["privileged"] = True
        append_jsonl(self.sdir / "evals.jsonl", row)
        self.logger.record("eval/success_rate", res.success_rate)
        self.logger.record("eval/mean_return", res.mean_return)
        self.state["last_eval"] = res.as_dict()
        if self.bar is not None:
            self.bar.set_postfix(eval_success=f"{res.success_rate:.2f}")
        if graduated:
            self.state.update(graduated=True, graduated_at=n, finished=True)
            self.checkpoint()
        return graduated

    def checkpoint(self) -> None:
        save_model(self.model, self.sdir / "checkpoint.zip")
        self.state.update(num_timesteps=self.model.num_timesteps, elapsed_s=self._elapsed(),
                          eval_s=self.state.get("eval_s", 0.0) + self.eval_s)
        self.eval_s = 0.0
        self.t0 = time.perf_counter()
        write_json(self.sdir / "checkpoint.json", self.state)

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_curriculum(cfg: CurriculumConfig, out: str | Path, opts: RunOptions) -> list[dict[str, Any]]:
    """Train through ``cfg``'s stages into ``out``; returns the stage summaries. torch runs with
    ``opts.torch_threads`` threads meanwhile (one while collecting rollouts) and with its previous count after."""
    with torch_threads(opts.torch_threads):
        return _run_stages(cfg, Path(out), opts)


def _run_stages(cfg: CurriculumConfig, out: Path, opts: RunOptions) -> list[dict[str, Any]]:
    _prepare_run_dir(cfg, out, opts)
    summaries: list[dict[str, Any]] = []
    prev_encoder: str | None = cfg.agent.init_encoder
    for index, stage in enumerate(cfg.stages):
        sdir = stage_dir(out, index, stage)
        if (sdir / "summary.json").exists():  # finished: never retrained nor overwritten
            summary = read_json(sdir / "summary.json")
        else:
            summary = _run_stage(cfg, index, stage, sdir, prev_encoder, opts)
        summaries.append(summary)
        write_json(out / "summary.json", {"curriculum": cfg.name, "stages": summaries})
        prev_encoder = str(sdir / "encoder.pt")
        if (not summary["graduated"] and cfg.on_fail == "stop") or stage.name == opts.until:
            break
    return summaries


def _prepare_run_dir(cfg: CurriculumConfig, out: Path, opts: RunOptions) -> None:
    run_json = out / "run.json"
    if run_json.exists():
        if not opts.resume:
            raise RunError(f"{str(out)!r} already holds a run; pass --resume to continue it or choose another --out")
        saved = read_json(run_json)
        if saved.get("digest") != cfg.digest():
            raise RunError(f"{str(out)!r} was trained with a different curriculum (digest {saved.get('digest')} vs "
                           f"{cfg.digest()}); resume it with the same curriculum file or choose another --out")
        return
    if out.exists() and any(out.iterdir()):
        raise RunError(f"{str(out)!r} is not empty and holds no run.json; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "curriculum.json", cfg.to_dict())
    write_json(run_json, {"digest": cfg.digest(), "curriculum": cfg.name, "created": time.time()})


def _run_stage(cfg: CurriculumConfig, index: int, stage: StageConfig, sdir: Path, prev_encoder: str | None,
               opts: RunOptions) -> dict[str, Any]:
    env_ids = check_stage_env_ids(stage)
    sdir.mkdir(parents=True, exist_ok=True)
    env_kwargs = stage.make_kwargs(cfg.width, cfg.height, opts.backend)
    ckpt = sdir / "checkpoint.zip"
    resumed = ckpt.exists() and (sdir / "checkpoint.json").exists()
    if ckpt.exists() and not opts.resume:
        raise RunError(f"{str(sdir)!r} holds a checkpoint; pass --resume")
    venv = make_vec_env(stage, env_ids, opts.n_envs, cfg.width, cfg.height, opts.backend, cfg.agent,
                        subprocess=opts.subprocess, seed=train_seed(cfg.seed, 1000 * index), batched=opts.batched)
    evaluator = None
    try:
        if resumed:
            state = read_json(sdir / "checkpoint.json")
            model = load_model(cfg.agent, ckpt, venv)
            for name in ("evals.jsonl", "train.jsonl"):
                truncate_jsonl(sdir / name, model.num_timesteps)
        else:
            model = build_model(cfg.agent, venv, cfg.seed + index, str(sdir / "tb"))
            mode = stage.transfer if (index > 0 or cfg.agent.init_encoder) else "scratch"
            state = {"num_timesteps": 0, "elapsed_s": 0.0, "eval_s": 0.0, "graduated": False, "finished": False,
                     "transfer": apply_transfer(model, mode, prev_encoder), "env_ids": env_ids}
            save_encoder(encoder_of(model), sdir / "encoder_start.pt", stage=stage.name, when="start")
            write_json(sdir / "stage.json", {"stage": cfg.to_dict()["stages"][index], "env_kwargs": env_kwargs,
                                             "env_ids": env_ids, "agent": cfg.to_dict()["agent"]})
        model.tensorboard_log = str(sdir / "tb")
        remaining = stage.budget - model.num_timesteps
        if not state.get("finished") and remaining > 0:
            evaluator = Evaluator(env_ids, env_kwargs, cfg.agent)
            cb = StageCallback(sdir, stage, cfg, evaluator, state, opts.progress)
            freeze = FreezeSchedule(stage.transfer if state["transfer"]["transfer"] != "scratch" else "finetune",
                                    int(stage.unfreeze_after * stage.budget))
            try:
                model.learn(remaining, callback=CallbackList([freeze, TorchThreads(opts.torch_threads), cb]),
                            reset_num_timesteps=not resumed,
                            tb_log_name="ppo")
            except KeyboardInterrupt:
                if getattr(cb, "model", None) is None:  # before learning started: nothing to keep
                    raise StageInterrupted(f"interrupted before stage {stage.name!r} took a step") from None
                cb.checkpoint()  # keep the steps since the last periodic checkpoint too
                raise StageInterrupted(
                    f"interrupted: stage {stage.name!r} checkpointed at step {model.num_timesteps} in "
                    f"{str(sdir)!r}; continue with the same command and --resume") from None
            if not state.get("graduated") and _last_eval_step(sdir) < model.num_timesteps:
                cb.evaluate()
            state["finished"] = True
            cb.checkpoint()
        return _finish_stage(cfg, stage, sdir, model, state)
    finally:
        venv.close()
        if evaluator is not None:
            evaluator.close()


def _last_eval_step(sdir: Path) -> int:
    rows = read_jsonl(sdir / "evals.jsonl")
    return int(rows[-1]["step"]) if rows else -1


def _finish_stage(cfg: CurriculumConfig, stage: StageConfig, sdir: Path, model: Any, state: dict[str, Any]) -> dict:
    if (sdir / "summary.json").exists():
        raise RunError(f"stage {stage.name!r} in {str(sdir)!r} is already finished; refusing to overwrite it")
    steps = int(state["num_timesteps"])
    train_s = max(state["elapsed_s"] - state.get("eval_s", 0.0), 1e-9)
    save_encoder(encoder_of(model), sdir / "encoder.pt", stage=stage.name, when="end", steps=steps)
    save_model(model, sdir / "model.zip")
    last = state.get("last_eval") or {}
    summary = {
        "stage": stage.name, "env_ids": state.get("env_ids", list(stage.env_ids)), "budget": stage.budget,
        "steps_used": steps, "graduated": bool(state.get("graduated")), "graduated_at": state.get("graduated_at"),
        "threshold": stage.graduation.threshold, "final_success": last.get("success_rate"),
        "eval_episodes": last.get("episodes"), "wall_s": round(state["elapsed_s"], 3),
        "eval_s": round(state.get("eval_s", 0.0), 3), "env_steps_per_s": round(steps / train_s, 2),
        "transfer": state.get("transfer"), "developmental_stage": stage.stage, "age_months": stage.age_months,
        "algorithm": "RecurrentPPO" if cfg.agent.recurrent else "PPO",
    }
    if cfg.agent.privileged:
        summary["privileged"] = True
    write_json(sdir / "summary.json", summary)
    return summary
