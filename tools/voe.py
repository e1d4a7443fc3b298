"""Violation-of-expectation probes of a pre-trained world model, or of a trained permanence agent.

``python -m tools.voe --model runs/pre --out DIR`` (or ``--model models/world-model``) plays each probe of
:data:`agent.voe.PROBES` as a possible and an impossible event from the same held-out seeds, and compares the
surprise (world-model prediction error) of three models: the trained recurrent one, the same architecture
untrained (random weights), and the trained feed-forward twin (no memory). Writes ``report.json`` (per probe and
model: the paired difference impossible − possible of the surprise and of the looking-time proxy, with a 95 %
bootstrap interval and a sign test; with a reveal head also of the reveal surprise, -log p(outcome seen), and the
trained model's lead over its feed-forward twin, pair by pair), ``report.md``, ``differences.png``, ``curves.png`` and ``pair.mp4`` (one pair
side by side, the surprise curves under it).

``python -m tools.voe --agent models/permanence-baseline --out DIR`` scores the same pairs by a trained agent's
reveal-prediction head instead (:mod:`agent.voe_agent`: reveal surprise only; untrained = fresh weights,
feedforward = its memory wiped at every frame); ``report.md``, ``reveal.png`` and ``pair.mp4`` (its reveal surprise
under the pair).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

MODELS = ("trained", "untrained", "feedforward")


def probe_seeds(n: int, probe: str, base_seed: int, split: str) -> list[int]:
    """``n`` seeds of ``probe``: held-out evaluation seeds (``test``, the reported probes), or homes of the
    pre-training *validation* range (``validation``, :data:`agent.video.VAL_SEEDS`, never trained on) for choosing
    settings without looking at the held-out probes."""
    from agent.video import VAL_SEEDS
    from env.seeds import eval_seeds
    if split == "test":
        return eval_seeds(n, f"voe/{probe}", base_seed)
    key = [base_seed, *probe.encode()]
    return [int(s) for s in np.random.default_rng(key).integers(*VAL_SEEDS, size=n)]


def load_models(model_dir: str, base_seed: int, untrained_head: str = "uniform", agent: bool = False
                ) -> tuple[dict[str, tuple[Any, bool]], dict[str, Any], tuple[str, ...]]:
    """The three models of :data:`MODELS` as ``{name: (model, recurrent)}``, what to report about the trained one
    and the measures they give: a world model (``agent=False``) gives surprise, looking time and, with a reveal
    head, reveal surprise; a permanence agent (:class:`agent.voe_agent.AgentReveal`) its reveal surprise only."""
    import torch

    if agent:
        from agent.voe_agent import AgentReveal
        trained, meta = AgentReveal.load(model_dir)
        untrained = trained.untrained(base_seed + 12345, untrained_head)
        measures: tuple[str, ...] = ("reveal",)
    else:
        from agent.world_model import WorldModel, load_world_model
        trained, meta = load_world_model(model_dir)
        meta = {k: v for k, v in meta.items() if k != "config"}
        torch.manual_seed(base_seed + 12345)
        untrained = WorldModel(**trained.spec).eval()
        if untrained.reveal and untrained_head == "random":
            untrained.reveal_head[2].reset_parameters()
        measures = ("surprise", "looking", "reveal") if trained.reveal else ("surprise", "looking")
    return {"trained": (trained, True), "untrained": (untrained, True), "feedforward": (trained, False)}, meta, measures


def run_probes(model_dir: str, episodes: int, window: int, base_seed: int, probes: list[str],
               split: str = "test", untrained_head: str = "uniform", agent: bool = False) -> dict[str, Any]:
    """Score every probe × model over ``episodes`` seeds of ``split`` (:func:`probe_seeds`); the pairs of the first
    seed are kept too. ``untrained_head``: the untrained model's reveal head as built (``uniform``: a zero last
    layer, it expects nothing) or with PyTorch's default random last layer (``random``: whatever biases it has).
    ``agent``: ``model_dir`` is a trained permanence agent (``--agent``), scored by its reveal head."""
    from agent.voe import LOCATION_PROBES, PROBES, paired_summary, render_pair, reveal_surprise, score, surprise_curves
    if agent and set(probes) - set(LOCATION_PROBES):
        raise ValueError(f"an agent's reveal head predicts where the toy is, not whether it is there: it cannot score "
                         f"{sorted(set(probes) - set(LOCATION_PROBES))}; with --agent choose from "
                         f"{list(LOCATION_PROBES)} (the default)")
    models, meta, measures = load_models(model_dir, base_seed, untrained_head, agent)
    trained = models["trained"][0]
    w, h = trained.spec["width"], trained.spec["height"]
    reveal = "reveal" in measures
    report: dict[str, Any] = {"model": str(model_dir), "kind": "agent" if agent else "world_model",
                              "model_meta": meta, "measures": list(measures),
                              "episodes": episodes, "window": window, "split": split,
                              "untrained_head": untrained_head if trained.reveal else None, "probes": {}}
    first: dict[str, Any] = {}
    for probe in probes:
        rows: dict[str, dict[str, list[float]]] = {m: {k: [] for k in measures} for m in MODELS}
        outcomes = []
        curves: dict[str, list[np.ndarray]] = {f"{m}/{k}": [] for m in MODELS for k in ("possible", "impossible")}
        crit = []
        for i, seed in enumerate(probe_seeds(episodes, probe, base_seed, split)):
            pair = render_pair(probe, seed, w, h)
            crit.append(pair.critical)
            outcomes.append(list(pair.outcomes))
            if i == 0:
                first[probe] = pair
            for name, (m, rec) in models.items():
                if reveal:  # an untrained head predicts uniformly (zero last layer): it expects nothing
                    rp, ri = reveal_surprise(m, pair, rec)
                    rows[name]["reveal"].append(ri - rp)
                if "surprise" not in measures:
                    continue
                sp, si = surprise_curves(m, pair, rec)
                (ap, lp), (ai, li) = score(sp, pair.critical, window), score(si, pair.critical, window)
                rows[name]["surprise"].append(ai - ap)
                rows[name]["looking"].append(li - lp)
                # curves aligned on the critical frame (-10 .. +20)
                for key, c in (("possible", sp), ("impossible", si)):
                    seg = np.full(31, np.nan)
                    lo = pair.critical - 10
                    for j in range(31):
                        if 0 <= lo + j < len(c):
                            seg[j] = c[lo + j]
                    curves[f"{name}/{key}"].append(seg)
        report["probes"][probe] = {
            **{k: v for k, v in PROBES[probe].items()}, "critical_frames": crit,
            "outcomes": outcomes,  # [possible, impossible] seen at the reveal: 0 no toy, 1 + i at location i
            "models": {name: {k: paired_summary(_finite(v), seed=base_seed) for k, v in r.items()}
                       for name, r in rows.items()},
            # per pair, the trained model's difference minus its feed-forward twin's: what memory adds
            "memory_gain": {k: paired_summary(_finite(np.subtract(rows["trained"][k], rows["feedforward"][k])),
                                              seed=base_seed) for k in measures},
            "curves": {k: _nanmean(v) for k, v in curves.items() if v},
        }
    report["_pairs"] = first
    return report


def _finite(values: Any) -> np.ndarray:
    """The finite values (a pair whose reveal outcome is unknown has a NaN reveal surprise); at least one 0."""
    a = np.asarray(values, float)
    a = a[np.isfinite(a)]
    return a if len(a) else np.zeros(1)


def _nanmean(rows: list[np.ndarray]) -> list[float | None]:
    """Column means ignoring NaN (None where a column has no value)."""
    a = np.stack(rows)
    ok = ~np.isnan(a)
    means = np.where(ok.any(0), np.nansum(a, 0) / np.maximum(ok.sum(0), 1), np.nan)
    return [None if np.isnan(v) else round(float(v), 5) for v in means]


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """``report.md``: one table row per probe × model."""
    split = "" if report.get("split", "test") == "test" else " (validation homes, not the held-out probes)"
    surprise = "surprise" in report.get("measures", ("surprise",))
    lines = [f"# Violation-of-expectation probes of `{report['model']}`{split}", ""]
    if surprise:
        lines += [(f"{report['episodes']} paired episodes per probe (held-out seeds); surprise = mean world-model "
                   f"prediction error over {report['window']} frames from the first frame that differs; looking = "
                   "frames of the 20 from it whose surprise is above the pre-critical baseline (mean + 2 sd). "
                   "Differences are impossible − possible, 95% bootstrap interval, two-sided sign test."), "",
                  ("| probe | needs memory | model | surprise diff [95% CI] | + / − | sign p | looking diff (frames) "
                   "[95% CI] |"), "|---|---|---|---|---|---|---|"]
        for probe, r in report["probes"].items():
            for name, m in r["models"].items():
                s, lk = m["surprise"], m["looking"]
                lines.append(f"| {probe} | {'yes' if r['memory'] else 'no'} | {name} | {s['mean']:+.4f} "
                             f"[{s['ci95'][0]:+.4f}, {s['ci95'][1]:+.4f}] | {s['positive']} / {s['negative']} | "
                             f"{s['sign_p']:.2g} | {lk['mean']:+.2f} [{lk['ci95'][0]:+.2f}, {lk['ci95'][1]:+.2f}] |")
    else:
        lines += [(f"{report['episodes']} paired episodes per probe (held-out seeds), scored by a trained agent's "
                   "reveal-prediction head (it has no frame predictor): *untrained* is the same architecture with "
                   "fresh weights, *feedforward* the trained agent with its memory wiped at every frame. The head "
                   "knows locations only, so it scores the probes where the toy reappears elsewhere.")]
    if any("reveal" in r["memory_gain"] for r in report["probes"].values()):
        lines += ["", ("**Reveal surprise**: -log p(outcome seen at the reveal) predicted by the reveal head after the "
                       "last frame both events share (nats); impossible − possible, 95% bootstrap interval, two-sided "
                       "sign test. *trained − feedforward*: per pair, the trained model's difference minus its "
                       "feed-forward twin's (what memory adds). "
                       + ("The untrained head has a random last layer (its chance biases)."
                          if report.get("untrained_head") == "random" else
                          "The untrained head predicts every outcome equally (zero last layer), so its difference "
                          "is 0 by construction.")), "",
                  "| probe | needs memory | model | reveal surprise diff [95% CI] | + / − | sign p | n |",
                  "|---|---|---|---|---|---|---|"]
        for probe, r in report["probes"].items():
            rows = [(name, m["reveal"]) for name, m in r["models"].items()]
            for name, s in rows + [("trained − feedforward", r["memory_gain"]["reveal"])]:
                lines.append(f"| {probe} | {'yes' if r['memory'] else 'no'} | {name} | {s['mean']:+.3f} "
                             f"[{s['ci95'][0]:+.3f}, {s['ci95'][1]:+.3f}] | {s['positive']} / {s['negative']} | "
                             f"{s['sign_p']:.2g} | {s['n']} |")
    lines += ["", "Probes: " + "; ".join(f"**{p}**: {r['what']}" for p, r in report["probes"].items()) + "."]
    path.write_text("\n".join(lines) + "\n")


def _differences(report: dict[str, Any], measure: str, ylabel: str, path: Path) -> None:
    """One probe × model plot of the paired differences of ``measure`` with their intervals."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    probes = list(report["probes"])
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(probes), 3.4))
    for j, name in enumerate(MODELS):
        xs = np.arange(len(probes)) + (j - 1) * 0.25
        ms = [report["probes"][p]["models"][name][measure] for p in probes]
        ax.errorbar(xs, [m["mean"] for m in ms], yerr=np.array([[m["mean"] - m["ci95"][0], m["ci95"][1] - m["mean"]]
                                                                 for m in ms]).T, fmt="o", capsize=3, label=name)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(probes)), probes, rotation=15, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot(report: dict[str, Any], out: Path) -> None:
    """``differences.png`` (paired surprise differences with intervals; ``reveal.png`` the same for the reveal
    surprise) and ``curves.png`` (mean curves)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    probes = list(report["probes"])
    if all("reveal" in report["probes"][p]["memory_gain"] for p in probes):
        _differences(report, "reveal", "reveal surprise (nats): impossible − possible", out / "reveal.png")
    if "surprise" not in report.get("measures", ("surprise",)):
        return  # an agent: no frame predictor, no surprise curves
    _differences(report, "surprise", "surprise: impossible − possible", out / "differences.png")
    fig, axes = plt.subplots(1, len(probes), figsize=(3.2 * len(probes), 3), squeeze=False)
    for ax, p in zip(axes[0], probes):
        for name, color in zip(MODELS, ("C0", "C1", "C2")):
            for kind, style in (("possible", "--"), ("impossible", "-")):
                ax.plot(np.arange(-10, 21), report["probes"][p]["curves"][f"{name}/{kind}"], style, color=color,
                        label=f"{name} {kind}", lw=1)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(p, fontsize=9)
        ax.set_xlabel("frames from the critical frame")
    axes[0][0].set_ylabel("surprise")
    axes[0][-1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)


def write_video(model_dir: str, pair: Any, path: Path, agent: bool = False) -> None:
    """One pair side by side (possible | impossible, upscaled), the trained model's surprise curves under it (an
    agent's: its reveal surprise, -log p(the event's outcome), after each frame)."""
    import imageio.v2 as imageio
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if agent:
        from agent.voe_agent import AgentReveal, reveal_surprise_curves
        sp, si = reveal_surprise_curves(AgentReveal.load(model_dir)[0], pair)
    else:
        from agent.voe import surprise_curves
        from agent.world_model import load_world_model
        sp, si = surprise_curves(load_world_model(model_dir)[0], pair)
    scale = max(1, 192 // pair.possible.shape[1])
    writer = imageio.get_writer(path, fps=10, codec="libx264", quality=7, macro_block_size=16)
    try:
        for t in range(len(pair.possible)):
            top = np.concatenate([pair.possible[t], np.full_like(pair.possible[t][:, :2], 255), pair.impossible[t]], 1)
            top = top.repeat(scale, 0).repeat(scale, 1)
            fig, ax = plt.subplots(figsize=(top.shape[1] / 100, 1.4), dpi=100)
            ax.plot(sp[:t + 1], label="possible")
            ax.plot(si[:t + 1], label="impossible")
            ax.axvline(pair.critical, color="k", lw=0.6)
            ax.set_xlim(0, len(sp))
            ax.set_ylim(0, max(np.nanmax(sp), np.nanmax(si), 0.0) * 1.1 + 1e-6)
            ax.set_title(f"{pair.probe}  t={t}  {pair.phases[t]}", fontsize=7)
            ax.legend(fontsize=6, loc="upper left")
            ax.tick_params(labelsize=6)
            fig.tight_layout(pad=0.2)
            fig.canvas.draw()
            plot_img = np.asarray(fig.canvas.buffer_rgba())[..., :3]
            plt.close(fig)
            frame = np.concatenate([top, plot_img[:, :top.shape[1]]], 0)
            pad_h, pad_w = (-frame.shape[0]) % 16, (-frame.shape[1]) % 16
            writer.append_data(np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=255))
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    from agent.voe import PROBES
    ap = argparse.ArgumentParser(prog="python -m tools.voe", description=__doc__.split("\n\n")[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="a folder written by python -m agent.pretrain (or models/world-model)")
    which.add_argument("--agent", help="a trained permanence agent (model.zip, or a folder such as "
                                       "models/permanence-baseline), scored by its reveal-prediction head")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--episodes", type=int, default=40, help="paired episodes per probe (default 40)")
    ap.add_argument("--window", type=int, default=10, help="frames of surprise from the critical frame (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="base seed of the held-out episodes")
    ap.add_argument("--probes", nargs="+", choices=list(PROBES),
                    help="probes to run (default: all; with --agent the probes it can score, where the toy reappears "
                         "elsewhere)")
    ap.add_argument("--split", choices=("test", "validation"), default="test",
                    help="test: held-out seeds (the reported probes); validation: pre-training validation homes, "
                         "for choosing settings without the held-out seeds")
    ap.add_argument("--untrained-head", choices=("uniform", "random"), default="uniform",
                    help="the untrained model's reveal head: uniform (zero last layer: expects nothing) or random "
                         "(default PyTorch init: its chance biases)")
    ap.add_argument("--video-probe", default="occluder_vanish",
                    help="probe whose first pair goes into pair.mp4 (the first probe run if it is not among them)")
    a = ap.parse_args(argv)
    if a.episodes < 2 or a.window < 1:
        print("error: --episodes must be >= 2 and --window >= 1", file=sys.stderr)
        return 2
    from agent.voe import LOCATION_PROBES
    probes = a.probes or list(LOCATION_PROBES if a.agent else PROBES)
    out = Path(a.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        report = run_probes(a.model or a.agent, a.episodes, a.window, a.seed, probes, a.split, a.untrained_head,
                            agent=a.agent is not None)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    pairs = report.pop("_pairs")
    from agent.files import write_json
    write_json(out / "report.json", report)
    write_markdown(report, out / "report.md")
    plot(report, out)
    probe = a.video_probe if a.video_probe in pairs else next(iter(pairs))
    write_video(a.model or a.agent, pairs[probe], out / "pair.mp4", agent=a.agent is not None)
    print((out / "report.md").read_text())
    figures = [f for f in ("differences.png", "reveal.png", "curves.png") if (out / f).exists()]
    print(f"wrote {out}/report.json, report.md, {', '.join(figures)}, pair.mp4")
    return 0


if __name__ == "__main__":
    sys.exit(main())
