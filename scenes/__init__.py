"""Procedurally generated homes as typed, backend-independent scene specs."""

from scenes.generator import generate_home
from scenes.randomization import Param, SceneRandomization, no_random
from scenes.spec import Light, Material, Room, SceneObject, SceneSpec, Shape, Texture

__all__ = [
    "Light", "Material", "Param", "Room", "SceneObject", "SceneRandomization", "SceneSpec", "Shape", "Texture",
    "generate_home", "no_random",
]
