"""tools.stepprofile: a real profile of env steps whose parts add up, and wrappers that come off again."""

from __future__ import annotations

import mujoco
import pytest

from tools.stepprofile import PARTS, StepProfiler, format_profile, profile_steps


@pytest.mark.parametrize("batched", [0, 2])
def test_parts_add_up_to_the_step(batched):
    p = profile_steps(steps=60, size=32, batched=batched)
    parts = p["parts_ms"]
    assert set(parts) == {name for name, _ in PARTS} | {"python glue"}
    assert parts["physics"] > 0 and parts["draw"] > 0 and parts["readback"] > 0
    assert sum(parts.values()) == pytest.approx(p["step_ms"], rel=0.01)
    assert p["calls_per_step"]["physics"] == pytest.approx(1.0)  # one mj_step call per env step
    assert "draw" in format_profile(p)


def test_wrappers_are_removed():
    from env.vision import InfantVision

    before = (mujoco.mj_step, InfantVision.__call__)
    with StepProfiler().active():
        assert mujoco.mj_step is not before[0]
    assert (mujoco.mj_step, InfantVision.__call__) == before


def test_single_env_profile_steps_the_homes_of_a_batch(monkeypatch):
    """With ``homes=N`` the single env's profiled steps run the home streams of seeds 0..N-1 (a batch's worlds)."""
    from env.infant_env import InfantEnv

    seeds: list[int] = []
    reset = InfantEnv.reset

    def recording_reset(self, *, seed=None, options=None):
        if seed is not None:
            seeds.append(seed)
        return reset(self, seed=seed, options=options)

    monkeypatch.setattr(InfantEnv, "reset", recording_reset)
    profile_steps(steps=30, size=32, batched=0, homes=3)
    assert seeds == [0, 0, 1, 2]  # made and warmed up on seed 0, then each stream from its start
