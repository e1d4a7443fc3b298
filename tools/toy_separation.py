"""How much of each encoder's latent the hidden toy is, on the violation-of-expectation pairs.

    python -m tools.toy_separation --encoders "world model=models/world-model" \
        "RL look+approach=runs/exp/shared_seed*/stages/01_approach/encoder.pt" --random 5 --episodes 12 --out DIR

A world model can only be surprised by what its encoder tells apart. After the critical frame the possible and the
impossible event differ only by the toy (a few pixels at 64×64), so the latent distance between them, relative to
the distance between two homes at the same moment, says how much of the latent the toy is; the same ratio for
pixels says how much of the image it is (:func:`agent.voe.toy_separation`). Each ``LABEL=PATH`` group is an
``encoder.pt``, a folder holding one, or a glob of them (e.g. the training seeds of one arm); ``--random N`` adds
N untrained encoders of the same architecture. Per group: the toy's share of the latent per memory probe
and over them, a mean over the group's encoders with a 95% t interval. Writes ``report.json`` and ``report.md``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path
from typing import Any

import numpy as np

MEMORY_PROBES = ("occluder_vanish", "cups_vanish", "occluder_swap")


def _paths(spec: str) -> tuple[str, list[Path]]:
    label, sep, pattern = spec.partition("=")
    if not sep or not label or not pattern:
        raise ValueError(f"--encoders {spec!r}: expected LABEL=PATH (an encoder.pt, a folder, or a glob)")
    paths = [Path(p) / "encoder.pt" if Path(p).is_dir() else Path(p) for p in sorted(glob.glob(pattern))]
    if not paths:
        raise FileNotFoundError(f"--encoders {spec!r}: no file matches {pattern!r}")
    return label, paths


def run(groups: list[str], random: int, episodes: int, window: int, base_seed: int) -> dict[str, Any]:
    """The report: per group and probe, the toy's share of the latent (pair distance / home distance) and the
    pair distance itself (mean 1 − cosine between the events' latents)."""
    import torch
    import gymnasium as gym

    from agent.encoder import InfantEncoder, build_encoder, read_encoder
    from agent.stats import mean_interval
    from agent.voe import render_pair, toy_separation
    from env.seeds import eval_seeds

    encoders: dict[str, list[Any]] = {}
    shapes = set()
    for spec in groups:
        label, paths = _paths(spec)
        encoders[label] = [build_encoder(p).eval() for p in paths]
        for path in paths:
            blob = read_encoder(path)
            shapes.add((tuple(blob["obs_shape"]), blob["arch"], int(blob["features_dim"])))
    if len(shapes) != 1:
        raise ValueError(f"the encoders differ in (input shape, architecture, width): {sorted(shapes)}; compare "
                         "encoders of one resolution and architecture")
    (shape, arch, features_dim), = shapes
    if random:
        space = gym.spaces.Box(0, 255, shape, dtype="uint8")
        encoders["random init"] = []
        for i in range(random):
            torch.manual_seed(base_seed + i)
            encoders["random init"].append(InfantEncoder(space, features_dim, arch).eval())
    height, width = shape[1], shape[2]
    report: dict[str, Any] = {"episodes": episodes, "window": window, "resolution": [width, height], "probes": {},
                              "groups": {label: len(e) for label, e in encoders.items()}}
    shares: dict[str, list[list[float]]] = {label: [[] for _ in e] for label, e in encoders.items()}
    for probe in MEMORY_PROBES:
        pairs = [render_pair(probe, s, width, height) for s in eval_seeds(episodes, f"voe/{probe}", base_seed)]
        row: dict[str, Any] = {}
        pixel = None
        for label, encs in encoders.items():
            values, distances = [], []
            for i, enc in enumerate(encs):
                sep = toy_separation(enc, pairs, window)
                pixel = float(sep["pixel_pair"].mean() / sep["pixel_homes"].mean())
                share = float(sep["latent_pair"].mean() / sep["latent_homes"].mean())
                values.append(share)
                distances.append(float(sep["latent_pair"].mean()))
                shares[label][i].append(share)
            mean, lo, hi = mean_interval(values)
            row[label] = {"share": mean, "ci95": None if np.isnan(lo) else [lo, hi], "values": values,
                          "pair_distance": float(np.mean(distances))}
        report["probes"][probe] = {"pixel_share": pixel, "latent_share": row}
    report["overall"] = {}
    for label, per_encoder in shares.items():
        values = [float(np.mean(v)) for v in per_encoder]
        mean, lo, hi = mean_interval(values)
        report["overall"][label] = {"share": mean, "ci95": None if np.isnan(lo) else [lo, hi], "values": values}
    report["overall_pixel_share"] = float(np.mean([r["pixel_share"] for r in report["probes"].values()]))
    return report


def _cell(x: dict[str, Any]) -> str:
    ci = f" [{x['ci95'][0]:.4f}, {x['ci95'][1]:.4f}]" if x["ci95"] else ""
    return f"{x['share']:.4f}{ci}"


def markdown(report: dict[str, Any]) -> str:
    probes = list(report["probes"])
    lines = ["| encoder (n) | " + " | ".join(probes) + " | mean over probes |",
             "|---" * (len(probes) + 2) + "|",
             "| pixels | " + " | ".join(f"{report['probes'][p]['pixel_share']:.4f}" for p in probes)
             + f" | {report['overall_pixel_share']:.4f} |"]
    for label, n in report["groups"].items():
        lines.append(f"| {label} ({n}) | " + " | ".join(_cell(report["probes"][p]["latent_share"][label])
                                                     for p in probes) + f" | {_cell(report['overall'][label])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.toy_separation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoders", nargs="+", required=True, metavar="LABEL=PATH",
                    help="groups of encoders: an encoder.pt, a folder holding one, or a glob (quote it)")
    ap.add_argument("--random", type=int, default=0, help="add N untrained encoders (default 0)")
    ap.add_argument("--episodes", type=int, default=12, help="pairs per probe (default 12)")
    ap.add_argument("--window", type=int, default=10, help="frames from the critical frame (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="base seed of the held-out pairs")
    ap.add_argument("--out", required=True, help="folder for report.json and report.md")
    a = ap.parse_args(argv)
    if a.episodes < 2 or a.window < 1 or a.random < 0:
        print("error: --episodes must be >= 2, --window >= 1 and --random >= 0", file=sys.stderr)
        return 2
    try:
        report = run(a.encoders, a.random, a.episodes, a.window, a.seed)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from agent.files import write_json
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "report.json", report)
    (out / "report.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
