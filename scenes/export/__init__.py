"""Export scene specs to other simulators' asset formats (GLB + habitat-sim configs)."""

from scenes.export.glb import ExportedObject, ExportedScene, cache_root, export_scene
from scenes.export.habitat_config import validate

__all__ = ["ExportedObject", "ExportedScene", "cache_root", "export_scene", "validate"]
