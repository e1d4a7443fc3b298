"""MuJoCo backend: objects by name, lights, line of sight, headless GL errors, no leaks."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import env
from env.backends.base import EyeSpec
from env.backends.mujoco import MujocoBackend
from scenes import generate_home


@pytest.fixture
def backend():
    scene = generate_home(np.random.default_rng(0))
    b = MujocoBackend()
    b.load(scene, EyeSpec(32, 32, 60))
    sx, sy, yaw = scene.spawn
    b.set_eye(np.array([sx, sy, 0.28]), yaw, 0.0)
    yield b
    b.close()


def test_move_objects_by_name(backend):
    backend.set_pose("duck", np.array([1.0, 0.5, 0.3]))
    np.testing.assert_allclose(backend.get_position("duck"), [1.0, 0.5, 0.3])
    backend.step(1.0)  # it falls onto the floor
    assert backend.get_position("duck")[2] < 0.05
    with pytest.raises(KeyError, match="no object named 'dragon'"):
        backend.get_position("dragon")
    wall = backend.object_names[0]
    with pytest.raises(ValueError, match="static"):
        backend.set_pose(wall, np.zeros(3))


def test_rolling_toy_moves_under_physics(backend):
    backend.set_pose("duck", backend.get_position("duck") + [0, 0, 0.01])
    p0 = backend.get_position("duck")
    backend.set_velocity("duck", np.array([2.0, 0.0, 0.0]))
    backend.step(0.3)
    assert backend.get_position("duck")[0] > p0[0] + 0.05  # slides, then friction stops it


def test_lights_out_darkens_the_frame(backend):
    lit = backend.render().rgb.mean()
    backend.set_lights(False)
    dark = backend.render().rgb.mean()
    backend.set_lights(True)
    assert dark < 0.2 * lit
    assert backend.render().rgb.mean() == pytest.approx(lit)


def test_line_of_sight_is_blocked_by_walls(backend):
    scene = backend.scene
    duck = backend.get_position("duck")
    assert backend.line_of_sight(duck + [0, 0, 0.3], "duck")
    x0 = scene.bounds()[0]
    outside = np.array([x0 - 1.0, duck[1], 0.3])  # behind the west wall
    assert not backend.line_of_sight(outside, "duck")


def test_missing_egl_gives_an_actionable_error():
    code = ("import env, numpy as np\n"
            "from env.backends.mujoco import MujocoBackend\n"
            "from env.backends.base import EyeSpec\n"
            "from scenes import generate_home\n"
            "MujocoBackend().load(generate_home(np.random.default_rng(0)), EyeSpec(8, 8, 60))\n")
    environ = dict(os.environ, MUJOCO_GL="egl", EGL_PLATFORM="surfaceless",
                   __EGL_VENDOR_LIBRARY_FILENAMES="/nonexistent/egl_vendor.json")
    r = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode != 0
    assert "MUJOCO_GL" in r.stderr and "apt-get install libegl1" in r.stderr


def test_relayouts_do_not_leak_memory():
    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    b = MujocoBackend()
    eye = EyeSpec(32, 32, 60)
    for i in range(5):
        b.load(generate_home(np.random.default_rng(i)), eye)
        b.render()
    before = rss_mb()
    for i in range(40):
        b.load(generate_home(np.random.default_rng(i)), eye)
        for _ in range(5):
            b.step(0.1)
            b.render()
    growth = rss_mb() - before
    b.close()
    assert growth < 25, f"RSS grew {growth:.1f} MB over 40 layouts"


def test_two_backends_in_one_process_render_their_own_scenes():
    eye = EyeSpec(32, 32, 60)
    scenes = [generate_home(np.random.default_rng(s)) for s in (0, 1)]
    alone = []
    for sc in scenes:
        b = MujocoBackend()
        b.load(sc, eye)
        b.set_eye(np.array([sc.spawn[0], sc.spawn[1], 0.28]), sc.spawn[2], 0.0)
        alone.append(b.render().rgb)
        b.close()
    pair = [MujocoBackend(), MujocoBackend()]
    for b, sc in zip(pair, scenes):
        b.load(sc, eye)
        b.set_eye(np.array([sc.spawn[0], sc.spawn[1], 0.28]), sc.spawn[2], 0.0)
    for _ in range(2):  # interleaved renders switch GL contexts
        for b, ref in zip(pair, alone):
            np.testing.assert_array_equal(b.render().rgb, ref)
    for b in pair:
        b.close()


def test_rendering_survives_another_gl_context_in_the_process():
    import mujoco

    scene = generate_home(np.random.default_rng(0))
    b = MujocoBackend()
    b.load(scene, EyeSpec(32, 32, 60))
    b.set_eye(np.array([scene.spawn[0], scene.spawn[1], 0.28]), scene.spawn[2], 0.0)
    ref = b.render().rgb
    other = mujoco.Renderer(b.model, 32, 32)  # makes its own context current
    other.update_scene(b.data, "overhead")
    other.render()
    np.testing.assert_array_equal(b.render().rgb, ref)
    other.close()
    b.close()


def test_frustum_culling_hides_geoms_out_of_view_and_keeps_frames_identical(backend):
    from env.backends.mujoco.culling import CULLED_GROUP, outside_frustum

    groups = backend.model.geom_group.copy()
    sx, sy, yaw = backend.scene.spawn
    culled, frames = [], []
    for turn in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        backend.set_eye(np.array([sx, sy, 0.28]), yaw + turn, 0.1 * np.sin(3 * turn))
        backend._sync()
        out = outside_frustum(backend.model, backend.data, backend._eye_cam.fixedcamid, 1.0)
        culled.append(int(out.sum()))
        frames.append(backend.render().rgb)
    # Looking around a home, a good share of its geoms is out of view at any moment...
    assert min(culled) > 0 and np.mean(culled) > 0.2 * backend.model.ngeom
    # ...and the model is left as it was: groups restored, line of sight unaffected.
    np.testing.assert_array_equal(backend.model.geom_group, groups)
    assert CULLED_GROUP not in set(groups.tolist())
    # The same views without culling (every geom handed to GL) are the same pixels.
    backend._culler.update = lambda r, d, c, o, a: r.update(d, c, o)
    for turn, frame in zip(np.linspace(0, 2 * np.pi, 12, endpoint=False), frames):
        backend.set_eye(np.array([sx, sy, 0.28]), yaw + turn, 0.1 * np.sin(3 * turn))
        np.testing.assert_array_equal(backend.render().rgb, frame)


def _asleep(backend, name: str) -> bool:
    """Whether the tree of object ``name`` sleeps (MuJoCo island sleeping)."""
    m = backend.model
    return bool(backend.data.tree_asleep[m.body_treeid[m.body(name).id]] >= 0)


def test_resting_toys_sleep_and_wake_when_moved(backend):
    toy = "block_3"
    backend.set_pose(toy, np.array([1.0, 0.5, 0.3]))
    backend.step(2.0)  # falls, settles, sleeps
    assert _asleep(backend, toy)
    rest = backend.get_position(toy)
    backend.set_pose(toy, rest + [0.0, 0.0, 0.3])  # a task lifts it: it wakes and falls back
    backend.step(0.1)
    assert not _asleep(backend, toy)
    assert backend.get_position(toy)[2] < rest[2] + 0.3 - 0.02
    backend.step(2.0)
    assert _asleep(backend, toy) and backend.get_position(toy)[2] == pytest.approx(rest[2], abs=0.01)
    backend.set_velocity(toy, np.array([0.5, 0.0, 0.0]))  # a push wakes it too
    backend.step(0.2)
    assert backend.get_position(toy)[0] > rest[0] + 0.005  # slid (a block stops within ~1 cm)


@pytest.mark.parametrize("env_id", ["Peekaboo/FindToy-v1", "Peekaboo/Cups-v2", "Peekaboo/OccludedTrajectory-v2"])
def test_sleeping_changes_no_frame_or_reward(env_id):
    """Island sleeping is a speed lever only: the same seed and actions give byte-identical frames and rewards
    with and without it (issue #18), while toys do sleep."""

    def run(sleep: bool):
        e = env.make(env_id, width=64, height=64)
        e.unwrapped.backend.sleep = sleep
        rng = np.random.default_rng(0)
        obs, _ = e.reset(seed=3)
        frames, rewards, slept = [obs], [], 0
        for _ in range(400):
            obs, r, term, trunc, _ = e.step(int(rng.integers(6)))
            frames.append(obs)
            rewards.append(r)
            slept += int((e.unwrapped.backend.data.tree_asleep >= 0).sum())
            if term or trunc:
                frames.append(e.reset()[0])
        e.close()
        return np.stack(frames), rewards, slept

    f0, r0, slept0 = run(False)
    f1, r1, slept1 = run(True)
    assert slept0 == 0 and slept1 > 100
    assert r0 == r1
    np.testing.assert_array_equal(f0, f1)


@pytest.mark.parametrize("env_id", ["Peekaboo/FindToy-v1", "Peekaboo/Occluder-v2"])
def test_eye_frames_do_not_depend_on_the_offscreen_buffer_size(env_id):
    """The offscreen buffer fits the eye (a speed lever, issue #18); an env whose buffer is grown to 512x512 after
    every reset (as every buffer was before) sees byte-identical frames for the same seed and actions."""
    small, big = (env.make(env_id, width=64, height=64) for _ in range(2))
    rng = np.random.default_rng(0)

    def grow() -> None:
        big.unwrapped.backend.render_view("overhead", 512, 512)

    obs_small, obs_big = small.reset(seed=5)[0], (big.reset(seed=5)[0], grow())[0]
    ctx = lambda e: e.unwrapped.backend._renderer._ctx
    assert (ctx(small).offWidth, ctx(big).offWidth) == (64, 512)
    for _ in range(300):
        np.testing.assert_array_equal(obs_small, obs_big)
        a = int(rng.integers(6))
        obs_small, _, term, trunc, _ = small.step(a)
        obs_big, _, term_big, trunc_big, _ = big.step(a)
        assert (term, trunc) == (term_big, trunc_big)
        if term or trunc:
            obs_small, obs_big = small.reset()[0], (big.reset()[0], grow())[0]
    np.testing.assert_array_equal(obs_small, obs_big)
    small.close()
    big.close()
