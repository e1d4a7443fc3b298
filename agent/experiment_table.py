"""Per-stage table of finished ``agent.experiment`` runs: steps to graduate and final held-out success per stage
and arm, with 95% intervals over training seeds, and the differences between arms.

    python -m agent.experiment_table runs/exp_look runs/exp_approach runs/exp_occluder --out runs/exp_stages

Every stage of every run counts, not only an experiment's target: the ``shared`` arm of ``--target occluder``
trains ``look`` and ``approach`` first, and those stages are the shared arm's rows for them. A stage that started
from a fresh encoder is labelled ``scratch`` whatever its run's arm (the first stage of a shared run is a
from-scratch run of that stage); a stage, arm and seed found twice counts once (the first folder given wins).
Steps to graduate count a stage that never graduated at its budget, so its mean is a lower bound ("≥") then.
Writes ``stages.json`` (rows, per stage and arm statistics, differences), ``table.md`` and ``stages.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from agent.stats import difference_interval, mean_interval

ARM_ORDER = ("pretrained", "shared", "scratch")


def stage_rows(outs: list[Path]) -> list[dict[str, Any]]:
    """One row per (stage, arm, seed) from the finished stages (``summary.json``) of the runs in ``outs``."""
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for out in outs:
        for run in sorted(p for p in out.glob("*_seed*") if p.is_dir()):
            run_arm, _, seed = run.name.rpartition("_seed")
            for summary in sorted(run.glob("stages/*/summary.json")):
                s = json.loads(summary.read_text())
                arm = "scratch" if (s.get("transfer") or {}).get("transfer") == "scratch" else run_arm
                key = (s["stage"], arm, int(seed))
                if key in rows:
                    continue
                rows[key] = {"stage": s["stage"], "arm": arm, "seed": int(seed), "graduated": s["graduated"],
                             "steps_to_graduate": s["graduated_at"], "budget": s["budget"],
                             "steps_used": s["steps_used"], "final_success": s["final_success"],
                             "eval_episodes": s.get("eval_episodes"), "run": str(summary.parent)}
    return list(rows.values())


def _stat(values: list[float], low: float, high: float) -> dict[str, float | None]:
    """Mean and 95% t interval, the interval clipped to the values' possible range [low, high] (a t interval
    over 5 seeds of a bounded figure can reach past it)."""
    mean, lo, hi = mean_interval(values)
    if math.isnan(lo):
        return {"mean": mean, "low": None, "high": None}
    return {"mean": mean, "low": max(low, lo), "high": min(high, hi)}


def summarize(rows: list[dict[str, Any]], baseline: str = "scratch") -> dict[str, Any]:
    """Per stage and arm: seeds, graduated count, steps to graduate (the budget where it did not) and final
    held-out success, each a mean with its 95% t interval; per stage, each arm minus ``baseline`` (Welch 95%
    interval) and whether the interval excludes 0."""
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    arms: dict[str, dict[str, Any]] = {}
    diffs: dict[str, dict[str, Any]] = {}
    for stage in stages:
        by_arm = {arm: [r for r in rows if r["stage"] == stage and r["arm"] == arm]
                  for arm in ARM_ORDER + tuple(sorted({r["arm"] for r in rows} - set(ARM_ORDER)))}
        arms[stage], diffs[stage] = {}, {}
        for arm, rs in by_arm.items():
            if not rs:
                continue
            rs = sorted(rs, key=lambda r: r["seed"])
            steps = [float(r["steps_to_graduate"] if r["graduated"] else r["budget"]) for r in rs]
            success = [float(r["final_success"]) for r in rs]
            arms[stage][arm] = {"seeds": [r["seed"] for r in rs], "graduated": sum(r["graduated"] for r in rs),
                                "censored": any(not r["graduated"] for r in rs),
                                "steps": _stat(steps, 0.0, max(float(r["budget"]) for r in rs)),
                                "final_success": _stat(success, 0.0, 1.0), "steps_values": steps, "success_values": success,
                                "graduated_values": [bool(r["graduated"]) for r in rs]}
        base = arms[stage].get(baseline)
        for arm, st in arms[stage].items():
            if arm == baseline or base is None or len(st["seeds"]) < 2 or len(base["seeds"]) < 2:
                continue
            d: dict[str, Any] = {"neither_graduated": st["graduated"] == 0 and base["graduated"] == 0}
            for key in ("steps", "success"):
                diff, lo, hi = difference_interval(st[f"{key}_values"], base[f"{key}_values"])
                d[key] = {"difference": diff, "low": lo, "high": hi, "supported": lo > 0 or hi < 0}
            diffs[stage][arm] = d
    return {"stages": stages, "arms": arms, "differences": diffs, "baseline": baseline}


def _ci(stat: dict[str, float | None], fmt: str) -> str:
    if stat["low"] is None:
        return fmt.format(stat["mean"])
    return f"{fmt.format(stat['mean'])} [{fmt.format(stat['low'])}, {fmt.format(stat['high'])}]"


def markdown(summary: dict[str, Any]) -> str:
    """The table (one row per stage and arm) and the differences to the baseline arm, as Markdown."""
    lines = [("| stage | arm | seeds | graduated | steps to graduate, mean [95% CI] | final held-out success, mean "
             "[95% CI] |"), "|---|---|---|---|---|---|"]
    for stage in summary["stages"]:
        for arm, st in summary["arms"][stage].items():
            steps = ("≥ " if st["censored"] else "") + _ci(st["steps"], "{:,.0f}")
            lines.append(f"| {stage} | {arm} | {len(st['seeds'])} | {st['graduated']}/{len(st['seeds'])} | {steps} | "
                         f"{_ci(st['final_success'], '{:.3f}')} |")
    base = summary["baseline"]
    lines += ["", (f"| stage | arm − {base} | steps to graduate, difference [95% CI] | final held-out success, "
              "difference [95% CI] |"), "|---|---|---|---|"]
    for stage in summary["stages"]:
        for arm, d in summary["differences"][stage].items():
            cells = []
            for key, fmt in (("steps", "{:+,.0f}"), ("success", "{:+.3f}")):
                x = d[key]
                if key == "steps" and d["neither_graduated"]:
                    cells.append("none: neither graduated")
                    continue
                cells.append(f"{fmt.format(x['difference'])} [{fmt.format(x['low'])}, {fmt.format(x['high'])}]"
                             + ("" if x["supported"] else " (none)"))
            lines.append(f"| {stage} | {arm} | {cells[0]} | {cells[1]} |")
    lines += ["", ("| stage | arm | per seed: steps to graduate (– not within the budget) | per seed: final held-out "
              "success |"), "|---|---|---|---|"]
    for stage in summary["stages"]:
        for arm, st in summary["arms"][stage].items():
            steps = ", ".join(f"s{s} {v / 1000:.0f}k" if g else f"s{s} –"
                              for s, v, g in zip(st["seeds"], st["steps_values"], st["graduated_values"]))
            success = ", ".join(f"s{s} {v:.3f}" for s, v in zip(st["seeds"], st["success_values"]))
            lines.append(f"| {stage} | {arm} | {steps} | {success} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], path: Path) -> None:
    """Two panels (steps to graduate; final held-out success): per stage, one column of seeds per arm with the
    mean and its 95% interval (hollow: never graduated, plotted at the budget)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    arms = [a for a in ARM_ORDER if any(a in summary["arms"][s] for s in summary["stages"])]
    arms += sorted({a for s in summary["stages"] for a in summary["arms"][s]} - set(arms))
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.0))
    width = 0.8 / max(len(arms), 1)
    for ax, key, values, label in ((axes[0], "steps", "steps_values", "env steps to graduate (budget if not)"),
                                    (axes[1], "final_success", "success_values", "final held-out success")):
        for i, stage in enumerate(summary["stages"]):
            for j, arm in enumerate(arms):
                st = summary["arms"][stage].get(arm)
                if st is None:
                    continue
                x = i + (j - (len(arms) - 1) / 2) * width
                hollow = [not g and key == "steps" for g in st["graduated_values"]]
                xs = [x + 0.03 * (k - (len(st[values]) - 1) / 2) for k in range(len(st[values]))]
                for xk, yk, h in zip(xs, st[values], hollow):
                    ax.scatter(xk, yk, s=14, facecolors="none" if h else f"C{j}", edgecolors=f"C{j}", alpha=0.6)
                if arm not in ax.get_legend_handles_labels()[1]:
                    ax.scatter([], [], s=14, color=f"C{j}", label=arm)
                s = st[key]
                if s["low"] is not None:
                    ax.errorbar(x, s["mean"], yerr=[[s["mean"] - s["low"]], [s["high"] - s["mean"]]], fmt="_",
                                color=f"C{j}", ms=14, capsize=3, lw=1.5)
        ax.set_xticks(range(len(summary["stages"])), summary["stages"])
        ax.set_ylabel(label, fontsize=8)
    axes[1].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agent.experiment_table", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="--out folders of python -m agent.experiment")
    p.add_argument("--out", required=True, help="folder for stages.json, table.md and stages.png")
    p.add_argument("--stages", nargs="+", default=None, help="only these stages, in this order (default: all)")
    a = p.parse_args(argv)
    missing = [r for r in a.runs if not Path(r).is_dir()]
    if missing:
        print(f"error: {missing} are not folders; pass the --out folders of python -m agent.experiment",
              file=sys.stderr)
        return 2
    rows = stage_rows([Path(r) for r in a.runs])
    if a.stages:
        rows = [r for s in a.stages for r in rows if r["stage"] == s]
    if not rows:
        print(f"error: no finished stage (stages/*/summary.json) in {a.runs}", file=sys.stderr)
        return 2
    summary = summarize(rows)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stages.json").write_text(json.dumps({"rows": rows, **summary}, indent=2))
    (out / "table.md").write_text(markdown(summary))
    plot(summary, out / "stages.png")
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
