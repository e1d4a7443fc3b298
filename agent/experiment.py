"""Experiment: does the shared encoder help? Steps to graduate a target stage, transferred vs from scratch.

    python -m agent.experiment --curriculum curriculum/default.yaml --target occluder --seeds 0 1 --out runs/exp

``shared``: the curriculum runs up to and including ``--target`` (the target starts from the previous stage's
encoder, with the curriculum's transfer mode). ``scratch``: only the target stage, with a fresh encoder.
``pretrained`` (with ``--pretrained PATH``): only the target stage, its encoder started from a self-supervised one
(``python -m agent.pretrain``; :mod:`agent.pretrain`) with the stage's transfer mode. Writes
``results.json``, ``transfer.png`` (steps to graduate) and ``curves.png`` (held-out success of the target stage
against its env steps, every arm and seed) into ``--out``; ``--plot-only`` redraws them from a finished run.
``--budget STAGE=STEPS`` (repeatable) sets a stage's budget for this experiment (e.g. a shorter one on a small
machine; a ``freeze-then-unfreeze`` stage keeps its frozen fraction). ``--ray local`` (or ``auto``: the cluster in ``RAY_ADDRESS``) runs the arms × seeds as Ray tasks
(:mod:`agent.sweep`); a trial that failed for good has an ``error`` row and the command exits 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from pathlib import Path

from agent import sweep
from agent.cli import add_dataclass_options
from agent.runner import RunOptions, run_curriculum
from curriculum.config import ConfigError, CurriculumConfig, load_curriculum


def variants(cfg: CurriculumConfig, target: str, seed: int,
             pretrained: str | None = None) -> dict[str, CurriculumConfig]:
    """The arms for one seed: shared, scratch and, given an encoder (``agent.pretrain``), pretrained (the target
    stage alone, its encoder started from that file with the stage's transfer mode, finetune if it is scratch)."""
    idx = [s.name for s in cfg.stages].index(target)
    shared = dataclasses.replace(cfg, seed=seed, stages=cfg.stages[: idx + 1])
    scratch_stage = dataclasses.replace(cfg.stages[idx], transfer="scratch")
    scratch = dataclasses.replace(cfg, seed=seed, stages=(scratch_stage,),
                                  agent=dataclasses.replace(cfg.agent, init_encoder=None))
    arms = {"shared": shared, "scratch": scratch}
    if pretrained is not None:
        mode = "finetune" if cfg.stages[idx].transfer == "scratch" else cfg.stages[idx].transfer
        stage = dataclasses.replace(cfg.stages[idx], encoder=pretrained, transfer=mode)
        arms["pretrained"] = dataclasses.replace(cfg, seed=seed, stages=(stage,),
                                                 agent=dataclasses.replace(cfg.agent, init_encoder=None))
    return arms


def parse_budget(text: str) -> tuple[str, int]:
    """``STAGE=STEPS`` (a ``--budget`` value) → ``(stage, steps)``; ``STEPS`` may use ``_`` (``50_000``)."""
    name, sep, steps = text.partition("=")
    try:
        value = int(steps)
    except ValueError:
        value = 0
    if not sep or not name or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not STAGE=STEPS with STEPS >= 1 (e.g. occluder=50000)")
    return name, value


def with_budgets(cfg: CurriculumConfig, budgets: dict[str, int]) -> CurriculumConfig:
    """``cfg`` with the named stages' budgets replaced; a ConfigError names a stage ``cfg`` lacks."""
    names = [s.name for s in cfg.stages]
    unknown = sorted(set(budgets) - set(names))
    if unknown:
        raise ConfigError(f"--budget names {unknown}, not stages of curriculum {cfg.name!r}; stages: {names}")
    return dataclasses.replace(cfg, stages=tuple(dataclasses.replace(s, budget=budgets.get(s.name, s.budget))
                                                 for s in cfg.stages))


def run_trial(cfg: CurriculumConfig, arm: str, seed: int, run_dir: Path, n_envs: int) -> dict:
    """Train one arm and seed into ``run_dir`` (continuing the run already there) → its row of results.json."""
    # 2 torch threads, as before RunOptions' default followed the machine (a Ray trial reserves 2 CPUs)
    summaries = run_curriculum(cfg, run_dir, RunOptions(n_envs=n_envs, progress=False, torch_threads=2,
                                                        resume=(run_dir / "run.json").exists()))
    s = summaries[-1]
    return {"arm": arm, "seed": seed, "graduated": s["graduated"], "steps_to_graduate": s["graduated_at"],
            "steps_used": s["steps_used"], "budget": s["budget"], "final_success": s["final_success"],
            "wall_s": s["wall_s"], "pre_stage_steps": sum(x["steps_used"] for x in summaries[:-1])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agent.experiment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--curriculum", required=True)
    p.add_argument("--target", required=True, help="stage whose steps-to-graduate are compared")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--out", required=True)
    add_dataclass_options(p, RunOptions, only=("n_envs",))
    p.add_argument("--arms", nargs="+", choices=("shared", "scratch", "pretrained"), default=None,
                   help="which arms to run (e.g. only 'shared' for another transfer mode of the same target); "
                        "default: shared and scratch, and pretrained with --pretrained")
    p.add_argument("--pretrained", default=None,
                   help="an encoder.pt or a folder holding one (python -m agent.pretrain, models/world-model): adds "
                        "the 'pretrained' arm")
    p.add_argument("--budget", type=parse_budget, action="append", default=[], metavar="STAGE=STEPS",
                   help="set a stage's env-step budget for this experiment (repeatable), e.g. occluder=50000")
    p.add_argument("--plot-only", action="store_true", help="only redraw the plots from --out/results.json")
    sweep.add_arguments(p)
    a = p.parse_args(argv)
    if a.arms is None:
        a.arms = ["shared", "scratch"] + (["pretrained"] if a.pretrained else [])
    if "pretrained" in a.arms and not a.pretrained:
        p.error("the 'pretrained' arm needs --pretrained PATH (an encoder.pt or a folder holding one)")
    cfg = load_curriculum(a.curriculum)
    try:
        cfg = with_budgets(cfg, dict(a.budget))
    except ConfigError as e:
        p.error(str(e))
    out = Path(a.out)
    if a.target not in [s.name for s in cfg.stages]:
        p.error(f"--target {a.target!r} is not a stage of {a.curriculum}; stages: {[s.name for s in cfg.stages]}")
    if a.plot_only:
        report(json.loads((out / "results.json").read_text()), out, a.target, cfg)
        return 0
    # rows of other seeds from an earlier invocation into the same --out are kept (a run can be extended)
    done = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else []
    results = [r for r in done if r["seed"] not in a.seeds or r["arm"] not in a.arms]
    trials = [sweep.Trial(out / f"{arm}_seed{seed}", {"arm": arm, "seed": seed},
                          functools.partial(run_trial, c, arm, seed, out / f"{arm}_seed{seed}", a.n_envs))
              for seed in a.seeds for arm, c in variants(cfg, a.target, seed, a.pretrained).items()
              if arm in a.arms]
    failed = []

    def record(trial: sweep.Trial, row: dict | None, error: str | None) -> None:
        if error is not None:  # failed for good: reported in results.json, the other trials go on
            row = {**trial.key, "error": error}
            failed.append(f"{trial.name}: {error}")
        results.append(row)
        print(json.dumps(row), flush=True)
        results.sort(key=lambda r: (r["seed"], r["arm"] != "shared"))
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=2))

    try:
        sweep.run(trials, sweep.options(a), record)
    except sweep.SweepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report(results, out, a.target, cfg)
    for line in failed:
        print(f"error: trial {line}", file=sys.stderr)
    return 1 if failed else 0


def report(results: list[dict], out: Path, target: str, cfg: CurriculumConfig) -> None:
    """``results.json`` with each row's curve statistics, ``transfer.png`` and ``curves.png``."""
    results = with_curve_stats(results, out, target)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, out / "transfer.png", target)
    plot_curves(out, target, out / "curves.png", cfg.stage(target).graduation.threshold)


def with_curve_stats(results: list[dict], out: Path, target: str) -> list[dict]:
    """Each row plus its target-stage curve: mean, best and last held-out success over the evaluations (a stage
    that never graduates still says how far it got)."""
    curves = target_curves(out, target)
    rows = []
    for r in results:
        if "error" in r:  # a trial that failed for good has no curve
            rows.append(r)
            continue
        pts = curves.get((r["arm"], r["seed"]), [])
        rates = [rate for _, rate in pts]
        rows.append({**r, "evals": len(rates), "mean_success": round(sum(rates) / len(rates), 4) if rates else None,
                     "best_success": max(rates) if rates else None, "last_success": rates[-1] if rates else None})
    return rows


def target_curves(out: Path, target: str) -> dict[tuple[str, int], list[tuple[int, float]]]:
    """(arm, seed) → [(env steps into the target stage, held-out success rate)] from each run's evals.jsonl."""
    curves = {}
    for run in sorted(out.glob("*_seed*")):
        arm, _, seed = run.name.rpartition("_seed")
        for evals in run.glob(f"stages/*_{target}/evals.jsonl"):
            rows = [json.loads(line) for line in evals.read_text().splitlines() if line.strip()]
            curves[(arm, int(seed))] = [(int(r["step"]), float(r["success_rate"])) for r in rows]
    return curves


def plot_curves(out: Path, target: str, path: Path, threshold: float | None = None) -> None:
    """Held-out success of the target stage against its env steps: one line per arm and seed (dashed: the
    graduation threshold)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    curves = target_curves(out, target)
    colour = {arm: f"C{i}" for i, arm in enumerate(_arms([arm for arm, _ in curves]))}
    for (arm, seed), pts in sorted(curves.items()):
        if not pts:
            continue
        x, y = zip(*pts)
        ax.plot(x, y, marker="o", ms=3, color=colour[arm], alpha=0.85,
                label=f"{arm} s{seed}", linestyle="-" if seed % 2 == 0 else "--")
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1, label="graduation")
    ax.set_xlabel(f"env steps in '{target}'")
    ax.set_ylabel("held-out success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _arms(names: list[str]) -> list[str]:
    """Arms in plotting order: shared first, scratch last, others (e.g. renamed transfer modes) between."""
    return sorted(set(names), key=lambda a: (a != "shared", a == "scratch", a))


def plot(results: list[dict], path: Path, target: str) -> None:
    """Steps to graduate per arm and seed (a hollow marker at the budget when it never graduated)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    arms = _arms([r["arm"] for r in results])
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(arms), 3.2))
    for i, arm in enumerate(arms):
        for r in (r for r in results if r["arm"] == arm and "error" not in r):
            y = r["steps_to_graduate"] if r["graduated"] else r["budget"]
            x = i + 0.12 * (r["seed"] % 3 - 1)  # seeds side by side: equal step counts would hide each other
            ax.scatter(x, y, s=60, facecolors=f"C{i}" if r["graduated"] else "none", edgecolors=f"C{i}")
            ax.annotate(f"s{r['seed']}", (x + 0.05, y), fontsize=7)
    ax.set_xticks(range(len(arms)), [{"shared": "shared encoder", "scratch": "from scratch"}.get(a, a) for a in arms])
    ax.set_xlim(-0.5, len(arms) - 0.5)
    ax.set_ylabel(f"env steps to graduate '{target}'")
    ax.set_title("hollow = not graduated within budget", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
