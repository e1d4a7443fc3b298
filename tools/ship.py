"""Ship a trained stage as a small model folder that the tools load directly (``models/NAME``).

    python -m tools.ship runs/perm/stages/05_anotb/model.zip --out models/permanence-baseline --how "..."

Writes ``OUT/model.zip`` (the weights and the agent config; the optimizer's moments, which only training needs
and which are two thirds of a checkpoint, are replaced by a fresh optimizer), ``OUT/stage.json`` (what
``tools.evaluate --checkpoint-options`` and ``tools.record`` rebuild the env from) and ``OUT/README.md`` (where it
came from and how it was made). ``tools.evaluate --agent OUT`` and ``tools.record --checkpoint OUT`` take the folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
"""A shipped model stays under 10 MB (it lives in the repository)."""


def ship(checkpoint: str | Path, out: str | Path, how: str) -> Path:
    """Write the model folder; returns its ``model.zip``. Refuses one over :data:`MAX_BYTES`."""
    from agent.checkpoint import checkpoint_agent, checkpoint_path, load_checkpoint, save_model
    from agent.files import atomic_write, check_writable_dir

    src = checkpoint_path(checkpoint)
    stage_json = src.parent / "stage.json"
    if not stage_json.is_file():
        raise FileNotFoundError(f"{str(stage_json)!r} does not exist: ship a model.zip from a run's stage folder")
    agent = checkpoint_agent(src)
    model = load_checkpoint(src, agent)
    policy = model.policy
    policy.optimizer = policy.optimizer_class(policy.parameters(), lr=policy.optimizer.param_groups[0]["lr"],
                                              **policy.optimizer_kwargs)
    out = check_writable_dir(out)
    target = out / "model.zip"
    save_model(model, target, agent)
    size = target.stat().st_size
    if size > MAX_BYTES:
        target.unlink()
        raise ValueError(f"{str(src)!r} gives a {size / 2**20:.1f} MB model (limit 10 MB)")
    shutil.copyfile(stage_json, out / "stage.json")
    atomic_write(out / "README.md", f"# {out.name}\n\nShipped from `{src}` by `python -m tools.ship`.\n\n{how}\n"
                 .encode())
    return target


def main(argv: list[str] | None = None) -> int:
    from agent.checkpoint import CheckpointError

    p = argparse.ArgumentParser(prog="python -m tools.ship", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a run's stages/NN_stage/model.zip")
    p.add_argument("--out", required=True, help="model folder, e.g. models/permanence-baseline")
    p.add_argument("--how", default="", help="how it was made (the command), written into OUT/README.md")
    a = p.parse_args(argv)
    try:
        path = ship(a.checkpoint, a.out, a.how)
    except (OSError, ValueError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
