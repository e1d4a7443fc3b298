"""tools.ship: a run's stage becomes a small model folder that tools.evaluate loads by its folder name."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch

from agent.checkpoint import load_checkpoint
from reliability_util import cli, genuine_checkpoint


@pytest.mark.slow
def test_shipped_model_keeps_the_weights_and_loads_by_folder(tmp_path) -> None:
    src, agent = genuine_checkpoint(tmp_path / "run/stages/00_look", "Peekaboo/Occluder-v2", {"n_screens": 2},
                                    recurrent=True, lstm_hidden_size=8, features_dim=16)
    r = cli("tools.ship", str(src), "--out", str(tmp_path / "models/baseline"), "--how", "made by a test")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "models/baseline"
    assert {p.name for p in out.iterdir()} == {"model.zip", "stage.json", "README.md"}
    assert "made by a test" in (out / "README.md").read_text()
    a, b = load_checkpoint(src, agent).policy.state_dict(), load_checkpoint(out / "model.zip").policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with zipfile.ZipFile(out / "model.zip") as z:  # no optimizer moments (two thirds of a trained checkpoint)
        assert torch.load(io.BytesIO(z.read("policy.optimizer.pth")), weights_only=True)["state"] == {}
    ev = cli("tools.evaluate", "--agent", str(out), "--tasks", "occluder", "--episodes", "1", "--no-plots",
             "--checkpoint-options", "--out", str(tmp_path / "eval"))
    assert ev.returncode == 0, ev.stderr
    assert json.loads((tmp_path / "eval/report.json").read_text())["env"]["width"] == 32  # from its stage.json
    missing = cli("tools.ship", str(tmp_path / "nowhere.zip"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and missing.stderr.startswith("error:")
