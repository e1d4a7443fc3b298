"""tools.toy_separation and agent.voe.toy_separation on real VoE pairs at 32×32: the events differ only in a few
pixels after the critical frame, identical events are at distance 0, and the command reports every group."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import torch

from agent.encoder import InfantEncoder, save_encoder
from agent.voe import Pair, render_pair, toy_separation
from env.seeds import eval_seeds
from tools.toy_separation import main


def test_separation_of_real_pairs_and_of_identical_events():
    pairs = [render_pair("occluder_vanish", s, 32, 32) for s in eval_seeds(2, "voe/occluder_vanish", 0)]
    flat = lambda x: x.flatten(1)  # the pixels themselves as the latent
    sep = toy_separation(flat, pairs, window=5)
    assert (sep["pixel_pair"] > 0).all() and (sep["pixel_pair"] < 0.1).all()  # only the toy differs
    assert sep["pixel_homes"][0] > 0.5  # two homes differ almost everywhere
    assert (sep["latent_pair"] > 0).all() and sep["latent_pair"].max() < sep["latent_homes"][0]
    same = [Pair(p.probe, p.seed, p.possible, p.possible.copy(), p.phases, p.critical) for p in pairs]
    assert np.allclose(toy_separation(flat, same, window=5)["latent_pair"], 0, atol=1e-6)


def test_command_reports_each_group(tmp_path):
    torch.manual_seed(0)
    enc = InfantEncoder(gym.spaces.Box(0, 255, (3, 32, 32), dtype="uint8"), 32, "fast")
    for i in range(2):
        save_encoder(enc, tmp_path / f"s{i}" / "encoder.pt")
    out = tmp_path / "out"
    assert main(["--encoders", f"trained={tmp_path}/s*", "--random", "2", "--episodes", "2", "--window", "4",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["groups"] == {"trained": 2, "random init": 2} and report["resolution"] == [32, 32]
    for probe in ("occluder_vanish", "cups_vanish", "occluder_swap"):
        assert 0 < report["probes"][probe]["pixel_share"] < 0.1
        assert report["probes"][probe]["latent_share"]["trained"]["pair_distance"] > 0
    assert report["overall"]["trained"]["share"] > 0 and len(report["overall"]["random init"]["values"]) == 2
    assert "| pixels |" in (out / "report.md").read_text()
    assert main(["--encoders", f"none={tmp_path}/nothing*", "--out", str(out)]) == 2
