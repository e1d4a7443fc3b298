"""Ctrl-C during training as a request, not an exception: the trainer stops at its next env step.

A ``KeyboardInterrupt`` raised at an arbitrary point can land inside a vector env's pipe exchange (SB3's
``SubprocVecEnv.step_wait`` had read some workers' replies, not the others'): closing the env then waits for replies
that will never come, and the trainer hangs. So while a stage learns, SIGINT only sets a flag that
:class:`StopOnInterrupt` turns into a clean stop of ``learn`` (the callback protocol SB3 and the in-worker rollouts
already honour); a second Ctrl-C raises ``KeyboardInterrupt`` at once, for a user who does not want to wait.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from stable_baselines3.common.callbacks import BaseCallback


class InterruptFlag:
    """Whether Ctrl-C was pressed while :func:`deferred_interrupt` was active."""

    def __init__(self) -> None:
        self.requested = False


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[InterruptFlag]:
    """SIGINT sets the yielded flag (the first time) instead of raising; the previous handler is restored on exit.
    Outside the main thread (where Python cannot install handlers) the flag never rises and Ctrl-C raises as usual."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def _handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:  # the second Ctrl-C: stop now (the envs may then not close cleanly)
            raise KeyboardInterrupt
        flag.requested = True
        print("\ninterrupt: stopping at the next step to checkpoint (Ctrl-C again to abort at once)",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, _handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class StopOnInterrupt(BaseCallback):
    """Ends ``learn`` at the first step after Ctrl-C (see :func:`deferred_interrupt`)."""

    def __init__(self, flag: InterruptFlag) -> None:
        super().__init__()
        self.flag = flag

    def _on_step(self) -> bool:
        return not self.flag.requested
