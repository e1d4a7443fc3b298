"""tools.compare: several evaluate reports side by side (a table and a figure); foreign folders are refused."""

from __future__ import annotations

from tools.compare import main as compare
from tools.evaluate import main as evaluate


def test_compare_reports(tmp_path, capsys):
    for agent in ("oracle", "memoryless"):
        assert evaluate(["--agent", agent, "--tasks", "occluded_trajectory", "--episodes", "2", "--width", "32",
                         "--height", "32", "--no-plots", "--out", str(tmp_path / agent)]) == 0
    out = tmp_path / "cmp"
    assert compare([str(tmp_path / "oracle"), str(tmp_path / "memoryless"), "--out", str(out)]) == 0
    md = (out / "compare.md").read_text()
    assert "| oracle | memoryless |" in md.splitlines()[0]
    hidden = next(line for line in md.splitlines() if "| occluded_trajectory | hidden |" in line)
    assert "2/2" in hidden  # the oracle's column
    assert (out / "compare.png").stat().st_size > 1000
    capsys.readouterr()
    assert compare([str(tmp_path), "--out", str(out)]) == 2
    assert "not a readable tools.evaluate report" in capsys.readouterr().err
    # seeds of one agent: labelled columns and a pooled column (successes and episodes summed)
    assert compare([str(tmp_path / "oracle"), str(tmp_path / "memoryless"), "--names", "s0", "s1", "--pool",
                    "--out", str(out)]) == 0
    md = (out / "compare.md").read_text()
    assert "| s0 | s1 | pooled |" in md.splitlines()[0]
    emerges = next(line for line in md.splitlines() if "| occluded_trajectory | emerges |" in line)
    assert "**1.00** [0.51, 1.00]" in emerges  # 4/4 pooled: both agents solve the control
    capsys.readouterr()
    assert compare([str(tmp_path / "oracle"), "--names", "a", "b", "--out", str(out)]) == 2
    assert "--names" in capsys.readouterr().err
