"""Compare agents on the permanence battery: one table and one figure from several ``tools.evaluate`` reports.

    python -m tools.compare runs/eval_oracle runs/eval_memoryless runs/eval_random --out runs/compare

Writes ``OUT/compare.md`` (successes per task and condition, one column per agent, chance and condition kind)
and ``OUT/compare.png`` (grouped bars with 95% Wilson intervals; a dash marks chance).
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


def markdown(reports: list[dict[str, Any]]) -> str:
    names = [Path(str(r["agent"])).name for r in reports]
    lines = ["| task | condition | kind | chance | " + " | ".join(names) + " |",
             "|---|---|---|---|" + "---|" * len(names)]
    for task, cond, first, entries in rows(reports):
        chance = "—" if first.get("chance") is None else f"{first['chance']:.2f}"
        cells = ["–" if e is None else f"{e['successes']}/{e['episodes']} [{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]"
                 for e in entries]
        lines.append(f"| {task} | {cond} | {first['kind']} | {chance} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(reports: list[dict[str, Any]], path: Path) -> None:
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
               label=Path(str(rep["agent"])).name)
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
    a = p.parse_args(argv)
    try:
        reports = load_reports(a.reports)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "compare.md").write_text(markdown(reports))
    plot(reports, a.out / "compare.png")
    print(markdown(reports))
    print(f"wrote {a.out / 'compare.md'}, {a.out / 'compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
