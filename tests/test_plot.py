"""tools.plot draws learning curves and the curriculum timeline of a real (tiny) run."""

from __future__ import annotations

import pytest

from agent.runner import RunOptions, run_curriculum
from tools.plot import main


@pytest.mark.slow
def test_plot_run(tmp_path):
    from tests.test_train_transfer import tiny
    run_curriculum(tiny("finetune", budget2=128), tmp_path / "run", RunOptions(n_envs=1, subprocess=False,
                                                                               progress=False))
    assert main([str(tmp_path / "run")]) == 0
    assert (tmp_path / "run/plots/curves.png").stat().st_size > 1000
    assert (tmp_path / "run/plots/timeline.png").stat().st_size > 1000
    assert main([str(tmp_path / "nothing")]) == 2
    # two seeds of one curriculum (the same run twice here): one panel per stage
    assert main([str(tmp_path / "run"), str(tmp_path / "run"), "--out", str(tmp_path / "seeds")]) == 0
    assert (tmp_path / "seeds/seeds.png").stat().st_size > 1000
    assert main([str(tmp_path / "run"), str(tmp_path / "run")]) == 2  # where would it go?
