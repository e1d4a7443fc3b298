"""Compare agents on the permanence battery: one table and one figure from several ``tools.evaluate`` reports.

    python -m tools.compare runs/eval_oracle runs/eval_memoryless runs/eval_random --out runs/compare
    python -m tools.compare runs/eval_s0 runs/eval_s1 runs/eval_s2 --names s0 s1 s2 --pool --out runs/seeds

Writes ``OUT/compare.md`` (successes per task and condition, one column per agent, chance and condition kind)
and ``OUT/compare.png`` (grouped bars with 95% Wilson intervals; a dash marks chance). ``--names`` labels the
columns (default: the agents' file names); ``--pool`` adds a column pooling every report's episodes (training
seeds of one agent: successes and episodes summed, Wilson interval of the sum).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load_reports(dirs: list[Path]) -> list[dict[str, Any]]:
    """The ``report.json`` of each folder (or file), with a clear error for a missing or foreign one."""
    reports = []
    for d in dirs:
        path = d / "report.json" if d.is_dir() else d
        try:
            rep = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{str(path)!r} is not a readable tools.evaluate report ({exc}); run "
                             "python -m tools.evaluate --out DIR first") from None
        if "tasks" not in rep or "agent" not in rep:
            raise ValueError(f"{str(path)!r} is not a tools.evaluate report (no 'tasks'/'agent')")
        reports.append(rep)
    return reports


def rows(reports: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any] | None]]]:
    """(task, condition, first report's entry, each report's entry or None) in the first report's order."""
    out = []
    for task, t in reports[0]["tasks"].items():
        for cond, entry in t["conditions"].items():
            out.append((task, cond, entry, [r["tasks"].get(task, {}).get("conditions", {}).get(cond)
                                            for r in reports]))
    return out


def _names(reports: list[dict[str, Any]], names: list[str] | None) -> list[str]:
    if names is not None and len(names) != len(reports):
        raise ValueError(f"--names gives {len(names)} labels for {len(reports)} reports")
    return names if names is not None else [Path(str(r["agent"])).name for r in reports]


def pooled(entries: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Successes and episodes summed over the reports that ran the condition, with the Wilson interval."""
    from agent.stats import wilson_interval
    got = [e for e in entries if e is not None]
    if not got:
        return None
    k, n = sum(e["successes"] for e in got), sum(e["episodes"] for e in got)
    return {"successes": k, "episodes": n, "rate": k / n if n else 0.0, "ci95": list(wilson_interval(k, n))}


def markdown(reports: list[dict[str, Any]], names: list[str] | None = None, pool: bool = False) -> str:
    names = _names(reports, names) + (["pooled"] if pool else [])
    lines = ["| task | condition | kind | chance | " + " | ".join(names) + " |",
             "|---|---|---|---|" + "---|" * len(names)]
    for task, cond, first, entries in rows(reports):
        chance = "—" if first.get("chance") is None else f"{first['chance']:.2f}"
        cells = ["–" if e is None else f"{e['successes']}/{e['episodes']} [{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]"
                 for e in entries]
        if pool:
            e = pooled(entries)
            cells.append("–" if e is None else f"**{e['rate']:.2f}** [{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]")
        lines.append(f"| {task} | {cond} | {first['kind']} | {chance} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(reports: list[dict[str, Any]], path: Path, names: list[str] | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = rows(reports)
    n = len(reports)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(12.0, max(5.0, 0.25 * len(table) * (n + 1))), 3.8))
    x = np.arange(len(table))
    for k, rep in enumerate(reports):
        rates = [e["rate"] if e else np.nan for *_, es in table for e in [es[k]]]
        lo = [max(0.0, e["rate"] - e["ci95"][0]) if e else 0 for *_, es in table for e in [es[k]]]
        hi = [max(0.0, e["ci95"][1] - e["rate"]) if e else 0 for *_, es in table for e in [es[k]]]
        ax.bar(x + (k - (n - 1) / 2) * width, rates, width, yerr=[lo, hi], capsize=2,
               label=_names(reports, names)[k])
    for i, (_, _, first, _) in enumerate(table):
        if first.get("chance") is not None:
            ax.hlines(first["chance"], i - 0.45, i + 0.45, colors="k", linestyles="dashed", linewidth=1)
    ax.set_xticks(x, [f"{t}\n{c}" for t, c, *_ in table], fontsize=6, rotation=60, ha="right")
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, ncol=n, loc="upper center", bbox_to_anchor=(0.5, 1.15))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reports", nargs="+", type=Path, help="tools.evaluate output folders (or report.json files)")
    p.add_argument("--out", required=True, type=Path, help="folder for compare.md and compare.png")
    p.add_argument("--names", nargs="+", help="column labels, one per report (default: the agents' file names)")
    p.add_argument("--pool", action="store_true", help="add a column pooling all reports' episodes")
    a = p.parse_args(argv)
    try:
        reports = load_reports(a.reports)
        text = markdown(reports, a.names, a.pool)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "compare.md").write_text(text)
    plot(reports, a.out / "compare.png", a.names)
    print(text)
    print(f"wrote {a.out / 'compare.md'}, {a.out / 'compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
