"""The habitat-sim backend. Without habitat_sim only the lazy import and its install hint are tested; the
``habitat`` tests run the real backend (no mocks) where habitat-sim is installed."""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
import pytest

from env.backends import EyeSpec, make_backend
from scenes import generate_home
from scenes.objects import cup
from scenes.spec import Material

HAS_HABITAT = importlib.util.find_spec("habitat_sim") is not None
needs_habitat = pytest.mark.skipif(not HAS_HABITAT, reason="habitat_sim not installed")


def test_importing_the_backend_package_does_not_import_habitat_sim() -> None:
    import env.backends.habitat  # noqa: F401

    assert HAS_HABITAT or "habitat_sim" not in sys.modules


@pytest.mark.skipif(HAS_HABITAT, reason="habitat_sim is installed")
def test_missing_habitat_sim_raises_with_install_hint() -> None:
    with pytest.raises(ImportError) as err:
        make_backend("habitat")
    msg = str(err.value)
    assert "habitat_sim is not installed" in msg
    assert "conda install habitat-sim" in msg and "-c conda-forge -c aihabitat" in msg and "headless" in msg


@pytest.fixture
def backend_and_scene(tmp_path):
    pytest.importorskip("habitat_sim", reason="habitat_sim not installed")
    from env.backends.habitat import HabitatBackend

    scene = generate_home(np.random.default_rng(3), seed=3)
    sx, sy, syaw = scene.spawn
    scene = scene.with_objects(cup("test_cup", (sx + math.cos(syaw), sy + math.sin(syaw), 0.0), "red"),
                               materials=(Material("red", (0.9, 0.1, 0.1, 1.0)),))
    backend = HabitatBackend(cache_dir=tmp_path)
    backend.load(scene, EyeSpec(64, 48, 60.0))
    yield backend, scene
    backend.close()


@pytest.mark.habitat
@needs_habitat
def test_habitat_renders_the_eye_view(backend_and_scene) -> None:
    backend, scene = backend_and_scene
    sx, sy, syaw = scene.spawn
    backend.set_eye(np.array([sx, sy, 0.3]), syaw, 0.0)
    f = backend.render(rgb=True, depth=True, segmentation=True)
    assert f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.uint8 and f.rgb.std() > 1
    assert f.depth.shape == (48, 64) and f.depth.dtype == np.float32 and np.nanmax(f.depth) > 0
    cup_id = backend.object_names.index("test_cup") + 1
    assert f.segmentation.dtype == np.int32 and (f.segmentation == cup_id).any()  # the cup is 1 m ahead
    backend.set_lights(False)
    assert backend.render().rgb.max() == 0


@pytest.mark.habitat
@needs_habitat
def test_habitat_moves_objects_and_simulates(backend_and_scene) -> None:
    backend, scene = backend_and_scene
    toy = next(o for o in scene.objects if o.dynamics == "free")
    assert np.allclose(backend.get_position(toy.name), toy.pos, atol=1e-4)
    backend.set_pose("test_cup", np.array([1.0, 2.0, 0.0]), yaw=0.5)
    assert np.allclose(backend.get_position("test_cup"), [1.0, 2.0, 0.0], atol=1e-5)
    backend.set_pose(toy.name, np.array([toy.pos[0], toy.pos[1], 0.5]))
    backend.step(0.5)
    assert backend.get_position(toy.name)[2] < 0.45  # falls under gravity (-y in habitat, -z here)
    assert math.isclose(backend.time, 0.5)
    with pytest.raises(ValueError, match="static"):
        backend.set_pose(scene.objects[0].name, np.zeros(3))
    backend.reset()
    assert np.allclose(backend.get_position(toy.name), toy.pos, atol=1e-4) and backend.time == 0.0


@pytest.mark.habitat
@needs_habitat
def test_habitat_line_of_sight_and_views(backend_and_scene) -> None:
    backend, scene = backend_and_scene
    sx, sy, _ = scene.spawn
    assert backend.line_of_sight(np.array([sx, sy, 0.3]), "test_cup")
    for view in ("overhead", "third_person"):
        img = backend.render_view(view, 96, 64)
        assert img.shape == (64, 96, 3) and img.std() > 1
