"""Calibrate the permanence battery: the scripted reference agents' rates over many episodes per condition.

    python -m tools.calibrate --episodes 1000 --max-minutes 7            # repeat until it says "complete"

Runs every (agent, task, condition) of the battery — and, for the ``peeking`` agent, every hidden condition again
with a long search (``--long-search``, 20 s) — in chunks of ``--chunk`` episodes, without rendering (the scripted
agents read geometry, not pixels). Episode ``i`` of a condition always has the held-out seed
``env.seeds.eval_seed(task, i, --seed)``, so chunks add up to exactly the run one long command would make. After
each chunk the counts are saved to ``--out`` (JSON); a later call resumes where the file stops, and stops itself
after ``--max-minutes`` (exit code 3: more to do), so a long calibration can run in short turns on a shared
machine. Every condition first gets ``--first-pass`` episodes, then all go on to ``--episodes``; within a pass
hidden conditions come first, then controls; agents in the order given. ``--markdown`` writes the table
(rates, 95% Wilson intervals, chance, exact counts) next to the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from env.tasks import task_class
from agent.files import atomic_write
from agent.stats import wilson_interval
from tools.evaluate import BATTERY, run_condition

AGENTS = ("peeking", "memoryless", "random", "oracle")
"""Default agents, in the order they run."""


def plan(agents: list[str], tasks: list[str], long_search: float) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """Units to run: (agent, task, label, task options, kind), hidden conditions first."""
    units = []
    for agent in agents:
        for task in tasks:
            cls = task_class(task)
            for label, opts in cls.eval_conditions.items():
                kind = cls.conditions[opts.get("condition", "hidden")]
                units.append((agent, task, label, dict(opts), kind))
                if agent == "peeking" and kind == "hidden" and long_search:
                    units.append((agent, task, f"{label}@search{long_search:g}s",
                                  {**opts, "search_time": long_search}, kind))
    order = {"hidden": 0, "control": 1, "catch": 2}
    return sorted(units, key=lambda u: (order[u[4]], agents.index(u[0])))


class _Quiet:
    def update(self, n: int) -> None:
        pass


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Add the counts of a chunk's report entry to an accumulated one."""
    n = new["episodes"]
    add = {"successes": new["successes"], "episodes": n, "no_choice": round(new["no_choice_rate"] * n),
           "steps": round(new["mean_steps"] * n), "perseverative_errors": new.get("perseverative_errors", 0)}
    out = dict(old) if old else {"kind": new["kind"], "chance": new["chance"], "options": new["options"],
                                 "delay": new["delay"], "successes": 0, "episodes": 0, "no_choice": 0, "steps": 0,
                                 "perseverative_errors": 0, "target_counts": {}, "chosen_counts": {}}
    for k, v in add.items():
        out[k] += v
    for key in ("target_counts", "chosen_counts"):
        counts = dict(out[key])
        for k, v in new[key].items():
            counts[k] = counts.get(k, 0) + v
        out[key] = dict(sorted(counts.items()))
    return out


def _save(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def markdown(data: dict[str, Any]) -> str:
    """The calibration table: one row per task condition, one column per agent."""
    agents = [a for a in data["agents"] if a in data["results"]]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for agent in agents:
        for key, e in data["results"][agent].items():
            task, label = key.split("/", 1)
            rows.setdefault((task, label), {})[agent] = e
    head = (f"Seeds `env.seeds.eval_seed(task, i, {data['seed']})`, i = 0 … n−1; stage {data['env']['stage']}, no "
            "rendering (the agents read geometry). Each cell: successes/episodes, rate [95% Wilson interval]. "
            "`@search20s`: the same condition with `search_time=20`.")
    lines = [head, "",
             "| task | condition | kind | chance | " + " | ".join(agents) + " |",
             "|---|---|---|---|" + "---|" * len(agents)]
    for (task, label), cells in rows.items():
        first = next(iter(cells.values()))
        chance = "—" if first["chance"] is None else f"{first['chance']:.2f}"
        out = []
        for agent in agents:
            e = cells.get(agent)
            if e is None:
                out.append("—")
                continue
            lo, hi = wilson_interval(e["successes"], e["episodes"])
            out.append(f"{e['successes']}/{e['episodes']} {e['successes'] / e['episodes']:.3f} [{lo:.3f}, {hi:.3f}]")
        lines.append(f"| {task} | {label} | {first['kind']} | {chance} | " + " | ".join(out) + " |")
    pers = []
    for agent in agents:
        for key, e in data["results"][agent].items():
            if key.startswith("a_not_b/") and e["episodes"]:
                pers.append(f"{agent} {key.split('/', 1)[1]}: {e['perseverative_errors']}/{e['episodes']}")
    if pers:
        lines += ["", "A-not-B perseverative errors (choosing A on the B trial): " + "; ".join(pers) + "."]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    """One panel per task: each condition's rate per agent, 95% Wilson intervals, chance dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agents = [a for a in data["agents"] if a in data["results"]]
    tasks = list(dict.fromkeys(k.split("/", 1)[0] for a in agents for k in data["results"][a]))
    fig, axes = plt.subplots(len(tasks), 1, figsize=(9, 2.3 * len(tasks)), squeeze=False)
    width = 0.8 / max(len(agents), 1)
    for ax, task in zip(axes[:, 0], tasks):
        labels = list(dict.fromkeys(k.split("/", 1)[1] for a in agents for k in data["results"][a]
                                    if k.startswith(task + "/")))
        for j, agent in enumerate(agents):
            for i, label in enumerate(labels):
                e = data["results"][agent].get(f"{task}/{label}")
                if not e or not e["episodes"]:
                    continue
                rate = e["successes"] / e["episodes"]
                lo, hi = wilson_interval(e["successes"], e["episodes"])
                ax.bar(i + (j - (len(agents) - 1) / 2) * width, rate, width, yerr=[[max(rate - lo, 0.0)], [max(hi - rate, 0.0)]],
                       color=f"C{j}", label=agent if i == 0 else None, capsize=2)
                if e["chance"] is not None and j == 0:
                    ax.hlines(e["chance"], i - 0.45, i + 0.45, colors="k", linestyles="--")
        ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=12)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(task, fontsize=8)
    axes[0, 0].legend(fontsize=7, ncol=len(agents), loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", default=",".join(AGENTS), help="comma-separated scripted agents, in run order")
    ap.add_argument("--tasks", default="all", help=f"'all' or a comma-separated list of {list(BATTERY)}")
    ap.add_argument("--episodes", type=int, default=1000, help="episodes per condition")
    ap.add_argument("--chunk", type=int, default=250, help="episodes per saved chunk")
    ap.add_argument("--first-pass", type=int, default=250,
                    help="every condition first reaches this many episodes, then all go on to --episodes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--long-search", type=float, default=20.0,
                    help="search_time of the peeking agent's extra hidden runs (0: none)")
    ap.add_argument("--max-minutes", type=float, default=7.0, help="stop after this long (rerun to continue)")
    ap.add_argument("--out", type=Path, default=Path("docs/battery/calibration.json"))
    ap.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    ap.add_argument("--plot", type=Path, default=None, help="also write a figure (PNG) here")
    args = ap.parse_args(argv)
    from tools.agents import SCRIPTED
    from tools.evaluate import parse_tasks

    try:
        agents = [a.strip() for a in args.agents.split(",") if a.strip()]
        bad = [a for a in agents if a not in SCRIPTED]
        if bad or not agents:
            raise ValueError(f"--agents {args.agents!r}: choose among {list(SCRIPTED)}")
        tasks = parse_tasks(args.tasks)
        if args.episodes < 1 or args.chunk < 1:
            raise ValueError("--episodes and --chunk must be >= 1")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env_kwargs = {"backend": "mujoco", "width": 32, "height": 32, "stage": "crawling", "render_observations": False}
    data: dict[str, Any] = {"seed": args.seed, "env": env_kwargs, "agents": agents, "results": {}}
    if args.out.exists():
        old = json.loads(args.out.read_text())
        if old.get("seed") != args.seed:
            print(f"error: {args.out} holds seed {old.get('seed')}; pass that --seed or another --out", file=sys.stderr)
            return 2
        data["results"] = old.get("results", {})
        data["agents"] = list(dict.fromkeys(old.get("agents", []) + agents))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 60 * args.max_minutes
    complete = True
    passes = [(goal, unit) for goal in sorted({min(args.first_pass, args.episodes), args.episodes})
              for unit in plan(agents, tasks, args.long_search)]
    for goal, (agent, task, label, opts, _) in passes:
        key = f"{task}/{label}"
        while True:
            done = data["results"].get(agent, {}).get(key, {}).get("episodes", 0)
            if done >= goal:
                break
            if time.monotonic() > deadline:
                complete = False
                break
            n = min(args.chunk, goal - done)
            t0 = time.perf_counter()
            entry = run_condition(task, label, opts, agent, n, args.seed, env_kwargs, _Quiet(), first=done)
            res = data["results"].setdefault(agent, {})
            res[key] = merge(res.get(key), entry)
            _save(args.out, data)
            print(f"{agent} {key}: {res[key]['successes']}/{res[key]['episodes']} "
                  f"(+{n} in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        if not complete:
            break
    if args.markdown:
        args.markdown.write_text(markdown(data))
    if args.plot:
        plot(data, args.plot)
    print("complete" if complete else f"time is up: rerun the same command to continue ({args.out})", file=sys.stderr)
    return 0 if complete else 3


if __name__ == "__main__":
    raise SystemExit(main())
