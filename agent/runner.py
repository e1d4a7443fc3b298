"""Running a curriculum: one learner per stage, the encoder carried from stage to stage, resumable.

Layout of a run folder::

    trainer.lock                  held (fcntl) by the trainer using the folder; holds its PID
    run.json                      curriculum digest and the changes accepted on --resume
    curriculum.json               the resolved curriculum (a resume may change only stages not yet started)
    summary.json                  every finished stage's summary
    stages/NN_<name>/
        checkpoint.zip/.json      latest learner + counters and RNG states (atomic; written at the first rollout
                                  boundary past each checkpoint_every steps)
        evals.jsonl train.jsonl   held-out evaluations / rollout statistics (learning curves)
        tb/                       TensorBoard
        encoder_start.pt          the encoder the stage started from (after transfer)
        encoder.pt model.zip      final shared encoder and learner
        stage.json                how to rebuild the stage's env (used by tools.record)
        summary.json              written last: its presence marks the stage finished (never overwritten)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agent.checkpoint import (
    CheckpointError,
    append_jsonl,
    checkpoint_steps,
    load_checkpoint,
    read_json,
    read_jsonl,
    remove_partial_files,
    save_model,
    truncate_jsonl,
    write_json,
)
from agent.encoder import save_encoder
from agent.evaluation import Evaluator
from agent.interrupt import StopOnInterrupt, deferred_interrupt
from agent.policy import (FreezeSchedule, TorchThreads, apply_transfer, build_model, encoder_of, make_vec_env,
                          policy_source)
from agent.resume import fresh_episodes, get_rng_state, set_rng_state
from agent.seeds import train_seed
from agent.process_state import torch_threads, usable_cpus
from curriculum.config import (
    CurriculumConfig,
    ConfigError,
    StageConfig,
    check_curriculum_envs,
    check_stage_env_ids,
    from_dict,
)


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
    sim: str = field(default="mujoco", metadata={"choices": ("mujoco", "warp")})
    """Where the training worlds step and render: ``mujoco`` (C MuJoCo + OpenGL in env processes) or ``warp``
    (all ``n_envs`` worlds in one MuJoCo Warp batch in this process: :mod:`env.warp_vector`; evaluations stay
    on the EGL env)."""
    device: str = field(default="cpu", metadata={"choices": ("cpu", "cuda", "auto")})
    """Device of the learner and, with ``--sim warp``, of the Warp worlds: ``cuda`` needs a CUDA GPU (and a CUDA
    torch); ``auto`` takes the GPU when there is one."""
    warp_homes: int = 0
    """With ``--sim warp``: 0 = every world draws its own homes (as ``--sim mujoco``), K = the worlds share a
    bank of K homes (world i in home i mod K; one Warp batch per home: the fast layout on a GPU)."""
    resume: bool = False
    """Continue an interrupted run in the same folder."""
    progress: bool = True
    """Show a tqdm progress bar."""
    until: str | None = None
    """Stop after this stage (inclusive)."""
    torch_threads: int = field(default_factory=lambda: min(4, usable_cpus()))
    """Torch CPU threads for the gradient epochs (rollouts always use 1: the envs need the other cores); default:
    the CPUs this process may run on (``taskset``), at most 4 (on one pinned core, two threads made the gradient
    epochs 1.5-1.9x slower than one)."""
    trust_pickle: bool = False
    """Resume from checkpoints with SB3's own loader, which unpickles (runs) code stored in the file; only for
    files from a source you trust (the default loader rebuilds the learner without unpickling)."""


def segment_seed(cfg: CurriculumConfig, index: int, step: int, n_envs: int) -> int:
    """Env seed of stage ``index`` from checkpoint step ``step`` on (see :mod:`agent.resume`)."""
    from agent.seeds import segment_seed as seed_of
    return seed_of(cfg.seed, index, step // cfg.checkpoint_every, n_envs)


def stage_dir(out: Path, index: int, stage: StageConfig) -> Path:
    return out / "stages" / f"{index:02d}_{stage.name}"


class StageCallback(BaseCallback):
    """Checkpoints, held-out evaluations (graduation), rollout stats and the progress bar of one stage."""

    def __init__(self, sdir: Path, index: int, stage: StageConfig, cfg: CurriculumConfig, evaluator: Evaluator,
                 state: dict[str, Any], progress: bool) -> None:
        super().__init__()
        self.sdir, self.stage, self.cfg, self.evaluator, self.state = sdir, stage, cfg, evaluator, state
        self.index = index
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

    def _on_rollout_start(self) -> None:
        """Periodic checkpoints sit on rollout boundaries, and the envs start fresh episodes there from the
        segment's seeds: a stage resumed from one continues exactly as the uninterrupted stage does."""
        n = self.model.num_timesteps
        if n >= self.next_ckpt:
            while self.next_ckpt <= n:
                self.next_ckpt += self.cfg.checkpoint_every
            self.checkpoint()
            fresh_episodes(self.model, segment_seed(self.cfg, self.index, n, self.model.n_envs))

    def _on_step(self) -> bool:
        n = self.model.num_timesteps
        if self.bar is not None:
            self.bar.update(n - self.bar.n)
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
        if self.cfg.agent.uses_privileged:  # an upper bound, never a memory result: said beside every number
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
        save_model(self.model, self.sdir / "checkpoint.zip", self.stage.agent_for(self.cfg.agent))
        self.state.update(num_timesteps=self.model.num_timesteps, elapsed_s=self._elapsed(),
                          eval_s=self.state.get("eval_s", 0.0) + self.eval_s, rng=get_rng_state())
        self.eval_s = 0.0
        self.t0 = time.perf_counter()
        write_json(self.sdir / "checkpoint.json", self.state)

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_curriculum(cfg: CurriculumConfig, out: str | Path, opts: RunOptions) -> list[dict[str, Any]]:
    """Train through ``cfg``'s stages into ``out``; returns the stage summaries. torch runs with
    ``opts.torch_threads`` threads meanwhile (one while collecting rollouts) and with its previous count after.
    The folder is locked meanwhile (:func:`run_lock`)."""
    out = Path(out)
    opts.device = resolve_device(opts)  # a missing GPU is an error before anything is written
    check_curriculum_envs(cfg)  # every stage's ids and options, before anything trains
    if opts.warp_homes < 0:
        raise RunError(f"--warp-homes {opts.warp_homes}: use 0 (a home per world) or a bank size >= 1")
    if opts.sim == "warp":
        for index, stage in enumerate(cfg.stages):
            ids = check_stage_env_ids(stage)
            rehearsal = stage.rehearsal > 0 and index > 0
            if len(set(ids)) != 1 or cfg.agent.privileged or rehearsal:
                why = "a privileged agent" if cfg.agent.privileged else "rehearsal" if rehearsal else f"ids {ids}"
                raise RunError(f"--sim warp trains one env id per stage, without rehearsal or the privileged wrapper; "
                               f"stage {stage.name!r} has {why}: use --sim mujoco")
    with run_lock(out, cfg, opts), torch_threads(opts.torch_threads):
        return _run_stages(cfg, out, opts)


def resolve_device(opts: RunOptions) -> str:
    """``opts.device`` as a torch device name (``auto`` resolved); a RunError saying how to fix a missing GPU."""
    import torch

    cuda = torch.cuda.is_available()
    if opts.sim == "warp":
        try:
            from env.warp_vector import warp_device

            warp = warp_device(opts.device)
        except ImportError as e:
            raise RunError(f"--sim warp: {e}") from e
        except ValueError as e:
            raise RunError(f"--device {opts.device}: Warp finds no CUDA GPU here; use --device cpu (slow: Warp's "
                           "CPU device) or run on a GPU machine") from e
        if warp.startswith("cuda") and not cuda:
            raise RunError(f"--device {opts.device}: Warp sees a GPU but torch has no CUDA; install a CUDA torch "
                           "build, or use --device cpu")
        return "cuda" if warp.startswith("cuda") else "cpu"
    if opts.device == "auto":
        return "cuda" if cuda else "cpu"
    if opts.device == "cuda" and not cuda:
        raise RunError("--device cuda: torch finds no CUDA GPU (a CPU build or no driver); use --device cpu, or "
                       "install a CUDA torch on a GPU machine")
    return opts.device


LOCK_NAME = "trainer.lock"
"""File in a run folder that the trainer using it holds an ``fcntl`` lock on (released when it exits or dies)."""


@contextlib.contextmanager
def run_lock(out: Path, cfg: CurriculumConfig, opts: RunOptions) -> Iterator[None]:
    """Check the folder, take its lock (a second trainer is refused, naming the holder's PID), then prepare it."""
    if not (out / "run.json").exists() and out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()):
        raise RunError(f"{str(out)!r} is not empty and holds no run.json; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise RunError(f"cannot write the run folder {str(out)!r} ({e.strerror}); choose a writable --out") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunError(f"{str(out)!r} is in use by another trainer (PID {holder}); wait for it to finish or "
                           "stop it, then run again with --resume") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        remove_partial_files(out)
        _prepare_run_dir(cfg, out, opts)
        yield
    finally:
        os.close(fd)  # releases the lock


def _run_stages(cfg: CurriculumConfig, out: Path, opts: RunOptions) -> list[dict[str, Any]]:
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
    if not run_json.exists():
        write_json(out / "curriculum.json", cfg.to_dict())
        write_json(run_json, {"digest": cfg.digest(), "curriculum": cfg.name, "created": time.time()})
        return
    if not opts.resume:
        raise RunError(f"{str(out)!r} already holds a run; pass --resume to continue it or choose another --out")
    saved = read_json(run_json)
    if saved.get("digest") == cfg.digest():
        return
    changes = _curriculum_changes(read_json(out / "curriculum.json"), cfg, out)
    print(f"resume: the curriculum differs from the run's in stage(s) not started yet, which take the new "
          f"definition: {'; '.join(changes)}", file=sys.stderr)
    write_json(out / "curriculum.json", cfg.to_dict())
    history = list(saved.get("changes", [])) + [{"time": time.time(), "from": saved.get("digest"),
                                                 "to": cfg.digest(), "changes": changes}]
    write_json(run_json, {**saved, "digest": cfg.digest(), "changes": history})


# Top-level curriculum keys that may change on --resume (they shape no trained weights).
_FREE_KEYS = ("name", "on_fail", "checkpoint_every", "stages")


def _curriculum_changes(old: dict[str, Any], cfg: CurriculumConfig, out: Path) -> list[str]:
    """What differs between the run's curriculum and ``cfg``; a RunError if a stage that has started (or a
    setting every stage shares) differs."""
    new = cfg.to_dict()
    try:  # fields added to the config since the run began compare at their defaults
        old = from_dict(CurriculumConfig, old).to_dict()
    except ConfigError:
        pass  # compared as saved
    shared = sorted(k for k in set(old) | set(new) if k not in _FREE_KEYS and old.get(k) != new.get(k))
    if shared:
        raise RunError(f"{str(out)!r} was trained with a different curriculum: {shared} differ, and every stage "
                       "shares them; resume with the run's curriculum (saved in curriculum.json) or choose another "
                       "--out")
    old_stages, new_stages = old.get("stages", []), new["stages"]
    changes = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in _FREE_KEYS[:-1] if old.get(k) != new.get(k)]
    for i in range(max(len(old_stages), len(new_stages))):
        before = old_stages[i] if i < len(old_stages) else None
        after = new_stages[i] if i < len(new_stages) else None
        if before == after:
            continue
        name = (before or after or {}).get("name", "?")
        started = before is not None and (out / "stages" / f"{i:02d}_{before['name']}").is_dir() and any(
            (out / "stages" / f"{i:02d}_{before['name']}" / f).exists() for f in ("checkpoint.zip", "summary.json"))
        if started:
            keys = sorted(k for k in set(before) | set(after or {}) if before.get(k) != (after or {}).get(k))
            raise RunError(f"stage {i} {name!r} has trained in {str(out)!r} and the curriculum changes its "
                           f"{keys}; only stages not started yet may change on --resume (restore its definition "
                           "from curriculum.json, or choose another --out)")
        if after is None:
            changes.append(f"stage {name!r} removed")
        elif before is None:
            changes.append(f"stage {name!r} added")
        else:
            keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            changes.append(f"stage {name!r} changed {keys}")
    return changes


def _policy_source(mode: str, prev_encoder: str | None, cfg: CurriculumConfig) -> Any:
    """The previous stage's learner for ``transfer: policy`` (None for the other modes)."""
    if mode != "policy" or prev_encoder is None:
        return None
    source = policy_source(prev_encoder)
    if not source.is_file():
        raise CheckpointError(f"transfer: policy needs the previous stage's model.zip; {str(source)!r} does not "
                              "exist (the first stage cannot use it with agent.init_encoder)")
    return load_checkpoint(source, cfg.agent)


def _run_stage(cfg: CurriculumConfig, index: int, stage: StageConfig, sdir: Path, prev_encoder: str | None,
               opts: RunOptions) -> dict[str, Any]:
    env_ids = check_stage_env_ids(stage)
    sdir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(sdir)  # temp files of writes a killed trainer left (we hold the run's lock)
    env_kwargs = stage.make_kwargs(cfg.width, cfg.height, opts.backend)
    ckpt = sdir / "checkpoint.zip"
    if ckpt.exists() and not opts.resume:
        raise RunError(f"{str(sdir)!r} holds a checkpoint; pass --resume")
    resumed = ckpt.exists()
    state = _resume_state(cfg, index, stage, sdir, env_ids) if resumed else None
    venv = make_vec_env(stage, opts.n_envs, cfg.width, cfg.height, opts.backend, cfg.agent,
                        subprocess=opts.subprocess, seed=train_seed(cfg.seed, 1000 * index), batched=opts.batched,
                        earlier=cfg.stages[:index], sim=opts.sim, device=opts.device, warp_homes=opts.warp_homes)
    evaluator = None
    try:
        if state is not None:
            model = load_checkpoint(ckpt, stage.agent_for(cfg.agent), venv, trust_pickle=opts.trust_pickle,
                                    device=opts.device)
            if model.num_timesteps != state["num_timesteps"]:  # killed between writing the zip and its json
                print(f"resume: checkpoint.zip is at step {model.num_timesteps}, checkpoint.json at "
                      f"{state['num_timesteps']}; continuing from the zip's step", file=sys.stderr)
                state.update(num_timesteps=model.num_timesteps, rng=None)
            for name in ("evals.jsonl", "train.jsonl"):
                truncate_jsonl(sdir / name, model.num_timesteps)
            _purge_tensorboard(sdir / "tb", model.num_timesteps)
        else:
            for name in ("evals.jsonl", "train.jsonl"):  # rows of an attempt killed before its first checkpoint
                truncate_jsonl(sdir / name, -1)
            if (sdir / "tb").is_dir() and not (sdir / "tb").is_symlink():
                shutil.rmtree(sdir / "tb")
            model = build_model(stage.agent_for(cfg.agent), venv, cfg.seed + index, str(sdir / "tb"),
                                device=opts.device)
            mode = stage.transfer if (index > 0 or cfg.agent.init_encoder or stage.encoder) else "scratch"
            source = stage.encoder_file() or prev_encoder  # a stage's own encoder (e.g. pre-trained) comes first
            state = {"num_timesteps": 0, "elapsed_s": 0.0, "eval_s": 0.0, "graduated": False, "finished": False,
                     "transfer": apply_transfer(model, mode, source, _policy_source(mode, prev_encoder, cfg)),
                     "env_ids": env_ids}
            save_encoder(encoder_of(model), sdir / "encoder_start.pt", stage=stage.name, when="start")
            write_json(sdir / "stage.json", {"stage": cfg.to_dict()["stages"][index], "env_kwargs": env_kwargs,
                                             "env_ids": env_ids, "agent": cfg.to_dict()["agent"]})
        model.tensorboard_log = str(sdir / "tb")
        remaining = stage.budget - model.num_timesteps
        if not state.get("finished") and remaining > 0:
            evaluator = Evaluator(stage.envs(cfg.width, cfg.height, opts.backend), stage.agent_for(cfg.agent))
            cb = StageCallback(sdir, index, stage, cfg, evaluator, state, opts.progress)
            freeze = FreezeSchedule(stage.transfer if state["transfer"]["transfer"] != "scratch" else "finetune",
                                    int(stage.unfreeze_after * stage.budget))
            if resumed:  # where the uninterrupted stage was at this checkpoint: its segment's env seeds, its RNGs
                model.env.seed(segment_seed(cfg, index, model.num_timesteps, model.n_envs))
                if state.get("rng"):
                    set_rng_state(state["rng"])
            interrupted = False
            try:
                with deferred_interrupt() as ctrl_c:
                    callbacks = [StopOnInterrupt(ctrl_c), freeze, TorchThreads(opts.torch_threads), cb]
                    model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=not resumed,
                                tb_log_name="ppo")
                interrupted = ctrl_c.requested
            except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread
                interrupted = True
            if interrupted:
                if getattr(cb, "model", None) is None:  # before learning started: nothing to keep
                    raise StageInterrupted(f"interrupted before stage {stage.name!r} took a step")
                cb.checkpoint()  # keep the steps since the last periodic checkpoint too
                raise StageInterrupted(
                    f"interrupted: stage {stage.name!r} checkpointed at step {model.num_timesteps} in "
                    f"{str(sdir)!r}; continue with the same command and --resume")
            if not state.get("graduated") and _last_eval_step(sdir) < model.num_timesteps:
                cb.evaluate()
            state["finished"] = True
            cb.checkpoint()
        return _finish_stage(cfg, stage, sdir, model, state)
    finally:
        _close_quietly(venv)
        if evaluator is not None:
            _close_quietly(evaluator)


def _close_quietly(closable: Any) -> None:
    """Close envs on the way out of an error: a worker that already died must not raise a second error."""
    try:
        closable.close()
    except (EOFError, BrokenPipeError, ConnectionError, OSError):
        pass


def _resume_state(cfg: CurriculumConfig, index: int, stage: StageConfig, sdir: Path,
                  env_ids: list[str]) -> dict[str, Any]:
    """The counters to resume from; without checkpoint.json (lost in a crash or deleted), the step is recovered
    from checkpoint.zip itself and the rest restarts (wall time, RNG states)."""
    if (sdir / "checkpoint.json").exists():
        return read_json(sdir / "checkpoint.json")
    steps = checkpoint_steps(sdir / "checkpoint.zip")
    print(f"resume: {str(sdir / 'checkpoint.json')!r} is missing; continuing stage {stage.name!r} from step "
          f"{steps} recorded in checkpoint.zip (wall-time counters restart)", file=sys.stderr)
    mode = stage.transfer if (index > 0 or cfg.agent.init_encoder or stage.encoder) else "scratch"
    return {"num_timesteps": steps, "elapsed_s": 0.0, "eval_s": 0.0, "graduated": False, "finished": False,
            "transfer": {"transfer": mode, "from": None, "recovered": True}, "env_ids": env_ids}


def _purge_tensorboard(tb: Path, step: int) -> None:
    """Mark the TensorBoard run a resumed stage continues so that its points after ``step`` (logged before the
    kill, logged again now) are dropped by TensorBoard's reader (a SessionLog START just after ``step``)."""
    from stable_baselines3.common.utils import get_latest_run_id
    run_id = get_latest_run_id(str(tb), "ppo")
    if run_id > 0:
        from torch.utils.tensorboard import SummaryWriter
        SummaryWriter(str(tb / f"ppo_{run_id}"), purge_step=step + 1).close()  # keeps points at step


def _last_eval_step(sdir: Path) -> int:
    rows = read_jsonl(sdir / "evals.jsonl")
    return int(rows[-1]["step"]) if rows else -1


def _finish_stage(cfg: CurriculumConfig, stage: StageConfig, sdir: Path, model: Any, state: dict[str, Any]) -> dict:
    if (sdir / "summary.json").exists():
        raise RunError(f"stage {stage.name!r} in {str(sdir)!r} is already finished; refusing to overwrite it")
    steps = int(state["num_timesteps"])
    train_s = max(state["elapsed_s"] - state.get("eval_s", 0.0), 1e-9)
    save_encoder(encoder_of(model), sdir / "encoder.pt", stage=stage.name, when="end", steps=steps)
    save_model(model, sdir / "model.zip", stage.agent_for(cfg.agent))  # its ppo and memory
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
    if cfg.agent.uses_privileged:
        summary["privileged"] = True
    write_json(sdir / "summary.json", summary)
    return summary
