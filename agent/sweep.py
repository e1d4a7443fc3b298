"""Trials of a sweep as Ray tasks: on this machine (``local``) or on the cluster in ``RAY_ADDRESS`` (``auto``).

Each trial is one task that asks Ray for the CPUs (and GPUs) it uses and writes into its own run folder, so the
sweep's output folder must be on a filesystem that every node sees (on one machine it always is). A fresh worker
process runs each trial (``max_calls=1``: no torch threads, env processes or memory carried over from another
trial).

Faults: a trial whose worker dies (``kill -9``, out of memory, a lost node) is run again, at most
``max_retries`` times, and continues from its run folder's last checkpoint (the runner's resume logic: at most one
checkpoint interval is lost). An exception raised by the trial itself is not retried (it would fail the same
way): it is reported with its message, and the other trials still finish.

``ray`` is imported only when a sweep asks for it (``pip install -e '.[cluster]'``).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.checkpoint import read_json

INSTALL_HINT = "ray is not installed; install the cluster extra: pip install -e '.[cluster]'"
KILL_ONCE_ENV = "PEEKABOO_SWEEP_KILL_ONCE"
"""Tests only: a marker path. The first trial to write a checkpoint creates it and SIGKILLs its own worker, so
that a worker death happens mid-run exactly once (the retry finds the marker and runs on)."""


class SweepError(RuntimeError):
    """Ray is missing or its cluster cannot be reached; no trial has run."""


@dataclass(frozen=True)
class RayOptions:
    """Where and with what resources the trials run."""

    ray: str = "local"
    """Which cluster: ``local`` starts one on this machine for this sweep; ``auto`` joins the one in
    ``RAY_ADDRESS`` (or the one ``ray start --head`` started on this machine)."""
    trial_cpus: float = 2.0
    """CPUs Ray reserves for each trial: what its env processes and learner use."""
    trial_gpus: float = 0.0
    """GPUs Ray reserves for each trial (fractions share a GPU)."""
    max_retries: int = 2
    """How many times a trial whose worker died is run again before it is reported as failed."""


@dataclass(frozen=True)
class Trial:
    """One unit of a sweep."""

    run_dir: Path
    """The run folder the trial writes into (resumed from on a retry); its name names the trial."""
    key: dict[str, Any]
    """What identifies the trial in the results (e.g. arm and seed): a failed trial's row is these and ``error``."""
    fn: Callable[[], dict[str, Any]]
    """Runs the trial and returns its result row; must pickle (a module-level function or a partial of one)."""

    @property
    def name(self) -> str:
        return self.run_dir.name


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The sweep flags of a command (``agent.experiment``; later sweeps take the same)."""
    g = p.add_argument_group("Ray (optional: pip install -e '.[cluster]')")
    g.add_argument("--ray", choices=("auto", "local"), default=None,
                   help="run the trials as Ray tasks: 'local' starts a cluster on this machine, 'auto' joins the one "
                        "in RAY_ADDRESS (--out must be on storage every node sees); default: one after another here")
    g.add_argument("--trial-cpus", type=float, default=RayOptions.trial_cpus,
                   help="CPUs each trial reserves (default 2: the 2 env processes of an even --n-envs; the learner "
                        "works while they wait)")
    g.add_argument("--trial-gpus", type=float, default=RayOptions.trial_gpus, help="GPUs each trial reserves")
    g.add_argument("--max-retries", type=int, default=RayOptions.max_retries,
                   help="reruns of a trial whose worker died, each from its last checkpoint (default 2)")


def options(a: argparse.Namespace) -> RayOptions | None:
    """The parsed flags of :func:`add_arguments`; None without ``--ray`` (the trials run one after another)."""
    if a.ray is None:
        return None
    return RayOptions(a.ray, a.trial_cpus, a.trial_gpus, a.max_retries)


def run(trials: list[Trial], opts: RayOptions | None,
        on_done: Callable[[Trial, dict[str, Any] | None, str | None], None]) -> None:
    """Run ``trials`` on Ray (``opts``) or, without, one after another in this process (an exception then stops
    the sweep, as in a plain run); ``on_done`` as in :func:`run_trials`."""
    if opts is not None:
        run_trials(trials, opts, on_done)
        return
    for trial in trials:
        on_done(trial, trial.fn(), None)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SweepError(INSTALL_HINT) from None
    return ray


def run_trials(trials: list[Trial], opts: RayOptions,
               on_done: Callable[[Trial, dict[str, Any] | None, str | None], None]) -> None:
    """Run ``trials`` as Ray tasks; ``on_done(trial, row, error)`` is called in the order they finish (``row``
    None and ``error`` set for a trial that failed for good)."""
    ray = import_ray()
    started = _connect(ray, opts.ray)
    try:
        if opts.ray == "local":  # (a cluster that autoscales may add the nodes a trial needs)
            _check_fits(ray, opts)
        task = ray.remote(num_cpus=opts.trial_cpus, num_gpus=opts.trial_gpus, max_retries=opts.max_retries,
                          retry_exceptions=False, max_calls=1)(_run_trial)
        pending = {task.remote(t.fn, str(t.run_dir)): t for t in trials}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                trial = pending.pop(ref)
                try:
                    row, error = ray.get(ref), None
                except ray.exceptions.RayError as e:
                    row, error = None, _describe(ray, e, opts.max_retries)
                on_done(trial, row, error)
    finally:
        if started:
            ray.shutdown()


def _connect(ray: Any, address: str) -> bool:
    """Connect to (or start) the cluster; True when this call started it (and so must shut it down)."""
    if ray.is_initialized():  # a caller (a notebook, a test) already chose the cluster
        return False
    if address == "local":
        # The results travel as small dicts: a small object store spares the machine's shared memory.
        ray.init(include_dashboard=False, object_store_memory=128 * 2**20, logging_level="warning")
        return True
    try:
        ray.init(address="auto", logging_level="warning")
    except ConnectionError as e:
        where = os.environ.get("RAY_ADDRESS")
        raise SweepError(f"no Ray cluster at {'RAY_ADDRESS=' + where if where else 'this machine'} ({e}); start "
                         "one with `ray start --head` and set RAY_ADDRESS=<head>:6379, or use --ray local") from None
    return True


def _check_fits(ray: Any, opts: RayOptions) -> None:
    """A trial that asks for more than the cluster has would wait forever: say so instead."""
    have = ray.cluster_resources()
    for name, want, flag in (("CPU", opts.trial_cpus, "--trial-cpus"), ("GPU", opts.trial_gpus, "--trial-gpus")):
        if want > have.get(name, 0.0):
            raise SweepError(f"each trial asks for {want:g} {name}s but this machine's Ray cluster has "
                             f"{have.get(name, 0.0):g}; lower {flag}")


def _describe(ray: Any, e: Exception, max_retries: int) -> str:
    """One line for the report: the trial's own exception, or how its worker was lost."""
    if isinstance(e, ray.exceptions.RayTaskError) and e.cause is not None:
        return f"{type(e.cause).__name__}: {e.cause}"
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__} after {max_retries} retries: {first}"


def _run_trial(fn: Callable[[], dict[str, Any]], run_dir: str) -> dict[str, Any]:
    """The Ray task: run the trial; a retry says from which step it continued (``resumed_from_step``)."""
    folder = Path(run_dir)
    before = steps_done(folder)
    marker = os.environ.get(KILL_ONCE_ENV)
    if marker:
        _kill_once_after_checkpoint(folder, Path(marker))
    row = fn()
    return {**row, "resumed_from_step": before} if before else row


def steps_done(run_dir: Path) -> int:
    """Env steps a run folder already holds: finished stages' steps plus the running stage's last checkpoint."""
    total = 0
    for sdir in sorted(run_dir.glob("stages/*")):
        if (sdir / "summary.json").exists():
            total += int(read_json(sdir / "summary.json")["steps_used"])
        elif (sdir / "checkpoint.json").exists():
            total += int(read_json(sdir / "checkpoint.json")["num_timesteps"])
    return total


def _kill_once_after_checkpoint(run_dir: Path, marker: Path) -> None:
    """See :data:`KILL_ONCE_ENV`. The marker records the steps the folder held when the worker was killed."""

    def watch() -> None:
        while not marker.exists():
            if any(run_dir.glob("stages/*/checkpoint.json")):
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:  # another trial took the one kill
                    return
                os.write(fd, f"{run_dir.name} {steps_done(run_dir)}\n".encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True, name="kill-once").start()
