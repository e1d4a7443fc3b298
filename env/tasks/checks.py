"""Checks that a battery task's options can be solved by the env's infant, run when the env is made."""

from __future__ import annotations

import itertools
import math
from typing import Any

from env.body import BODY_RADIUS
from env.tasks.base import TaskContext, horizontal_half_fov


def check_display(task: Any, context: TaskContext) -> int:
    """For a :class:`env.tasks.permanence.PermanenceTask` (not imported: it imports this module), raise ``ValueError`` naming the fix unless every location is in the field of view (at the narrowest fov
    the randomization allows), neighbours are ``task.min_spacing`` apart, the choice line lies ahead of the start,
    the display fits the smallest room, the stage travels fast enough to reach the farthest location within
    ``search_time``, and ``max_steps`` (if given) covers every trial. Returns the episode's step limit (derived
    from the phase times when ``max_steps`` is None)."""
    c, ctx = task.config, context
    offsets = task.location_offsets()
    half = horizontal_half_fov(ctx.fovy_min, ctx.aspect)
    for i, (f, lat) in enumerate(offsets):
        angle = math.atan2(abs(lat), f)
        if angle > half + 1e-9:
            raise ValueError(
                f"{task.name}: location {i} is {math.degrees(angle):.1f}° off the midline, outside the field of "
                f"view (±{math.degrees(half):.1f}° at the narrowest fovy {ctx.fovy_min:g}°): {task.fix_hint()}")
    lats = sorted(lat for _, lat in offsets)
    gaps = [b - a for a, b in itertools.pairwise(lats)]
    if gaps and min(gaps) < task.min_spacing - 1e-9:
        raise ValueError(f"{task.name}: neighbouring locations are {min(gaps):.2f} m apart, closer than "
                         f"{task.min_spacing:.2f} m: increase {task.spacing_option}")
    if task.line.forward < BODY_RADIUS + 0.3:
        raise ValueError(f"{task.name}: the choice line ({task.row:.2f} - touch_distance {c.touch_distance:g} m) "
                         f"is too close to the infant's start: reduce touch_distance or increase "
                         f"{task.distance_option}")
    depth = task.extent()[0]
    if depth > ctx.room_half_min + 0.5:
        raise ValueError(f"{task.name}: the display needs {depth:.2f} m of clear floor ahead, which the smallest "
                         f"room (room_half_size low {ctx.room_half_min:g} m) may not have: reduce "
                         f"{task.distance_option} to <= {ctx.room_half_min + 0.5 - (depth - task.row):.2f} or "
                         f"raise the randomization's room_half_size")
    if ctx.speed <= 0:
        raise ValueError(f"{task.name}: the {ctx.posture!r} stage does not travel (speed 0), so no location can be "
                         "chosen; use the crawling or walking stage (or lying, with a long search_time)")
    need = 0.0
    for f, lat in offsets:
        cross = (task.line.forward, lat * task.line.forward / f)
        turn = abs(math.atan2(cross[1], cross[0])) / ctx.turn_rate
        need = max(need, turn + math.hypot(*cross) / ctx.speed + 3 * ctx.control_dt + 0.5)
    if c.search_time < need:
        raise ValueError(f"{task.name}: search_time={c.search_time:g} s is too short for the {ctx.posture!r} stage "
                         f"({ctx.speed:g} m/s): reaching the farthest location takes about {need:.1f} s; pass "
                         f"search_time >= {math.ceil(need)}")
    trial = c.show_time + c.hide_time + c.delay + c.search_time + c.reveal_time
    steps = math.ceil(task.n_trials() * trial / ctx.control_dt - 1e-6) + 2
    if c.max_steps is not None and c.max_steps < steps:
        raise ValueError(f"{task.name}: max_steps={c.max_steps} ends the episode before its last trial does "
                         f"({task.n_trials()} trial(s) × {trial:g} s at control_dt={ctx.control_dt:g} need "
                         f"{steps} steps): pass max_steps >= {steps}, or leave it unset to derive it")
    return steps if c.max_steps is None else c.max_steps