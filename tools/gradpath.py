"""How often RecurrentPPO's gradient joins a trial's hiding to its choice (sb3-contrib's sequence cutting).

    python -m tools.gradpath --recording runs/probe_lstm/recording_step_150000.npz \
        --settings 128x16x256 64x16x256 --epochs 4 --out runs/gradpath.json

Reads a recording written by ``tools.probe`` (per env and step: episode starts, phases, ends; real episodes of a
policy), cuts it into rollouts of ``n_envs`` × ``n_steps`` for every ``--settings`` ``N_STEPSxN_ENVSxBATCH`` and
each rollout into gradient sequences with sb3-contrib's own ``RecurrentRolloutBuffer`` (see
:mod:`agent.seqpath`), and prints per setting the share of trials whose hiding and choice share a sequence
(95% Wilson interval), the BPTT lengths, and the share of sequences that start from a stored state.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from agent.files import atomic_write
from agent.seqpath import Recording, gradient_path


def _setting(text: str) -> tuple[int, int, int]:
    try:
        n_steps, n_envs, batch = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use N_STEPSxN_ENVSxBATCH, e.g. 128x16x256") from None
    return n_steps, n_envs, batch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.gradpath", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recording", type=Path, required=True, help="recording_*.npz from tools.probe")
    ap.add_argument("--settings", type=_setting, nargs="+", default=[(128, 16, 256)],
                    help="N_STEPSxN_ENVSxBATCH (default: the default curriculum's 128x16x256)")
    ap.add_argument("--epochs", type=int, default=4, help="gradient epochs per rollout (a new rotation each)")
    ap.add_argument("--burn-in", type=int, default=200,
                    help="skip trials that start in the first steps (the envs all start an episode at step 0)")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    a = ap.parse_args(argv)
    if not a.recording.is_file():
        print(f"error: recording {str(a.recording)!r} not found; write one with python -m tools.probe",
              file=sys.stderr)
        return 2
    d = np.load(a.recording)
    rec = Recording(d["episode_start"], d["phase"], d["done"], d["target"], d["chosen"])
    results = []
    for n_steps, n_envs, batch in a.settings:
        try:
            r = gradient_path(rec, n_steps, n_envs, batch, a.epochs, burn_in=a.burn_in)
            if not r["trials"]:
                raise ValueError(f"no complete trial starts between step {a.burn_in} and the last whole rollout; "
                                 "record more steps or lower --burn-in")
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        results.append(r)
        hc, ws = r["hide_and_choice"], r["from_episode_start"]
        print(f"{n_steps}x{n_envs}x{batch}: trials={r['trials']} hide&choice in one sequence "
              f"{hc['rate']:.3f} [{hc['ci95'][0]:.3f}, {hc['ci95'][1]:.3f}]  whole hiding "
              f"{r['whole_hide_and_choice']['rate']:.3f}  from episode start {ws['rate']:.3f}  "
              f"search terms reaching hide {r['search_terms_reaching_hide']:.3f}  BPTT len mean "
              f"{r['seq_len']['mean']:.1f} median {r['seq_len']['median']:.0f} p10-p90 "
              f"{r['seq_len']['p10']:.0f}-{r['seq_len']['p90']:.0f}  from stored state "
              f"{r['seq_from_stored_state']:.3f}  episode len mean {r['episode_len']['mean']:.1f}")
    if a.out is not None:
        atomic_write(a.out, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
