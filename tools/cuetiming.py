"""When the hidden toy is on screen: red toy pixels per observation of a battery trial, held still.

    python -m tools.cuetiming --episodes 60 [--env-id Peekaboo/Occluder-v2] [--task-option n_screens=2 ...]

Resets ``--episodes`` episodes (seeds 1000, 1001, ...) at 64×64 and takes the no-op action through show and
hide into the first search step; per observation index prints the mean number of toy-red pixels (R > 120,
G < 70, B < 70: the battery's red ball), the share of episodes with any, and the mean column of those pixels
per hidden location. Gives the gap between the last frame that shows where the toy went and the first search
step, i.e. how many frames a frame stack needs.
"""

from __future__ import annotations

import argparse
import sys

import gymnasium as gym
import numpy as np

import env  # noqa: F401  (registers ids)
from tools.evaluate import _option


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.cuetiming", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env-id", default="Peekaboo/Occluder-v2")
    ap.add_argument("--episodes", type=int, default=60)
    ap.add_argument("--steps", type=int, default=21, help="observations per episode (0 = the reset's)")
    ap.add_argument("--task-option", type=_option, action="append",
                    default=[("n_screens", 2), ("screen_distance", 0.9), ("screen_spacing", 0.6)],
                    help="KEY=VALUE task options (default: the diagnosis' 2 screens at 0.9 m, 0.6 m apart)")
    a = ap.parse_args(argv)
    e = gym.make(a.env_id, width=64, height=64, **dict(a.task_option))
    red = np.zeros((a.episodes, a.steps))
    col = np.full((a.episodes, a.steps), np.nan)
    targets = []
    for s in range(a.episodes):
        obs, info = e.reset(seed=1000 + s)
        targets.append(int(info["privileged"]["target_index"]))
        for t in range(a.steps):
            m = (obs[..., 0] > 120) & (obs[..., 1] < 70) & (obs[..., 2] < 70)
            red[s, t] = m.sum()
            if m.any():
                col[s, t] = np.nonzero(m)[1].mean()
            obs, *_, info = e.step(0)
    e.close()
    tg = np.array(targets)
    print("observation index:", list(range(a.steps)))
    print("mean toy pixels:  ", np.round(red.mean(0), 1).tolist())
    print("share with any:   ", np.round((red > 0).mean(0), 2).tolist())
    for k in sorted(set(targets)):
        with np.errstate(all="ignore"):
            print(f"mean column, target {k}:", np.round(np.nanmean(col[tg == k], 0), 1).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
