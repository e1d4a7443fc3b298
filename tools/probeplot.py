"""Plot linear-probe accuracy per checkpoint and into the search, from ``tools.probe`` outputs.

    python -m tools.probeplot \
        --runs "LSTM (sb3 sequences)=runs/probe_lstm/probe.json,runs/probe_lstm_offsets/probe.json" \
        "LSTM, whole-episode sequences=runs/probe_episode/probe.json" \
        --offsets runs/probe_lstm_offsets/probe.json --key lstm_c --out docs/permanence_probe.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _step(agent: str) -> int:
    name = Path(agent).stem
    if name == "fresh":
        return 0
    return int(name.split("_")[1]) if name.startswith("step_") else -1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.probeplot", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", required=True, help="LABEL=probe.json[,probe.json...]")
    ap.add_argument("--offsets", type=Path, default=None, help="a probe.json run with --offsets (right panel)")
    ap.add_argument("--key", default="lstm_c", help="which state to plot (lstm_c, lstm_h, encoder)")
    ap.add_argument("--final-step", type=int, default=151552, help="step of a model.zip (final) agent")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2 if a.offsets else 1, figsize=(9 if a.offsets else 4.5, 3.4), squeeze=False)
    for i, spec in enumerate(a.runs):
        label, _, files = spec.partition("=")
        rows = [r for f in files.split(",") for r in json.loads(Path(f).read_text())]
        pts = sorted((_step(r["agent"]) if _step(r["agent"]) >= 0 else a.final_step, r[a.key]) for r in rows)
        ax[0, 0].errorbar([s / 1000 for s, _ in pts], [p["test_acc"] for _, p in pts], capsize=2, fmt="o",
                          color=f"C{i}", label=label,
                          yerr=[[p["test_acc"] - p["test_ci95"][0] for _, p in pts],
                                [p["test_ci95"][1] - p["test_acc"] for _, p in pts]])
    ax[0, 0].set(xlabel="training steps (k)", ylabel="probe accuracy (held-out)", ylim=(0.3, 1),
                 title=f"hidden location from {a.key}\nat the first search step")
    ax[0, 0].axhline(0.5, ls="--", c="gray")
    ax[0, 0].legend(fontsize=7)
    if a.offsets:
        for j, r in enumerate(json.loads(a.offsets.read_text())):
            offs = [0] + sorted(int(k.split("@+")[1]) for k in r if k.startswith(a.key + "@+"))
            keys = [a.key] + [f"{a.key}@+{k}" for k in offs[1:]]
            step = _step(r["agent"]) if _step(r["agent"]) >= 0 else a.final_step
            ax[0, 1].plot(offs, [r[k]["test_acc"] for k in keys], "o-", color=f"C{j + 2}", label=f"{step // 1000}k")
        ax[0, 1].axhline(0.5, ls="--", c="gray")
        ax[0, 1].set(xlabel="steps into the search", ylim=(0.3, 1), title="does it last?")
        ax[0, 1].legend(fontsize=7)
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
