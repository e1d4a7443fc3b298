"""Task registry: short task name → ``"module:Class"``, imported on first use."""

from __future__ import annotations

import difflib
import importlib

from env.tasks.base import Task, TaskConfig, World

TASKS: dict[str, str] = {
    "find_toy": "env.tasks.find_toy:FindToy",
    "occluder": "env.tasks.occluder:Occluder",
    "cups": "env.tasks.cups:Cups",
    "a_not_b": "env.tasks.a_not_b:ANotB",
    "delayed_response": "env.tasks.delayed_response:DelayedResponse",
    "occluded_trajectory": "env.tasks.occluded_trajectory:OccludedTrajectory",
}
"""Every task class by short name. Battery tasks add themselves here."""


def task_class(name: str) -> type[Task]:
    """The task class registered as ``name``; an error suggests the closest names."""
    if name not in TASKS:
        close = difflib.get_close_matches(name, TASKS, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"unknown task {name!r}.{hint} Registered tasks: {sorted(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["TASKS", "Task", "TaskConfig", "World", "task_class"]
