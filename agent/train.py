"""Train the infant through a curriculum.

    python -m agent.train --curriculum curriculum/default.yaml --out runs/NAME [--n-envs 8] [--resume]

Writes per-stage checkpoints, TensorBoard logs (``tensorboard --logdir runs/NAME``), ``summary.json`` per stage
and the shared encoder after each stage; see :mod:`agent.runner` for the folder layout.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from agent.checkpoint import CheckpointError, CorruptFileError
from agent.cli import add_dataclass_options, dataclass_from_args
from agent.encoder import EncoderCheckpointError
from agent.runner import RunError, RunOptions, StageInterrupted, run_curriculum
from curriculum.config import ConfigError, load_curriculum
from agent.vec_env import EnvWorkerError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m agent.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--curriculum", required=True, help="curriculum YAML/TOML, e.g. curriculum/smoke.yaml")
    p.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (learner and envs) instead of the curriculum's `seed:`, for several seeds "
                        "of one curriculum; recorded in the run's curriculum.json")
    add_dataclass_options(p, RunOptions)  # --n-envs, --in-process, --backend, --resume, --until, ... (RunOptions)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    if a.n_envs < 1:
        print("error: --n-envs must be >= 1", file=sys.stderr)
        return 2
    try:
        cfg = load_curriculum(a.curriculum)
        if a.seed is not None:
            if a.seed < 0:
                raise ConfigError(f"--seed {a.seed}: use a seed >= 0")
            cfg = dataclasses.replace(cfg, seed=a.seed)
        if a.until is not None:
            cfg.stage(a.until)
        opts = dataclass_from_args(RunOptions, a)
        summaries = run_curriculum(cfg, a.out, opts)
    except (ConfigError, RunError, CheckpointError, EncoderCheckpointError, CorruptFileError, FileNotFoundError,
            KeyError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    except EnvWorkerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (EOFError, BrokenPipeError, ConnectionResetError) as e:
        print(f"error: an env worker process died ({type(e).__name__}); its own message is printed above",
              file=sys.stderr)
        return 1
    except StageInterrupted as e:
        print(f"\n{e}", file=sys.stderr)
        return 130  # the shell's code for "ended by SIGINT"
    for s in summaries:
        tag = " (privileged)" if s.get("privileged") else ""  # an upper bound: said beside the number
        print(f"{s['stage']:<24} graduated={s['graduated']!s:<5} steps={s['steps_used']:>8} "
              f"success={s['final_success']}{tag} wall={s['wall_s']:.1f}s env_steps/s={s['env_steps_per_s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
