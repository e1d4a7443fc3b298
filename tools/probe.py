"""Linear probe of the hidden location from a learner's internal state at the first search step.

    python -m tools.probe --curriculum curriculum/diag_lstm.yaml --agent fresh runs/diag_lstm.ckpts/step_*.zip \
        --steps 4000 --n-envs 8 --seed 7 --out runs/probe_lstm

Per agent (``fresh``: the curriculum's learner before any training), it records ``--steps`` steps of ``--n-envs``
in-process envs of the curriculum's stage (sampled actions, as in training; seeds ``--seed`` ...), fits a logistic
regression from each state (``lstm_h``, ``lstm_c``, ``encoder``) at the first search step of every complete trial
to the hidden location on 60% of the trials and scores it on the rest (95% Wilson interval), and reports how often
the policy itself chose the hidden location in those trials. Writes ``DIR/probe.json``, ``DIR/probe.md`` and
``DIR/recording_<agent>.npz`` (the per-step phases and episode starts that ``tools.gradpath`` reads). A
``privileged`` curriculum's numbers are labelled so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from agent.checkpoint import load_checkpoint
from agent.policy import build_model, make_env_fn
from agent.probe import first_search_rows, linear_probe, probe_venv, record
from curriculum.config import ConfigError, load_curriculum
from agent.files import atomic_write
from agent.stats import wilson_interval


def probe_agent(cfg: Any, stage_name: str | None, agent: str, steps: int, n_envs: int, seed: int,
                offsets: tuple[int, ...] = ()) -> tuple[dict, Any]:
    stage = cfg.stage(stage_name) if stage_name else cfg.stages[0]
    kw = stage.make_kwargs(cfg.width, cfg.height, "mujoco")
    if agent == "fresh":
        from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack
        v = DummyVecEnv([make_env_fn(stage.env_ids[0], kw, privileged=cfg.agent.privileged)])
        if cfg.agent.frame_stack > 1:
            v = VecFrameStack(v, cfg.agent.frame_stack)
        model = build_model(cfg.agent, v, cfg.seed, None)
        v.close()
    else:
        model = load_checkpoint(agent, cfg.agent)
    venv = probe_venv(stage.env_ids[0], kw, n_envs, cfg.agent.frame_stack, cfg.agent.privileged)
    rec = record(model, venv, steps, seed)
    n_loc = int(max(rec.target.max(), 0)) + 1
    out: dict[str, Any] = {"agent": agent, "steps": steps, "n_envs": n_envs, "seed": seed,
                           "privileged": bool(cfg.agent.uses_privileged)}
    for key in sorted(rec.features):
        x, y, chosen = first_search_rows(rec, key)
        n_loc = max(n_loc, int(y.max()) + 1)
        out[key] = linear_probe(x, y, n_loc, seed=seed)
        for k in offsets:  # does the memory last into the search?
            try:
                xk, yk, _ = first_search_rows(rec, key, k)
                out[f"{key}@+{k}"] = linear_probe(xk, yk, n_loc, seed=seed)
            except ValueError as e:
                out[f"{key}@+{k}"] = {"error": str(e)}
    _, y, chosen = first_search_rows(rec, next(iter(rec.features)))
    k = int((chosen == y).sum())
    out["trials"] = len(y)
    out["policy_correct"] = {"rate": k / len(y), "ci95": list(wilson_interval(k, len(y))),
                             "no_choice": float((chosen < 0).mean())}
    return out, rec


def markdown(rows: list[dict[str, Any]]) -> str:
    keys = [k for k in ("lstm_h", "lstm_c", "encoder") if any(k in r for r in rows)]
    head = "| agent | trials | policy chose the hidden location | " + " | ".join(
        f"probe on {k} (held-out acc, 95% CI)" for k in keys) + " |"
    lines = [head, "|" + "---|" * (3 + len(keys))]
    for r in rows:
        tag = " (privileged)" if r["privileged"] else ""
        pc = r["policy_correct"]
        cells = [f"{r[k]['test_acc']:.2f} [{r[k]['test_ci95'][0]:.2f}, {r[k]['test_ci95'][1]:.2f}] "
                 f"n={r[k]['n_test']}, chance {r[k]['chance']:.2f}" if k in r else "–" for k in keys]
        lines.append(f"| {Path(r['agent']).stem}{tag} | {r['trials']} | {pc['rate']:.2f} [{pc['ci95'][0]:.2f}, "
                     f"{pc['ci95'][1]:.2f}] (no choice {pc['no_choice']:.2f}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.probe", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--curriculum", required=True, help="the curriculum the agents were trained with")
    ap.add_argument("--stage", default=None, help="stage to record in (default: the first)")
    ap.add_argument("--agent", nargs="+", required=True, help="checkpoint .zip files, or 'fresh' (untrained)")
    ap.add_argument("--steps", type=int, default=4000, help="steps per env recorded per agent")
    ap.add_argument("--n-envs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7, help="seed of the recorded episodes (training-range seeds)")
    ap.add_argument("--offsets", type=int, nargs="*", default=[],
                    help="also probe this many steps after the first search step (trials that last so long)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    try:
        cfg = load_curriculum(a.curriculum)
        for p in a.agent:
            if p != "fresh" and not Path(p).is_file():
                raise ConfigError(f"agent {p!r} is neither 'fresh' nor a checkpoint file")
    except (ConfigError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    import torch
    torch.set_num_threads(1)  # small batches: more threads only contend (2-core machine)
    rows = []
    for agent in a.agent:
        row, rec = probe_agent(cfg, a.stage, agent, a.steps, a.n_envs, a.seed, tuple(a.offsets))
        rows.append(row)
        np.savez_compressed(a.out / f"recording_{Path(agent).stem}.npz", episode_start=rec.episode_start,
                            phase=rec.phase, done=rec.done, target=rec.target, chosen=rec.chosen)
        print(markdown([row]).splitlines()[-1], flush=True)
        for k in sorted(x for x in row if "@+" in x and "test_acc" in row[x]):
            r = row[k]
            print(f"    {k}: {r['test_acc']:.2f} [{r['test_ci95'][0]:.2f}, {r['test_ci95'][1]:.2f}] n={r['n_test']}, "
                  f"chance {r['chance']:.2f}", flush=True)
    atomic_write(a.out / "probe.json", json.dumps(rows, indent=1))
    (a.out / "probe.md").write_text(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
