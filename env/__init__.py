"""Peekaboo gymnasium environments. Importing this package registers every env id (and sets up headless GL)."""

from env.glsetup import configure_gl_env

configure_gl_env()  # before anything imports mujoco

import difflib

import gymnasium as gym

ENV_IDS: dict[str, str] = {
    "Peekaboo/FindToy-v1": "find_toy",
    "Peekaboo/Occluder-v1": "occluder",
    "Peekaboo/Cups-v1": "cups",
    "Peekaboo/ANotB-v1": "a_not_b",
    "Peekaboo/DelayedResponse-v1": "delayed_response",
    "Peekaboo/OccludedTrajectory-v1": "occluded_trajectory",
}
"""Every current gymnasium id → task name. Bump the version when behaviour changes (and keep the old id in
:data:`LEGACY_IDS` with the options that reproduce it)."""

LEGACY_IDS: dict[str, tuple[str, dict[str, object]]] = {
    env_id.replace("-v1", "-v0"): (task, {"tessellation": "fine"}) for env_id, task in ENV_IDS.items()
}
"""Earlier versions, still registered: id → (task name, options that reproduce them). v0 → v1: coarser built-in
shapes (``tessellation``), ~1.3x faster; see ``env.infant_env``'s version history."""

MAX_EPISODE_STEPS = 300


def register_all() -> None:
    """Register every id in :data:`ENV_IDS` and :data:`LEGACY_IDS` (idempotent). Each id's vector entry point is
    :class:`env.batched.BatchedInfantEnv`: ``gymnasium.make_vec(id, num_envs=N, vectorization_mode=
    "vector_entry_point")`` renders its N worlds as one batch."""
    ids = {env_id: (task, {}) for env_id, task in ENV_IDS.items()} | LEGACY_IDS
    for env_id, (task, options) in ids.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="env.infant_env:InfantEnv", kwargs={"task": task, **options},
                         max_episode_steps=None, disable_env_checker=True,
                         vector_entry_point="env.batched:BatchedInfantEnv")


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if registered, else raise an error with close matches and the full list."""
    if env_id in ENV_IDS or env_id in LEGACY_IDS:
        return env_id
    by_task = {t: i for i, t in ENV_IDS.items()}
    if env_id in by_task:  # a bare task name is accepted
        return by_task[env_id]
    close = difflib.get_close_matches(env_id, list(ENV_IDS) + list(by_task) + list(LEGACY_IDS), n=3)
    hint = f" Did you mean {close}?" if close else ""
    raise ValueError(f"unknown task id {env_id!r}.{hint} Registered ids: {sorted(ENV_IDS)} "
                     f"(and the earlier {sorted(LEGACY_IDS)})")


def task_of(env_id: str) -> tuple[str, dict[str, object]]:
    """Task name of a registered id (or bare task name) and the options its version fixes."""
    env_id = check_env_id(env_id)
    if env_id in LEGACY_IDS:
        task, options = LEGACY_IDS[env_id]
        return task, dict(options)
    return ENV_IDS[env_id], {}


def make(env_id: str, **kwargs):
    """``gymnasium.make`` with a helpful error for unknown ids; accepts bare task names too."""
    return gym.make(check_env_id(env_id), **kwargs)


register_all()

__all__ = ["ENV_IDS", "LEGACY_IDS", "check_env_id", "make", "register_all", "task_of"]
