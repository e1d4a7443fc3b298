"""Evaluate an agent on the object-permanence battery.

    python -m tools.evaluate --agent {oracle,memoryless,random,peeking,PATH.zip} --tasks all --episodes 50 --seed 0 --out DIR

Writes ``DIR/report.json`` (per task and condition: successes, episodes, rate, 95% Wilson interval, chance level,
condition kind; A-not-B perseverative-error rate; the success-vs-delay curve), ``DIR/report.md`` (a table) and
plots (``DIR/<task>.png``: success per condition with intervals and the chance line; ``DIR/delay_curve.png``).
Wall-clock timing goes to ``DIR/timing.json`` so that the same seed gives the same ``report.json``.

Held-out seeds: episode ``i`` of a task runs with :func:`env.seeds.eval_seed` ``(task, i, --seed)``, which lies in
``[2**31, 2**32)``; training seeds lie below :data:`env.seeds.TRAIN_SEED_MAX` = ``2**31``, so evaluation homes and
episodes are disjoint from training ones by construction.

Privileged information: only the oracle is given ``info["privileged"]`` (where the toy is hidden); every other
agent gets :func:`env.tasks.base.public_info` of each step's info. The scoring reads the privileged block.
Scripted agents read geometry, not pixels, so they run without rendering (``render_observations=False``);
``--render`` renders anyway.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import env as peekaboo
from agent.stats import wilson_interval
from env.seeds import eval_seed
from env.tasks import task_class
from env.tasks.base import PRIVILEGED, public_info

if TYPE_CHECKING:
    from tools.agents import MemoryChoice

BATTERY: tuple[str, ...] = ("occluder", "cups", "a_not_b", "delayed_response", "occluded_trajectory")
"""Tasks that ``--tasks all`` runs."""


def env_id_of(task: str) -> str:
    """The registered gymnasium id of a task name."""
    return peekaboo.check_env_id(task)


def parse_tasks(spec: str) -> list[str]:
    """``all`` or a comma-separated list of battery task names (an error names the valid ones)."""
    if spec == "all":
        return list(BATTERY)
    names = [t.strip() for t in spec.split(",") if t.strip()]
    bad = [t for t in names if t not in BATTERY]
    if bad or not names:
        raise ValueError(f"unknown task(s) {bad or spec!r}; choose 'all' or a comma-separated list of {list(BATTERY)}")
    return names


def check_task_options(tasks: list[str], options: dict[str, Any]) -> None:
    """Every ``--task-option`` must be an option of every task run; else an error saying which tasks take it."""
    from dataclasses import fields

    takes = {t: {f.name for f in fields(task_class(t).Config)} for t in BATTERY}
    for key in options:
        wrong = [t for t in tasks if key not in takes[t]]
        if wrong:
            right = [t for t in BATTERY if key in takes[t]]
            where = f"it applies to {right}: pass --tasks {','.join(right)}" if right else \
                "no battery task takes it (task options: " + ", ".join(
                    f"{t}: {sorted(takes[t] - {'condition', 'target'})}" for t in tasks) + ")"
            raise ValueError(f"--task-option {key} is not an option of {wrong}; {where}")


def run_episode(env, agent, seed: int) -> tuple[dict[str, Any], int]:
    """One episode of ``agent`` (an agent that is not ``privileged`` never sees ``info["privileged"]``); the last
    ``info`` (complete, for scoring) and the number of steps."""
    obs, info = env.reset(seed=seed)
    agent.reset(seed)
    show = (lambda i: i) if getattr(agent, "privileged", False) else public_info
    done, steps = False, 0
    while not done:
        obs, _, terminated, truncated, info = env.step(agent.act(obs, show(info)))
        done = terminated or truncated
        steps += 1
    return info, steps


def run_condition(task: str, label: str, options: dict[str, Any], agent_name: str, episodes: int, seed: int,
                  env_kwargs: dict[str, Any], progress, sampled: bool = False, first: int = 0,
                  trust_pickle: bool = False, memory: MemoryChoice = "model") -> dict[str, Any]:
    """Run episodes ``first`` … ``first + episodes - 1`` of one condition; returns its report entry."""
    from tools.agents import make_agent

    env = peekaboo.make(env_id_of(task), **env_kwargs, **options)
    try:
        agent = make_agent(agent_name, env, sampled, trust_pickle, memory)
        t = env.unwrapped.task
        successes = perseverative = no_choice = steps = 0
        targets: dict[str, int] = {}
        chosen: dict[str, int] = {}
        for i in range(first, first + episodes):
            info, n = run_episode(env, agent, eval_seed(task, i, seed))
            steps += n
            successes += int(info["is_success"])
            perseverative += int(info.get("perseverative_error", False))
            no_choice += int(info.get("chosen_index", -1) == -1)
            # Where the toy was and where the agent went (-1: none): a side bias shows here.
            for counts, k in ((targets, info.get(PRIVILEGED, {}).get("target_index", -1)),
                              (chosen, info.get("chosen_index", -1))):
                counts[str(k)] = counts.get(str(k), 0) + 1
            progress.update(1)
        lo, hi = wilson_interval(successes, episodes)
        entry: dict[str, Any] = {
            "condition": t.config.condition, "kind": t.kind, "options": options, "delay": t.config.delay,
            "delay_mode": t.config.delay_mode, "successes": successes, "episodes": episodes,
            "rate": successes / episodes, "ci95": [lo, hi], "chance": t.chance,
            "no_choice_rate": no_choice / episodes, "mean_steps": steps / episodes,
            "target_counts": dict(sorted(targets.items())), "chosen_counts": dict(sorted(chosen.items())),
        }
        if task == "a_not_b":
            entry["perseverative_errors"] = perseverative
            entry["perseverative_error_rate"] = perseverative / episodes
            entry["perseverative_ci95"] = list(wilson_interval(perseverative, episodes))
        return entry
    finally:
        env.close()


def evaluate(agent: str, tasks: list[str], episodes: int, seed: int, env_kwargs: dict[str, Any],
             task_options: dict[str, Any] | None = None, show_progress: bool = True,
             sampled: bool = False, trust_pickle: bool = False,
             task_defaults: dict[str, dict[str, Any]] | None = None, memory: MemoryChoice = "model") -> dict[str, Any]:
    """The whole report as a dict (deterministic for a given seed; ``sampled``: a checkpoint's actions are drawn
    from its policy, with torch's generator seeded per episode). ``task_defaults``: per task, options under the
    conditions' own (e.g. a checkpoint's training options, :func:`checkpoint_options`); ``task_options`` go over
    every condition of every task. ``memory``: a recurrent checkpoint's memory half-life (:mod:`agent.memory`):
    ``model`` (what it was trained with), ``None`` (a perfect memory) or seconds."""
    from tqdm import tqdm

    from tools.agents import SCRIPTED

    if episodes < 1:
        raise ValueError(f"--episodes {episodes}: need at least 1 episode per condition")
    if sampled and agent in SCRIPTED:
        raise ValueError("--sampled applies to a trained checkpoint; the scripted agents have one way to act")
    check_task_options(tasks, task_options or {})
    plan = [(t, label, {**(task_defaults or {}).get(t, {}), **opts, **(task_options or {})}) for t in tasks
            for label, opts in task_class(t).eval_conditions.items()]
    actions = "scripted" if agent in SCRIPTED else "sampled" if sampled else "greedy"
    report: dict[str, Any] = {"agent": agent, "actions": actions, "memory": _memory_of(agent, memory, trust_pickle),
                              "episodes_per_condition": episodes, "seed": seed,
                              "env": env_kwargs, "seed_scheme": "env.seeds.eval_seed(task, i, seed) in [2**31, 2**32)",
                              "tasks": {}}
    with tqdm(total=len(plan) * episodes, desc=f"evaluate {agent}", unit="ep", disable=not show_progress,
              file=sys.stderr) as bar:
        for task, label, opts in plan:
            bar.set_postfix_str(f"{task}/{label}")
            entry = run_condition(task, label, opts, agent, episodes, seed, env_kwargs, bar, sampled,
                                  trust_pickle=trust_pickle, memory=memory)
            tr = report["tasks"].setdefault(task, {"env_id": env_id_of(task), "conditions": {}})
            tr["conditions"][label] = entry
    dr = report["tasks"].get("delayed_response")
    if dr:
        dr["delay_curve"] = [{"delay": e["delay"], "rate": e["rate"], "ci95": e["ci95"], "chance": e["chance"]}
                             for e in dr["conditions"].values() if e["condition"] == "hidden"]
    return report


def _memory_of(agent: str, memory: MemoryChoice, trust_pickle: bool) -> str:
    """How the agent's memory is set up in this report: a recurrent checkpoint's half-life, or ``n/a``."""
    from tools.agents import SCRIPTED, load_checkpoint

    if agent in SCRIPTED:
        if memory != "model":
            raise ValueError("--memory-half-life applies to a recurrent checkpoint, not a scripted agent")
        return "n/a"
    model, recurrent = load_checkpoint(agent, trust_pickle)
    if not recurrent:
        if memory != "model":
            raise ValueError("--memory-half-life applies to a recurrent checkpoint; this one has no memory")
        return "n/a"
    half = getattr(model, "memory_half_life_s", None) if memory == "model" else memory
    return "perfect" if half is None else f"half-life {half:g} s" + (" (as trained)" if memory == "model" else "")


def markdown(report: dict[str, Any]) -> str:
    """A readable table of the report."""
    memory = report.get("memory", "n/a")
    lines = [f"# Object-permanence battery: agent `{report['agent']}`", "",
             (f"{report['episodes_per_condition']} episodes per condition, seed {report['seed']}, "
              f"{report['env'].get('width')}×{report['env'].get('height')}, backend {report['env'].get('backend')}"
              + (f", memory: {memory}." if memory != "n/a" else ".")),
             "", "| task | condition | kind | successes | rate | 95% CI | chance | notes |",
             "|---|---|---|---|---|---|---|---|"]
    for task, tr in report["tasks"].items():
        for label, e in tr["conditions"].items():
            chance = "—" if e["chance"] is None else f"{e['chance']:.2f}"
            notes = []
            if "perseverative_error_rate" in e:
                notes.append(f"perseverative errors {e['perseverative_errors']}/{e['episodes']} "
                             f"({e['perseverative_error_rate']:.2f})")
            if e["delay"]:
                notes.append(f"delay {e['delay']:g} s ({e['delay_mode']})")
            lines.append(f"| {task} | {label} | {e['kind']} | {e['successes']}/{e['episodes']} | {e['rate']:.2f} | "
                         f"[{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}] | {chance} | {'; '.join(notes)} |")
    lines.append("")
    lines.append("kind: hidden = memory needed; control = solvable from the current frame; catch = nothing hidden "
                 "(success = not searching).")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], out: Path) -> list[Path]:
    """Bar chart per task (rate, 95% CI, chance line) and the success-vs-delay curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for task, tr in report["tasks"].items():
        conds = tr["conditions"]
        labels = list(conds)
        rates = [conds[k]["rate"] for k in labels]
        err = [[max(0.0, r - conds[k]["ci95"][0]) for k, r in zip(labels, rates)],
               [max(0.0, conds[k]["ci95"][1] - r) for k, r in zip(labels, rates)]]
        colors = {"hidden": "tab:blue", "control": "tab:green", "catch": "tab:gray"}
        fig, ax = plt.subplots(figsize=(1.4 + 1.2 * len(labels), 3.2))
        ax.bar(range(len(labels)), rates, yerr=err, capsize=4, color=[colors[conds[k]["kind"]] for k in labels])
        for j, k in enumerate(labels):
            if conds[k]["chance"] is not None:
                ax.hlines(conds[k]["chance"], j - 0.4, j + 0.4, colors="k", linestyles="--", label="chance" if j == 0
                          else None)
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("success rate")
        ax.set_title(f"{task} — {report['agent']}", fontsize=9)
        fig.tight_layout()
        p = out / f"{task}.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    curve = report["tasks"].get("delayed_response", {}).get("delay_curve")
    if curve:
        fig, ax = plt.subplots(figsize=(4, 3))
        d = [c["delay"] for c in curve]
        r = [c["rate"] for c in curve]
        err = [[max(0.0, x - c["ci95"][0]) for x, c in zip(r, curve)],
               [max(0.0, c["ci95"][1] - x) for x, c in zip(r, curve)]]
        ax.errorbar(d, r, yerr=err, marker="o", capsize=4)
        ax.axhline(curve[0]["chance"], color="k", linestyle="--", label="chance")
        ax.set_xlabel("delay (s, simulated)")
        ax.set_ylabel("success rate")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"delayed response — {report['agent']}", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = out / "delay_curve.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    return paths


def _memory(text: str) -> MemoryChoice:
    if text in ("model", "none"):
        return None if text == "none" else "model"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--memory-half-life {text!r}: use model, none or seconds > 0, e.g. 5")
    return value


def _option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--task-option {text!r}: use KEY=VALUE, e.g. delay_mode=lights_out")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def checkpoint_options(agent: str, tasks: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    """The env options and, per battery task it was trained on, the task options of a checkpoint's stage (from
    the ``stage.json`` beside it); None when ``agent`` is no checkpoint or has no stage.json."""
    from agent.checkpoint import checkpoint_path
    from tools.agents import SCRIPTED

    if agent in SCRIPTED:
        return None
    try:
        stage_json = checkpoint_path(agent).parent / "stage.json"
    except FileNotFoundError:
        return None
    if not stage_json.is_file():
        return None
    from agent.checkpoint import read_json
    meta = read_json(stage_json)
    kwargs = dict(meta.get("env_kwargs", {}))
    trained = {peekaboo.task_of(i)[0] for i in meta.get("env_ids", []) if _registered(i)}
    per_task: dict[str, dict[str, Any]] = {}
    for task in tasks:
        keys = {f.name for f in fields(task_class(task).Config)}
        if task in trained:  # the condition is the battery's to set
            per_task[task] = {k: v for k, v in kwargs.items() if k in keys and k != "condition"}
    from env.config import EnvConfig
    env_keys = EnvConfig.option_names()
    env = {k: v for k, v in kwargs.items() if k in env_keys and k != "backend"}
    return env, per_task


def _registered(env_id: str) -> bool:
    try:
        peekaboo.check_env_id(env_id)
        return True
    except ValueError:
        return False


def option_warnings(ckpt: tuple[dict[str, Any], dict[str, dict[str, Any]]], env_kwargs: dict[str, Any],
                    task_defaults: dict[str, dict[str, Any]], task_options: dict[str, Any]) -> list[str]:
    """Where the evaluation's options differ from those the checkpoint was trained with."""
    ckpt_env, ckpt_tasks = ckpt
    out = []
    env_diff = {k: (v, env_kwargs.get(k, "default")) for k, v in ckpt_env.items() if env_kwargs.get(k) != v}
    if env_diff:
        out.append("env options differ from the checkpoint's stage: " + ", ".join(
            f"{k} trained {a!r} / evaluated {b!r}" for k, (a, b) in sorted(env_diff.items())))
    for task, trained in ckpt_tasks.items():
        config = task_class(task).Config()
        for label, cond in task_class(task).eval_conditions.items():
            used = {**task_defaults.get(task, {}), **cond, **task_options}
            diff = {k: (v, used.get(k, getattr(config, k))) for k, v in trained.items()
                    if used.get(k, getattr(config, k)) != v}
            if diff:
                out.append(f"{task}/{label}: task options differ from the checkpoint's stage: " + ", ".join(
                    f"{k} trained {a!r} / evaluated {b!r}" for k, (a, b) in sorted(diff.items())))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.evaluate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--agent", required=True,
                    help="oracle, memoryless, random, peeking, or a path to a PPO/RecurrentPPO .zip")
    ap.add_argument("--tasks", default="all", help=f"'all' or a comma-separated list of {list(BATTERY)}")
    ap.add_argument("--episodes", type=int, default=50, help="episodes per task condition")
    ap.add_argument("--seed", type=int, default=0, help="evaluation run seed (selects held-out episode seeds)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--backend", choices=("mujoco", "habitat"), default="mujoco")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--stage", default="crawling", help="developmental stage of the infant")
    ap.add_argument("--task-option", type=_option, action="append", default=[],
                    help="KEY=VALUE passed to every task, e.g. delay_mode=lights_out (repeatable)")
    ap.add_argument("--checkpoint-options", action="store_true",
                    help="evaluate a checkpoint with the env and task options of its training stage (its stage.json: "
                         "resolution, stage, age, randomization; task options for the tasks it was trained on); "
                         "--task-option still applies on top")
    ap.add_argument("--sampled", action="store_true",
                    help="a checkpoint acts by sampling its policy, as in training (default: greedy actions)")
    ap.add_argument("--trust-pickle", action="store_true",
                    help="load the checkpoint with SB3's unpickling loader (runs code stored in the file: only for "
                         "files you trust; the default loader never unpickles)")
    ap.add_argument("--memory-half-life", type=_memory, default="model", metavar="model|none|SECONDS",
                    help="a recurrent checkpoint's memory (agent.memory): as trained (model, default), perfect (none) "
                         "or lapsing with this half-life in seconds")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ap.add_argument("--render", action="store_true",
                    help="render observations for the scripted agents too (they read geometry; default: off, faster)")
    args = ap.parse_args(argv)
    try:
        from agent.checkpoint import CheckpointError, CorruptFileError, check_writable_dir

        tasks = parse_tasks(args.tasks)
        if args.episodes < 1:
            raise ValueError(f"--episodes {args.episodes}: need at least 1 episode per condition")
        env_kwargs: dict[str, Any] = {"backend": args.backend, "width": args.width, "height": args.height,
                                      "stage": args.stage}
        task_options = dict(args.task_option)
        ckpt = checkpoint_options(args.agent, tasks)
        task_defaults: dict[str, dict[str, Any]] = {}
        if args.checkpoint_options:
            if ckpt is None:
                raise ValueError(f"--checkpoint-options: {args.agent!r} is no checkpoint with a stage.json beside it")
            env_kwargs.update(ckpt[0])
            task_defaults = ckpt[1]
        check_writable_dir(args.out)  # before the episodes, not after
        if ckpt is not None:
            print(f"env options: {env_kwargs}" + (f"; from the checkpoint's stage: {task_defaults}"
                                                   if task_defaults else ""), file=sys.stderr)
            for w in option_warnings(ckpt, env_kwargs, task_defaults, task_options):
                print(f"warning: {w} (--checkpoint-options evaluates with the checkpoint's)", file=sys.stderr)
        from tools.agents import SCRIPTED

        if args.agent in SCRIPTED and not args.render:
            env_kwargs["render_observations"] = False
        t0 = time.perf_counter()
        report = evaluate(args.agent, tasks, args.episodes, args.seed, env_kwargs, task_options,
                          sampled=args.sampled, trust_pickle=args.trust_pickle, task_defaults=task_defaults,
                          memory=args.memory_half_life)
        elapsed = time.perf_counter() - t0
    except (ValueError, TypeError, FileNotFoundError, ImportError, CheckpointError, CorruptFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report["checkpoint_options"] = bool(task_defaults) or args.checkpoint_options
    (args.out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    n_eps = sum(len(t["conditions"]) for t in report["tasks"].values()) * args.episodes
    (args.out / "timing.json").write_text(json.dumps({"seconds": elapsed, "episodes": n_eps,
                                                      "seconds_per_episode": elapsed / n_eps}, indent=2) + "\n")
    if not args.no_plots:
        plot(report, args.out)
    print(markdown(report))
    print(f"{n_eps} episodes in {elapsed:.1f} s; wrote {args.out}/report.json, report.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
