"""The bookkeeping of battery trials: the phase clock of one trial, and the record of choices over trials."""

from __future__ import annotations

from dataclasses import dataclass, field

PHASES: tuple[str, ...] = ("show", "hide", "delay", "search", "reveal")
"""Phases of every trial, in order."""
_EPS = 1e-6


@dataclass
class PhaseClock:
    """Which phase a trial is in. ``show``, ``hide``, ``delay`` and ``reveal`` last fixed times; ``search`` lasts
    until :meth:`end_search` (a choice) or ``search`` seconds; after ``reveal`` the trial is ``over``."""

    show: float
    """Duration of the show phase, seconds."""
    hide: float
    """Duration of the hide phase, seconds."""
    delay: float
    """Duration of the delay, seconds."""
    search: float
    """Longest search, seconds."""
    reveal: float
    """Duration of the reveal, seconds."""
    phase: str = "show"
    """Current phase, or ``over``."""
    start: float = 0.0
    """Simulated time the current phase began."""
    timed_out: bool = field(default=False)
    """Whether the last search ended without a choice."""

    def begin(self, now: float) -> None:
        """Start a trial at time ``now``."""
        self.phase, self.start, self.timed_out = "show", now, False

    def length(self, phase: str) -> float:
        """Planned duration of ``phase`` (search: its longest)."""
        return {"show": self.show, "hide": self.hide, "delay": self.delay, "search": self.search,
                "reveal": self.reveal}[phase]

    @property
    def trial_time(self) -> float:
        """Longest duration of a trial."""
        return self.show + self.hide + self.delay + self.search + self.reveal

    def elapsed(self, now: float) -> float:
        """Seconds spent in the current phase."""
        return now - self.start

    def advance(self, now: float) -> list[str]:
        """Move through every phase whose time is up by ``now``; the phases entered, in order (``over`` last when
        the trial ended). A search that runs out sets :attr:`timed_out`."""
        entered = []
        while self.phase != "over" and now - self.start >= self.length(self.phase) - _EPS:
            if self.phase == "search":
                self.timed_out = True
            self.start += self.length(self.phase)
            self.phase = PHASES[PHASES.index(self.phase) + 1] if self.phase != "reveal" else "over"
            entered.append(self.phase)
        return entered

    def end_search(self, now: float) -> None:
        """A choice ends the search now: the reveal begins."""
        assert self.phase in ("search", "delay"), self.phase
        self.phase, self.start = "reveal", now


@dataclass
class TrialRecord:
    """Targets of every trial of an episode and the choices made (None: nothing hidden / no choice)."""

    targets: list[int | None]
    """Hiding location of each trial."""
    choices: list[int | None] = field(default_factory=list)
    """Choice of each finished search."""
    trial: int = 0
    """Index of the current trial."""

    @property
    def target(self) -> int | None:
        """Hiding location of the current trial."""
        return self.targets[self.trial]

    @property
    def chosen(self) -> int | None:
        """The current trial's choice, once made (else None)."""
        return self.choices[self.trial] if len(self.choices) > self.trial else None

    @property
    def searched(self) -> bool:
        """Whether the current trial's search is over."""
        return len(self.choices) > self.trial

    @property
    def last(self) -> bool:
        """Whether the current trial is the last one."""
        return self.trial + 1 >= len(self.targets)

    @property
    def success(self) -> bool:
        """The last trial's search is over and chose the target (catch trial: chose nothing)."""
        return len(self.choices) == len(self.targets) and self.choices[-1] == self.targets[-1]


@dataclass
class Approach:
    """Potential-based shaping: metres closed on the nearest choice location since the last search step."""

    nearest: float | None = None
    """Distance to the nearest location at the last search step (None before the first)."""

    def progress(self, distance: float) -> float:
        """Metres closed since the last call (0 on the first), given the distance now."""
        out = 0.0 if self.nearest is None else self.nearest - distance
        self.nearest = distance
        return out
