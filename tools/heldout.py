"""Held-out success of a curriculum's learner, as its graduation evaluations measure it, on more episodes.

    python -m tools.heldout --curriculum curriculum/diag_lstm.yaml --agent runs/diag_lstm/stages/00_occluder/model.zip \
        --episodes 200 [--greedy] [--stage NAME] [--out FILE.json]

Runs :class:`agent.evaluation.Evaluator` (the battery's held-out seeds: episode ``i`` is episode ``i`` of
``tools.evaluate --seed 0``) with the curriculum's agent options, so frame stacks and ``privileged`` input are
rebuilt as in training; prints the success rate with its 95% Wilson interval (labelled ``privileged`` when the
agent was given the hidden location).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent.evaluation import Evaluator
from agent.checkpoint import CheckpointError, load_checkpoint
from agent.files import atomic_write
from curriculum.config import ConfigError, load_curriculum


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.heldout", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--curriculum", required=True)
    ap.add_argument("--agent", required=True, help="a checkpoint .zip trained with that curriculum")
    ap.add_argument("--stage", default=None, help="stage whose envs to evaluate on (default: the last)")
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--greedy", action="store_true", help="most likely action (default: sampled, as in training)")
    ap.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    a = ap.parse_args(argv)
    try:
        cfg = load_curriculum(a.curriculum)
        stage = cfg.stage(a.stage) if a.stage else cfg.stages[-1]
        model = load_checkpoint(a.agent, cfg.agent)
    except (ConfigError, CheckpointError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(1)
    ev = Evaluator(stage.envs(cfg.width, cfg.height, "mujoco"), cfg.agent)
    try:
        res = ev.evaluate(model, a.episodes, deterministic=a.greedy)
    finally:
        ev.close()
    row = {"agent": a.agent, "curriculum": a.curriculum, "stage": stage.name, "greedy": a.greedy,
           "privileged": cfg.agent.uses_privileged, **res.as_dict()}
    tag = " (privileged)" if cfg.agent.uses_privileged else ""
    print(f"{a.agent}{tag}: success {res.success_rate:.3f} [{res.ci95[0]:.3f}, {res.ci95[1]:.3f}] over "
          f"{res.episodes} held-out episodes ({'greedy' if a.greedy else 'sampled'}), mean length "
          f"{res.mean_length:.1f}")
    if a.out is not None:
        atomic_write(a.out, json.dumps(row, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
