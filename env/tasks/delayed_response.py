"""delayed-response (Diamond): the cups task with a delay between hiding and search, run over a delay grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from env.tasks.cups import Cups, CupsConfig

DELAY_GRID: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0)
"""Delays (simulated seconds) that ``tools.evaluate`` runs; 0 s is the zero-delay reference of the curve."""


@dataclass(frozen=True)
class DelayedResponseConfig(CupsConfig):
    """Options of the delayed-response task (all of the cups task's, with a delay by default)."""

    delay: float = 2.0
    """Seconds between the cups coming down and the start of search."""
    n_cups: int = 2
    """Number of identical cups (2 as in Diamond's two wells)."""


class DelayedResponse(Cups):
    """Cups with a delay: the success-vs-delay curve measures how long the memory lasts.

    Everything else as :class:`env.tasks.cups.Cups`; ``delay_mode`` chooses freeze / lights_out / turn_away.
    """

    name = "delayed_response"
    Config = DelayedResponseConfig
    config: DelayedResponseConfig
    conditions: ClassVar[dict[str, str]] = {"hidden": "hidden", "transparent": "control"}
    eval_conditions: ClassVar[dict[str, dict[str, Any]]] = {
        **{f"delay_{d:g}s": {"condition": "hidden", "delay": d} for d in DELAY_GRID},
        "transparent_delay_10s": {"condition": "transparent", "delay": DELAY_GRID[-1]},
    }
