"""Peekaboo gymnasium environments. Importing this package registers every env id (and sets up headless GL)."""

from env.glsetup import configure_gl_env

configure_gl_env()  # before anything imports mujoco

import difflib  # noqa: E402

import gymnasium as gym  # noqa: E402

ENV_IDS: dict[str, str] = {
    "Peekaboo/FindToy-v0": "find_toy",
    "Peekaboo/Occluder-v0": "occluder",
    "Peekaboo/Cups-v0": "cups",
    "Peekaboo/ANotB-v0": "a_not_b",
    "Peekaboo/DelayedResponse-v0": "delayed_response",
    "Peekaboo/OccludedTrajectory-v0": "occluded_trajectory",
}
"""Every registered gymnasium id → task name. Bump the version when behaviour changes."""

MAX_EPISODE_STEPS = 300


def register_all() -> None:
    """Register every id in :data:`ENV_IDS` (idempotent)."""
    for env_id, task in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="env.infant_env:InfantEnv", kwargs={"task": task},
                         max_episode_steps=None, disable_env_checker=True)


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if registered, else raise an error with close matches and the full list."""
    if env_id in ENV_IDS:
        return env_id
    by_task = {t: i for i, t in ENV_IDS.items()}
    if env_id in by_task:  # a bare task name is accepted
        return by_task[env_id]
    close = difflib.get_close_matches(env_id, list(ENV_IDS) + list(by_task), n=3)
    hint = f" Did you mean {close}?" if close else ""
    raise ValueError(f"unknown task id {env_id!r}.{hint} Registered ids: {sorted(ENV_IDS)}")


def make(env_id: str, **kwargs):
    """``gymnasium.make`` with a helpful error for unknown ids; accepts bare task names too."""
    return gym.make(check_env_id(env_id), **kwargs)


register_all()

__all__ = ["ENV_IDS", "check_env_id", "make", "register_all"]
