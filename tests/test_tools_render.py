"""tools.render: a playable mp4 with the requested frames, the strip and the episode record."""

from __future__ import annotations

import json
import subprocess
import sys

import imageio.v2 as imageio
import imageio.v3 as iio
import pytest

from tools.render import main as render_main


def test_render_cli_writes_playable_video(tmp_path):
    out = tmp_path / "ep"
    r = subprocess.run([sys.executable, "-m", "tools.render", "--task", "Peekaboo/FindToy-v1", "--seed", "0",
                        "--steps", "24", "--out", str(out)], capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stderr
    reader = imageio.get_reader(out / "episode.mp4")
    n = sum(1 for _ in reader)
    assert n == 24
    assert reader.get_meta_data()["fps"] == 10
    assert len(list((out / "frames").glob("*.png"))) == 24
    rec = json.loads((out / "episode.json").read_text())
    assert rec["task"] == "Peekaboo/FindToy-v1" and rec["seed"] == 0 and rec["stage"] == "crawling"
    assert 0.2 < rec["eye_height_m"] < 0.35 and rec["age_months"] == 9.0 and len(rec["per_step"]) == 24
    strip = iio.imread(out / "strip.png")
    assert strip.shape[0] > 128 and strip.std() > 5


def test_render_is_deterministic(tmp_path):
    for d in ("a", "b"):
        assert render_main(["--seed", "3", "--steps", "5", "--stage", "walking", "--out", str(tmp_path / d)]) == 0
    for i in range(5):
        a = iio.imread(tmp_path / "a" / "frames" / f"{i:05d}.png")
        b = iio.imread(tmp_path / "b" / "frames" / f"{i:05d}.png")
        assert (a == b).all()
    rec = json.loads((tmp_path / "a" / "episode.json").read_text())
    assert rec["stage"] == "walking"


def test_render_unknown_task_is_a_clear_error(capsys):
    assert render_main(["--task", "Peekaboo/Nope-v1", "--out", "/tmp/never"]) == 2
    assert "unknown task id 'Peekaboo/Nope-v1'" in capsys.readouterr().err


@pytest.mark.parametrize("steps", [0, -3])
def test_render_rejects_nonpositive_steps(steps, capsys):
    assert render_main(["--steps", str(steps), "--out", "/tmp/never"]) == 2
    assert "at least 1 step" in capsys.readouterr().err
