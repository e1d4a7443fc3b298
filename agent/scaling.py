"""Scaling curves of the world-model pre-training: held-out loss against model size N and data size D.

``python -m agent.scaling --out runs/scaling`` trains a grid of widths (``features_dim`` = GRU width) × data sizes
(training frames, nested: each set is the start of the next) for the same number of epochs, and scores each run by
its loss on one held-out validation set (other homes). Fits, in log-log space:

- L(N): log L = c_D − α log N, one intercept per data size and one shared slope (all points are used);
- L(D): log L = c_N − β log D, likewise with one intercept per width;
- the compute frontier: L_min(C) over the runs not beaten by a cheaper run, C = 6 · N · frames seen;

each with a 95 % interval (t distribution of the least-squares slope). With an additive law
L = E + A/N^α + B/D^β the compute-optimal model grows as N_opt ∝ C^(β/(α+β)) and data as D_opt ∝ C^(α/(α+β)),
the quantities Pearce et al. (2024) report for world models. Writes ``results.json``, ``scaling.png`` and
``scaling.md``. ``--quick`` is a tiny grid for tests; the default grid takes a few minutes on one CPU core, and
``--widths``/``--frames`` scale it up on a bigger machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np


def fit_power_law(x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> dict[str, Any]:
    """Least-squares fit of ``y = a_g · x^(−exponent)`` (one prefactor per group, one shared exponent).

    Returns the exponent, its standard error and 95 % interval (t distribution with n − groups − 1 degrees of
    freedom), the prefactor of each group and the residual sd in log space."""
    from scipy import stats
    x, y = np.asarray(x, float), np.asarray(y, float)
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a power law needs positive x and y")
    g = np.zeros(len(x), int) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    k = int(g.max()) + 1
    design = np.zeros((len(x), k + 1))
    design[np.arange(len(x)), g] = 1.0
    design[:, k] = -np.log(x)
    coef, *_ = np.linalg.lstsq(design, np.log(y), rcond=None)
    resid = np.log(y) - design @ coef
    dof = len(x) - k - 1
    out: dict[str, Any] = {"exponent": float(coef[k]), "prefactors": np.exp(coef[:k]).tolist(), "n": len(x),
                           "dof": dof}
    if dof > 0:
        s2 = float(resid @ resid) / dof
        cov = s2 * np.linalg.pinv(design.T @ design)
        se = float(np.sqrt(max(cov[k, k], 0.0)))
        t = float(stats.t.ppf(0.975, dof))
        out.update(se=se, ci95=[float(coef[k] - t * se), float(coef[k] + t * se)], resid_sd=float(np.sqrt(s2)))
    else:
        out.update(se=None, ci95=None, resid_sd=None)
    return out


def frontier(compute: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Indices of the runs no cheaper run beats (the lower envelope of loss against compute), by compute."""
    order = np.argsort(compute)
    keep, best = [], np.inf
    for i in order:
        if loss[i] < best:
            keep.append(int(i))
            best = loss[i]
    return np.array(keep, int)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A sweep."""

    widths: tuple[int, ...] = (16, 32, 64, 128)
    """Model widths: the encoder's ``features_dim`` and the GRU's width."""
    frames: tuple[int, ...] = (3072, 6144, 12288, 24576)
    """Training frames of each data size (nested sets)."""
    size: int = 32
    """Frame width and height, pixels."""
    clip_len: int = 48
    """Frames per clip."""
    val_frames: int = 1536
    """Held-out validation frames (the same for every run)."""
    epochs: float = 16.0
    """Passes over each run's data (steps = epochs × frames / (batch × clip_len))."""
    batch_size: int = 16
    """Clips per step."""
    seed: int = 0
    """Seed of the video and the weights."""
    steps: int | None = None
    """Train every run this many steps instead of ``epochs`` passes: the runs of one width are then
    compute-matched, and L(D) measures more distinct video at the same compute."""


QUICK = Grid(widths=(8, 16, 32), frames=(480, 960, 1920), size=24, clip_len=24, val_frames=240, epochs=2.0,
             batch_size=8)
"""A tiny grid for tests (about half a minute)."""


def run_grid(grid: Grid, out: Path, progress: bool = True, video_dir: Path | None = None) -> dict[str, Any]:
    """Train every (width, frames) run of ``grid`` and fit the scaling laws; returns ``results.json``'s content."""
    from agent.files import read_json, write_json
    from agent.pretrain import ModelConfig, PretrainConfig, TrainConfig, build_model, pretrain
    from agent.video import VideoConfig
    rows: list[dict[str, Any]] = []
    video = video_dir or out / "video"
    for width in grid.widths:
        for frames in grid.frames:
            steps = grid.steps or max(1, round(grid.epochs * frames / (grid.batch_size * grid.clip_len)))
            data = VideoConfig(frames=frames, val_frames=grid.val_frames, clip_len=grid.clip_len,
                               shard_clips=frames // grid.clip_len)  # one shard per size: nested by the clip plan
            cfg = PretrainConfig(name=f"w{width}_d{frames}", width=grid.size, height=grid.size, seed=grid.seed,
                                 data=data, model=ModelConfig(features_dim=width, hidden=width),
                                 train=TrainConfig(steps=steps, batch_size=grid.batch_size, shift=2,
                                                   eval_every=steps, checkpoint_every=steps))
            run = out / "runs" / cfg.name
            s = read_json(run / "summary.json") if (run / "summary.json").exists() else \
                pretrain(cfg, run, resume=run.exists(), progress=progress, video_dir=video)
            model = build_model(cfg)
            n_params = sum(p.numel() for m in (model.encoder, model.predictor) for p in m.parameters())
            rows.append({"width": width, "frames": frames, "params": n_params, "steps": steps,
                         "frames_seen": steps * grid.batch_size * grid.clip_len,
                         "compute": 6.0 * n_params * steps * grid.batch_size * grid.clip_len,
                         "val_loss": s["val_final"]["loss"], "val_untrained": s["val_untrained"]["loss"],
                         "train_s": s["train_s"]})
            for f in run.glob("checkpoint.pt"):
                f.unlink()  # keep the sweep folder small: the summaries are what the fits need
    n = np.array([r["params"] for r in rows], float)
    d = np.array([r["frames"] for r in rows], float)
    c = np.array([r["compute"] for r in rows], float)
    loss = np.array([r["val_loss"] for r in rows], float)
    fit_n = fit_power_law(n, loss, groups=d)
    fit_d = fit_power_law(d, loss, groups=n)
    front = frontier(c, loss)
    fit_c = fit_power_law(c[front], loss[front]) if len(front) >= 3 else None
    a, b = fit_n["exponent"], fit_d["exponent"]
    alloc = {"N_opt_exponent": b / (a + b), "D_opt_exponent": a / (a + b)} if a > 0 and b > 0 else None
    results = {"grid": dataclasses.asdict(grid), "runs": rows, "L_of_N": fit_n, "L_of_D": fit_d,
               "frontier": {"runs": front.tolist(), "fit": fit_c}, "allocation": alloc}
    write_json(out / "results.json", results)
    plot(results, out / "scaling.png")
    (out / "scaling.md").write_text(markdown(results))
    return results


def plot(results: dict[str, Any], path: Path) -> None:
    """Log-log plots of loss against N (one line per data size), against D (per width) and against compute."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    rows = results["runs"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, key, by, label in ((axes[0], "params", "frames", "N (parameters)"),
                               (axes[1], "frames", "width", "D (training frames)")):
        for v in sorted({r[by] for r in rows}):
            pts = sorted((r[key], r["val_loss"]) for r in rows if r[by] == v)
            ax.plot(*zip(*pts), "o-", label=f"{by}={v}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("held-out loss")
    fit = results["L_of_N"]
    axes[0].set_title(f"L ∝ N^-{fit['exponent']:.3f}", fontsize=9)
    axes[1].set_title(f"L ∝ D^-{results['L_of_D']['exponent']:.3f}", fontsize=9)
    ax = axes[2]
    ax.plot([r["compute"] for r in rows], [r["val_loss"] for r in rows], "o", color="0.6")
    front = results["frontier"]["runs"]
    ax.plot([rows[i]["compute"] for i in front], [rows[i]["val_loss"] for i in front], "o-", color="C3",
            label="frontier")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C = 6·N·frames seen")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(fit: dict[str, Any] | None) -> str:
    if fit is None:
        return "— (fewer than 3 frontier points)"
    ci = fit.get("ci95")
    return f"{fit['exponent']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else " (no interval: too few points)")


def markdown(results: dict[str, Any]) -> str:
    """``scaling.md``: the runs and the fitted exponents."""
    g = results["grid"]
    lines = ["| width | parameters N | training frames D | steps | held-out loss | untrained loss | train s |",
             "|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        lines.append(f"| {r['width']} | {r['params']:,} | {r['frames']:,} | {r['steps']} | {r['val_loss']:.4f} | "
                     f"{r['val_untrained']:.4f} | {r['train_s']:.0f} |")
    alloc = results["allocation"]
    budget = f"{g['steps']} steps per run" if g.get("steps") else f"{g['epochs']:g} epochs"
    lines += ["", (f"Grid: {g['size']}×{g['size']} px, clips of {g['clip_len']} frames, {budget}, "
              f"batch {g['batch_size']}, seed {g['seed']}."), "",
              f"- L(N) exponent α = {_fmt(results['L_of_N'])} (shared slope over data sizes, 95% interval)",
              f"- L(D) exponent β = {_fmt(results['L_of_D'])} (shared slope over widths)",
              f"- frontier L_min(C) exponent = {_fmt(results['frontier']['fit'])}"]
    if alloc:
        lines.append(f"- implied compute-optimal allocation N_opt ∝ C^{alloc['N_opt_exponent']:.2f}, "
                     f"D_opt ∝ C^{alloc['D_opt_exponent']:.2f}")
    else:
        lines.append("- no compute-optimal allocation: an exponent is not positive (loss did not fall with N or D)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agent.scaling", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (finished runs in it are reused)")
    ap.add_argument("--quick", action="store_true", help="a tiny grid (tests)")
    ap.add_argument("--widths", type=int, nargs="+", default=None, help="model widths (default 16 32 64 128)")
    ap.add_argument("--frames", type=int, nargs="+", default=None, help="data sizes in training frames")
    ap.add_argument("--epochs", type=float, default=None, help="passes over each run's data")
    ap.add_argument("--steps", type=int, default=None, help="the same number of steps for every run (compute-matched "
                    "within a width) instead of --epochs")
    ap.add_argument("--video-dir", default=None, help="where the video shards are cached (default: OUT/video)")
    ap.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    a = ap.parse_args(argv)
    grid = QUICK if a.quick else Grid()
    for name in ("widths", "frames", "epochs", "steps"):
        v = getattr(a, name)
        if v is not None:
            grid = dataclasses.replace(grid, **{name: tuple(v) if isinstance(v, list) else v})
    if len(grid.widths) < 2 or len(grid.frames) < 2 or min(grid.widths) < 1 or min(grid.frames) < grid.clip_len:
        print(f"error: use >= 2 widths and >= 2 data sizes of at least {grid.clip_len} frames", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        results = run_grid(grid, out, a.progress, Path(a.video_dir) if a.video_dir else None)
    except KeyboardInterrupt:
        print(f"interrupted: finished runs are kept; continue with the same command (--out {a.out})", file=sys.stderr)
        return 130
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(markdown(results))
    print(f"wrote {out}/results.json, scaling.png, scaling.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
