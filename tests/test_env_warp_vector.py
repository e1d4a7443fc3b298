"""The MuJoCo Warp vector env on Warp's CPU device: the EGL env's frames (within the ray-caster's tolerance),
events and success step for step; the device-resident (torch) observations; ``agent.train --sim warp``.

Tolerance: a ray-cast shades the same materials and headlight as the rasterizer, not bit for bit, so frames
agree to a mean absolute difference under 8 levels (of 255) with 90 % of pixels within 24 (edges and texture
filtering make the rest); physics runs in float32 on the device, so rewards agree to 1e-4 and events and
success exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import env as peekaboo_env  # sets MUJOCO_GL before mujoco_warp imports mujoco

pytest.importorskip("mujoco_warp", reason="mujoco-warp not installed (pip install -e '.[dev]' installs it)")

from env.warp_vector import make_warp

SIZE = 32


def _frames_agree(warp: np.ndarray, egl: np.ndarray) -> None:
    diff = np.abs(warp.astype(int) - egl.astype(int))
    assert diff.mean() < 8 and (diff.max(-1) <= 24).mean() > 0.9, (diff.mean(), (diff.max(-1) <= 24).mean())


def _lockstep(env_id: str, seeds: list[int], actions: list[int], frames: bool,
              **kwargs) -> tuple[list[str], bool]:
    """Step a Warp vector env of ``len(seeds)`` worlds and one EGL env per seed with the same actions; assert
    that everything agrees; the first world's events and its last ``is_success``."""
    w = make_warp(len(seeds), env_id, width=SIZE, height=SIZE, device="cpu", **kwargs)
    singles = [peekaboo_env.make(env_id, width=SIZE, height=SIZE, **kwargs) for _ in seeds]
    events = []
    try:
        wobs, winfo = w.reset(seed=seeds)
        for i, (e, s) in enumerate(zip(singles, seeds)):
            obs, info = e.reset(seed=s)
            assert winfo["events"][i] == info["events"]
            if frames:
                _frames_agree(wobs[i], obs)
        for t, a in enumerate(actions):
            wobs, wr, wterm, wtrunc, winfo = w.step(np.full(len(seeds), a))
            for i, e in enumerate(singles):
                obs, r, term, trunc, info = e.step(a)
                where = f"world {i} step {t}"
                assert winfo["events"][i] == info["events"], where
                assert bool(winfo["is_success"][i]) == info["is_success"], where
                assert (bool(wterm[i]), bool(wtrunc[i])) == (term, trunc), where
                assert wr[i] == pytest.approx(r, abs=1e-4), where
                if frames:
                    _frames_agree(wobs[i], obs)
                else:
                    assert not wobs[i].any() and not obs.any()
            events += list(winfo["events"][0])
            if wterm.all() or wtrunc.all():
                break
    finally:
        w.close()
        for e in singles:
            e.close()
    return events, bool(winfo["is_success"][0])


@pytest.mark.slow
def test_find_toy_frames_and_events_agree_with_egl():
    actions = [1, 1, 2, 1, 1, 3, 3, 1, 4, 1, 5, 1, 1, 2, 2, 1, 1, 1, 0, 1]
    _lockstep("Peekaboo/FindToy-v1", [3, 4], actions, frames=True)


@pytest.mark.slow
@pytest.mark.parametrize(("env_id", "seed", "success"), [("Peekaboo/Occluder-v2", 1, True),
                                                         ("Peekaboo/Cups-v2", 0, False),
                                                         ("Peekaboo/OccludedTrajectory-v2", 0, True),  # a rolling toy
                                                         ("Peekaboo/DelayedResponse-v2", 0, True)])
def test_battery_events_and_success_agree_with_egl(env_id, seed, success):
    # frozen until the search, then straight ahead: the infant chooses the location it faces
    events, succeeded = _lockstep(env_id, [seed], [1] * 80, frames=False, render_observations=False)
    assert events[-1] == "end" and "choice" in events  # a whole trial played out, choice included
    assert succeeded == success  # one right and one wrong choice (both compared step for step above)


def test_bank_of_homes_batches_worlds_and_torch_obs_match_numpy():
    torch = pytest.importorskip("torch")
    a = make_warp(2, "Peekaboo/FindToy-v1", width=SIZE, height=SIZE, device="cpu", homes=1)
    b = make_warp(2, "Peekaboo/FindToy-v1", width=SIZE, height=SIZE, device="cpu", homes=1, torch_obs=True)
    try:
        oa, _ = a.reset(seed=0)
        ob, _ = b.reset(seed=0)
        assert len(a._groups) == 1  # both worlds in one Warp batch
        for act in ([1, 2], [1, 1], [3, 0]):
            oa, ra, *_ = a.step(np.array(act))
            ob, rb, *_ = b.step(np.array(act))
        assert isinstance(ob, torch.Tensor) and ob.dtype == torch.uint8 and ob.shape == (2, SIZE, SIZE, 3)
        assert np.array_equal(ob.numpy(), oa) and np.array_equal(ra, rb)
        assert np.abs(oa[0].astype(int) - oa[1].astype(int)).mean() > 1  # one home, two episodes, two views
        assert a.envs[0].scene.digest() == a.envs[1].scene.digest()
    finally:
        a.close()
        b.close()


def test_next_step_autoreset_starts_a_new_episode():
    w = make_warp(2, "Peekaboo/FindToy-v1", width=SIZE, height=SIZE, device="cpu", homes=1, max_steps=2)
    try:
        w.reset(seed=0)
        w.step(np.zeros(2, int))
        _, _, term, trunc, _ = w.step(np.zeros(2, int))
        assert trunc.all() and not term.any()
        obs, reward, term, trunc, info = w.step(np.ones(2, int))  # gymnasium's NEXT_STEP: this step resets
        assert [list(e) for e in info["events"]] == [["reset"], ["reset"]] and not reward.any()
        assert obs.shape == (2, SIZE, SIZE, 3) and obs.any()
    finally:
        w.close()


def test_warp_env_refuses_other_observations():
    with pytest.raises(ValueError, match="rgb only"):
        make_warp(1, "Peekaboo/FindToy-v1", width=SIZE, height=SIZE, device="cpu", observations=("rgb", "depth"))


def _tiny_curriculum(tmp_path) -> str:
    cfg = {"name": "warp_tiny", "width": SIZE, "height": SIZE, "checkpoint_every": 1024, "seed": 0,
           "agent": {"encoder": "fast", "features_dim": 32,
                     "ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1, "learning_rate": 0.001}},
           "stages": [{"name": "look", "env_ids": ["Peekaboo/FindToy-v1"], "stage": "crawling",
                       "randomization": {"n_rooms": 1, "furniture_per_room": 0, "n_toys": 0,
                                         "room_half_size": [1.6, 1.6]},
                       "env_kwargs": {"reach_distance": 4.5, "look_angle": 0.5, "max_steps": 30},
                       "budget": 128, "graduation": {"threshold": 1.0, "episodes": 2, "eval_every": 100000}}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.slow
def test_train_sim_warp_on_cpu_device(tmp_path, capsys):
    from agent.checkpoint import read_jsonl
    from agent.train import main

    out = tmp_path / "run"
    rc = main(["--curriculum", _tiny_curriculum(tmp_path), "--out", str(out), "--sim", "warp", "--device", "cpu",
               "--warp-homes", "1", "--n-envs", "2", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    stage = out / "stages" / "00_look"
    assert (stage / "checkpoint.zip").is_file()
    rows = read_jsonl(stage / "train.jsonl")
    assert rows and rows[-1]["step"] >= 128


def test_train_flags_name_the_fix(tmp_path, capsys):
    import warp as wp

    from agent.train import main

    with pytest.raises(SystemExit) as exc:
        main(["--curriculum", "c.yaml", "--out", "o", "--sim", "gpu"])
    assert exc.value.code == 2 and "invalid choice: 'gpu' (choose from 'mujoco', 'warp')" in capsys.readouterr().err
    if wp.is_cuda_available():
        pytest.skip("this machine has a CUDA GPU: --device cuda is not an error here")
    rc = main(["--curriculum", _tiny_curriculum(tmp_path), "--out", str(tmp_path / "run"), "--sim", "warp",
               "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and err.startswith("error: --device cuda:") and "--device cpu" in err
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.slow
def test_bench_warp_env_reports_env_and_ppo_rates(tmp_path):
    import json

    from tools.bench import main

    rc = main(["--out", str(tmp_path), "--batched-only", "--batched", "0", "--profile-steps", "0", "--sizes", "32",
               "--warp-env", "2", "--warp-homes", "1", "--warp-device", "cpu", "--warp-env-steps", "8",
               "--ppo-steps", "16"])
    assert rc == 0
    w = json.loads((tmp_path / "bench.json").read_text())["warp_env"]
    assert (w["worlds"], w["homes"], w["device"]) == (2, 1, "cpu") and w["env_steps_per_s"] > 0
    assert w["ppo"]["sim"] == "warp" and w["ppo_steps_per_s"] > 0 and w["ppo"]["steps"] >= 16
