"""tools.render / tools.evaluate / tools.record check their arguments and outputs before any work, and never lose
the previous output to a bad call (#14.4, 14.6, 14.8)."""

from __future__ import annotations

import json
import subprocess

from tests.reliability_util import cli, genuine_checkpoint


def render(out, *args: str) -> subprocess.CompletedProcess:
    return cli("tools.render", "--steps", "3", "--width", "32", "--height", "32", "--out", str(out), *args)


def test_render_checks_arguments_before_touching_the_previous_output(tmp_path):
    out = tmp_path / "ep"
    assert render(out).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for bad in (["--steps", "0"], ["--task", "Peekaboo/Nope-v1"], ["--width", "0"]):
        r = render(out, *bad)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
        assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before, bad


def test_render_replaces_a_symlinked_frames_folder_without_emptying_its_target(tmp_path):
    out, elsewhere = tmp_path / "ep", tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "00000.png").write_bytes(b"mine")
    out.mkdir()
    (out / "frames").symlink_to(elsewhere)
    r = render(out, "--steps", "4")
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "00000.png").read_bytes() == b"mine"
    assert not (out / "frames").is_symlink() and len(list((out / "frames").glob("*.png"))) == 4
    assert sorted(p.name for p in out.iterdir()) == ["episode.json", "episode.mp4", "frames", "strip.png"]
    r = render(out, "--steps", "2")  # a second render swaps its output in too
    assert r.returncode == 0 and len(list((out / "frames").glob("*.png"))) == 2


def test_unwritable_out_is_an_error_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "sub"  # cannot be created: its parent is a file
    r = render(out)
    assert r.returncode == 2 and "--out" in r.stderr and "not a writable folder" in r.stderr and "Traceback" not in r.stderr
    r = cli("tools.evaluate", "--agent", "random", "--tasks", "occluder", "--episodes", "200", "--out", str(out))
    assert r.returncode == 2 and "not a writable folder" in r.stderr and " ep" not in r.stderr  # no episode ran
    r = cli("agent.train", "--curriculum", "curriculum/smoke.yaml", "--out", str(out), "--no-progress")
    assert r.returncode == 2 and "writable" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_evaluate_says_which_options_it_used_and_can_take_the_checkpoints(tmp_path):
    trained = {"n_screens": 2, "screen_distance": 0.9, "condition": "hidden"}
    path, _ = genuine_checkpoint(tmp_path / "stage", env_id="Peekaboo/Occluder-v2", env_options=trained)
    base = ["--agent", str(path), "--tasks", "occluder", "--episodes", "1", "--width", "32", "--height", "32",
            "--no-plots"]
    r = cli("tools.evaluate", *base, "--out", str(tmp_path / "default"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "warning: occluder/hidden: task options differ from the checkpoint's stage" in r.stderr
    assert "n_screens trained 2 / evaluated 3" in r.stderr and "--checkpoint-options" in r.stderr

    r = cli("tools.evaluate", *base, "--checkpoint-options", "--out", str(tmp_path / "own"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "task options differ" not in r.stderr
    report = json.loads((tmp_path / "own/report.json").read_text())
    conds = report["tasks"]["occluder"]["conditions"]
    assert all(c["options"]["n_screens"] == 2 and c["options"]["screen_distance"] == 0.9 for c in conds.values())
    assert conds["hidden"]["chance"] == 0.5 and report["checkpoint_options"] is True
    assert {c["condition"] for c in conds.values()} == set(conds)  # the battery still sets each condition
    r = cli("tools.evaluate", "--agent", "oracle", "--tasks", "occluder", "--episodes", "1", "--checkpoint-options",
            "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "--checkpoint-options" in r.stderr
