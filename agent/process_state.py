"""Process-wide state changed for a block and restored after it: torch's thread count, torch's global generator
(for code that draws only from it), and every global generator (for code that reseeds them, like SB3's loader).
Library code uses these so that the caller's process is left as it was."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch as th


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity (``taskset -c 1 …`` gives 1), not the machine's count, so a run
    pinned to one core does not start two torch threads that take turns on it."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this OS (macOS, Windows)
        return os.cpu_count() or 1


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch uses ``n`` CPU threads within the block and its previous count after it."""
    before = th.get_num_threads()
    th.set_num_threads(max(1, n))
    try:
        yield
    finally:
        th.set_num_threads(before)


@contextmanager
def drawing_from(generator: th.Generator | None) -> Iterator[None]:
    """Within the block, torch's global CPU generator draws ``generator``'s numbers (for code that only knows the
    global one, like sb3-contrib's distributions); afterwards ``generator`` has advanced and the global generator
    is as it was. ``None``: the global generator itself."""
    if generator is None:
        yield
        return
    saved = th.get_rng_state()
    th.set_rng_state(generator.get_state())
    try:
        yield
    finally:
        generator.set_state(th.get_rng_state())
        th.set_rng_state(saved)


@contextmanager
def global_generators_kept() -> Iterator[None]:
    """Python's, numpy's and torch's global generators are after the block as they were before it (SB3's
    ``load`` reseeds all three with the checkpoint's seed)."""
    saved = random.getstate(), np.random.get_state(), th.get_rng_state()
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        th.set_rng_state(saved[2])
