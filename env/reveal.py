"""Where the infant *sees* the toy at a battery trial's reveal: the label of the reveal-prediction loss.

At the end of every trial the caregiver lifts the screens / cups (``reveal`` phase). If the toy is then in the
infant's own view, the side it appears on, seen from where the infant is, says which location hid it. The label
is computed from the infant's segmentation image of that moment and its own heading (proprioception), never from
the simulator's target index: a trial whose toy the infant does not see at the reveal (looking away, another
location in front of it, lights out) has no label (-1). ``EnvConfig.reveal_label`` puts it in
``info["reveal_seen"]`` on every reveal step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

NO_LABEL = -1
"""``info["reveal_seen"]`` when the toy is not seen (or not a reveal step)."""
MIN_PIXELS = 3
"""Toy pixels needed to count as seen (a pixel or two at a silhouette's edge is not a sighting)."""
MIN_MARGIN = math.radians(5.0)
"""The toy's bearing must be this much closer to one location than to any other (else ambiguous: no label)."""


def seen_location(segmentation: np.ndarray, toy_id: int, yaw: float, half_fov: float, eye_xy: Sequence[float],
                  spots_xy: Sequence[Sequence[float]]) -> int:
    """Index of the location whose bearing from the eye matches where the toy appears in ``segmentation``.

    Args:
        segmentation: (H, W) or (H, W, 1) object ids of the eye's view (0 = nothing).
        toy_id: the toy's id in ``segmentation``.
        yaw: the eye's heading (radians, counter-clockwise; image columns grow clockwise).
        half_fov: half the horizontal field of view (radians).
        eye_xy: the eye's floor position.
        spots_xy: each location's floor position (the display is in plain view: its objects are the choices).
    Returns:
        The location index, or :data:`NO_LABEL` when the toy is not seen or its side is ambiguous.
    """
    seg = segmentation.reshape(segmentation.shape[0], segmentation.shape[1])
    cols = np.nonzero(seg == toy_id)[1]
    if len(cols) < MIN_PIXELS or not len(spots_xy):
        return NO_LABEL
    w = seg.shape[1]
    x = (float(cols.mean()) + 0.5 - w / 2) / (w / 2)  # -1 at the left edge, +1 at the right
    bearing = yaw - math.atan(x * math.tan(half_fov))
    errs = [abs((math.atan2(s[1] - eye_xy[1], s[0] - eye_xy[0]) - bearing + math.pi) % (2 * math.pi) - math.pi)
            for s in spots_xy]
    order = np.argsort(errs)
    if len(errs) > 1 and errs[order[1]] - errs[order[0]] < MIN_MARGIN:
        return NO_LABEL
    return int(order[0])
