"""Peekaboo gymnasium environments. Importing this package registers every env id (and sets up headless GL)."""

from env.glsetup import configure_gl_env

configure_gl_env()  # before anything imports mujoco

import difflib

import gymnasium as gym

ENV_IDS: dict[str, str] = {
    "Peekaboo/FindToy-v1": "find_toy",
    "Peekaboo/Occluder-v2": "occluder",
    "Peekaboo/Cups-v2": "cups",
    "Peekaboo/ANotB-v2": "a_not_b",
    "Peekaboo/DelayedResponse-v2": "delayed_response",
    "Peekaboo/OccludedTrajectory-v2": "occluded_trajectory",
}
"""Every current gymnasium id → task name. Bump the version when behaviour changes (and keep the old id in
:data:`LEGACY_IDS` with the options that reproduce it, or list it in :data:`RETIRED_IDS`)."""

LEGACY_IDS: dict[str, tuple[str, dict[str, object]]] = {
    "Peekaboo/FindToy-v0": ("find_toy", {"tessellation": "fine"}),
}
"""Earlier versions, still registered: id → (task name, options that reproduce them). v0 → v1: coarser built-in
shapes (``tessellation``), ~1.3x faster; see ``env.infant_env``'s version history."""

RETIRED_IDS: dict[str, str] = {
    f"Peekaboo/{name}-{old}": f"Peekaboo/{name}-v2"
    for name in ("Occluder", "Cups", "ANotB", "DelayedResponse", "OccludedTrajectory") for old in ("v0", "v1")
}
"""Battery ids no longer registered → their replacement. v1 → v2 changed what the battery measures (a hidden toy
that cannot move or be peeked at, a caregiver's hand, a reveal, validated options; ``env.infant_env``'s version
history); the v1 behaviour is not kept."""

MAX_EPISODE_STEPS = 300


def _retired(env_id: str):
    def make(**_: object):
        check_env_id(env_id)  # raises, naming the replacement
    return make


def register_all() -> None:
    """Register every id in :data:`ENV_IDS` and :data:`LEGACY_IDS`, and the :data:`RETIRED_IDS` as ids whose
    ``gym.make`` raises an error naming the replacement (idempotent). Each current id's vector entry point is
    :class:`env.batched.BatchedInfantEnv`: ``gymnasium.make_vec(id, num_envs=N, vectorization_mode=
    "vector_entry_point")`` renders its N worlds as one batch."""
    ids = {env_id: (task, {}) for env_id, task in ENV_IDS.items()} | LEGACY_IDS
    for env_id, (task, options) in ids.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="env.infant_env:InfantEnv", kwargs={"task": task, **options},
                         max_episode_steps=None, disable_env_checker=True,
                         vector_entry_point="env.batched:BatchedInfantEnv")
    for env_id in RETIRED_IDS:
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=_retired(env_id), disable_env_checker=True)


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if registered, else raise an error with close matches and the full list."""
    if env_id in ENV_IDS or env_id in LEGACY_IDS:
        return env_id
    if env_id in RETIRED_IDS:
        raise ValueError(f"{env_id} was retired: use {RETIRED_IDS[env_id]} (the battery's v2: a hidden toy that stays "
                         "put and cannot be peeked at, a caregiver's hand and a reveal; see env.infant_env's version "
                         "history)")
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


def check_options(env_id: str, **kwargs) -> None:
    """Raise ``ValueError``/``TypeError`` naming the option when ``gym.make(env_id, **kwargs)`` would refuse its
    options (an unknown key, a bad value or range); builds no scene and loads no simulator."""
    from env.infant_env import parse_options
    task, fixed = task_of(env_id)
    parse_options(task, {**fixed, **kwargs})


def make(env_id: str, **kwargs):
    """``gymnasium.make`` with a helpful error for unknown ids; accepts bare task names too."""
    return gym.make(check_env_id(env_id), **kwargs)


register_all()

__all__ = ["ENV_IDS", "LEGACY_IDS", "RETIRED_IDS", "check_env_id", "check_options", "make", "register_all",
           "task_of"]
