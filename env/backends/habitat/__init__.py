"""The optional habitat-sim backend. Importing this package is cheap; habitat_sim is imported when a
:class:`HabitatBackend` is created, and its absence raises an ImportError that says how to install it."""

from env.backends.habitat.backend import INSTALL_HINT, HabitatBackend, require_habitat_sim

__all__ = ["INSTALL_HINT", "HabitatBackend", "require_habitat_sim"]
