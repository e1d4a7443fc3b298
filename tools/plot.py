"""Plots of a training run: learning curves per stage and a curriculum timeline (PNGs in RUN_DIR/plots).

    python -m tools.plot runs/NAME
    python -m tools.plot runs/NAME_s0 runs/NAME_s1 runs/NAME_s2 --out DIR   # seeds of one curriculum: DIR/seeds.png

With several runs (training seeds of one curriculum) it draws ``seeds.png``: per stage, each run's held-out
success against the stage's env steps, and the graduation threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent.checkpoint import read_jsonl


def plot_run(run: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write ``curves.png`` (per stage: held-out success and training return vs steps) and ``timeline.png``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = Path(run)
    stages = sorted(p for p in (run / "stages").glob("*_*") if p.is_dir())
    if not stages:
        raise FileNotFoundError(f"{str(run)!r} holds no stages/ folder; is it a run of python -m agent.train?")
    out = Path(out) if out else run / "plots"
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3.2), squeeze=False)
    for ax, sdir in zip(axes[0], stages):
        evals, train = read_jsonl(sdir / "evals.jsonl"), read_jsonl(sdir / "train.jsonl")
        summary = json.loads((sdir / "summary.json").read_text()) if (sdir / "summary.json").exists() else {}
        if evals:
            ax.plot([r["step"] for r in evals], [r["success_rate"] for r in evals], "o-", label="held-out success")
        if train:
            rows = [r for r in train if "success_rate" in r]
            ax.plot([r["step"] for r in rows], [r["success_rate"] for r in rows], alpha=0.6, label="train success")
        if "threshold" in summary:
            ax.axhline(summary["threshold"], ls="--", c="gray", lw=1, label="graduation")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(sdir.name.split("_", 1)[1] + (" ✓" if summary.get("graduated") else ""))
        ax.set_xlabel("env steps")
    axes[0][0].set_ylabel("success rate")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    curves = out / "curves.png"
    fig.savefig(curves, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.45 * len(stages)))
    start = 0
    for i, sdir in enumerate(stages):
        summary = json.loads((sdir / "summary.json").read_text()) if (sdir / "summary.json").exists() else {}
        ckpt = json.loads((sdir / "checkpoint.json").read_text()) if (sdir / "checkpoint.json").exists() else {}
        steps = summary.get("steps_used", ckpt.get("num_timesteps", 0))
        color = "tab:green" if summary.get("graduated") else ("tab:red" if summary else "tab:orange")
        ax.barh(i, steps, left=start, color=color)
        ax.text(start + steps / 2, i, sdir.name.split("_", 1)[1], ha="center", va="center", fontsize=8)
        start += steps
    ax.set_yticks([])
    ax.set_xlabel("cumulative env steps (green: graduated, red: budget spent, orange: in progress)")
    ax.invert_yaxis()
    fig.tight_layout()
    timeline = out / "timeline.png"
    fig.savefig(timeline, dpi=100)
    plt.close(fig)
    return [curves, timeline]


def plot_seeds(runs: list[str | Path], out: str | Path) -> Path:
    """``out/seeds.png``: per stage (by name, in the first run's order), each run's held-out success curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stage_dirs: list[dict[str, Path]] = []
    for run in map(Path, runs):
        dirs = {p.name.split("_", 1)[1]: p for p in sorted((run / "stages").glob("*_*")) if p.is_dir()}
        if not dirs:
            raise FileNotFoundError(f"{str(run)!r} holds no stages/ folder; is it a run of python -m agent.train?")
        stage_dirs.append(dirs)
    names = list(stage_dirs[0])
    # a grid, not one row: a 20-stage curriculum in one row is 64 inches wide and unreadable in a doc
    ncols = min(5, len(names))
    nrows = -(-len(names) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes, names):
        for run, dirs in zip(runs, stage_dirs):
            if name not in dirs:
                continue
            evals = read_jsonl(dirs[name] / "evals.jsonl")
            ax.plot([r["step"] for r in evals], [r["success_rate"] for r in evals], "o-", ms=3, label=Path(run).name)
            summary = json.loads((dirs[name] / "summary.json").read_text()) if (dirs[name] / "summary.json").exists() \
                else {}
            if "threshold" in summary:
                ax.axhline(summary["threshold"], ls="--", c="gray", lw=1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(name)
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:.0f}k")
    for row in grid:
        row[0].set_ylabel("held-out success")
    for ax in axes[max(0, len(names) - ncols):len(names)]:
        ax.set_xlabel("env steps in the stage")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "seeds.png", dpi=100)
    plt.close(fig)
    return out / "seeds.png"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.plot", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="+", help="run folder(s) written by python -m agent.train")
    p.add_argument("--out", default=None, help="folder for the PNGs (default RUN/plots; needed for several runs)")
    a = p.parse_args(argv)
    try:
        if len(a.run) > 1:
            if a.out is None:
                print("error: several runs need --out DIR (where seeds.png goes)", file=sys.stderr)
                return 2
            print(plot_seeds(a.run, a.out))
            return 0
        for q in plot_run(a.run[0], a.out):
            print(q)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
