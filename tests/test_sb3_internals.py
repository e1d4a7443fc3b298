"""The private parts of stable-baselines3 / sb3-contrib that agent/rollout.py, agent/recurrent.py and
agent/stepper.py rely on. pyproject.toml pins the tested minor versions; when a new version is tried, this file
says exactly what changed (a signature, an attribute, or the source of a function those modules mirror), so a
silent divergence from SB3's rollouts cannot slip in."""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticCnnPolicy, RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy

ROOT = Path(__file__).resolve().parents[1]

SIGNATURES = {
    OnPolicyAlgorithm.collect_rollouts: ["self", "env", "callback", "rollout_buffer", "n_rollout_steps"],
    RecurrentPPO.collect_rollouts: ["self", "env", "callback", "rollout_buffer", "n_rollout_steps"],
    BaseAlgorithm._update_info_buffer: ["self", "infos", "dones"],
    RolloutBuffer.add: ["self", "obs", "action", "reward", "episode_start", "value", "log_prob"],
    RecurrentRolloutBuffer.add: ["self", "args", "lstm_states", "kwargs"],
    RolloutBuffer.compute_returns_and_advantage: ["self", "last_values", "dones"],
    BaseCallback.update_locals: ["self", "locals_"],
    ActorCriticPolicy.forward: ["self", "obs", "deterministic"],
    ActorCriticPolicy.predict_values: ["self", "obs"],
    ActorCriticPolicy.extract_features: ["self", "obs", "features_extractor"],
    RecurrentActorCriticPolicy.forward: ["self", "obs", "lstm_states", "episode_starts", "deterministic"],
    RecurrentActorCriticPolicy.predict_values: ["self", "obs", "lstm_states", "episode_starts"],
    RecurrentActorCriticPolicy._process_sequence: ["features", "lstm_states", "episode_starts", "lstm"],
    RecurrentActorCriticPolicy.__init__: [
        "self", "observation_space", "action_space", "lr_schedule", "net_arch", "activation_fn", "ortho_init",
        "use_sde", "log_std_init", "full_std", "use_expln", "squash_output", "features_extractor_class",
        "features_extractor_kwargs", "share_features_extractor", "normalize_images", "optimizer_class",
        "optimizer_kwargs", "lstm_hidden_size", "n_lstm_layers", "shared_lstm", "enable_critic_lstm", "lstm_kwargs"],
    BasePolicy.obs_to_tensor: ["self", "observation"],
}
"""Functions the agent calls or overrides with private knowledge → their parameter names."""

SOURCES = {
    "stable_baselines3 OnPolicyAlgorithm.collect_rollouts": (
        OnPolicyAlgorithm.collect_rollouts, ("agent/rollout.py's _InWorkerRollouts._in_worker_rollout and "
        "WorkerRolloutPPO._file_step mirror its bookkeeping (timeouts bootstrap, _last_obs, buffer.add)")),
    "sb3_contrib RecurrentPPO.collect_rollouts": (
        RecurrentPPO.collect_rollouts, ("agent/rollout.py's WorkerRolloutRecurrentPPO mirrors it (LSTM states "
        "stored before each step, critic state for the time-limit bootstrap)")),
    "stable_baselines3 ActorCriticPolicy.forward": (
        ActorCriticPolicy.forward, "agent/stepper.py's sample() computes the same without a Distribution"),
    "sb3_contrib RecurrentActorCriticPolicy.forward": (
        RecurrentActorCriticPolicy.forward, ("agent/stepper.py's sample_recurrent() computes the same for one "
        "step without its sequence reshaping and Distribution")),
    "sb3_contrib RecurrentActorCriticPolicy._process_sequence": (
        RecurrentActorCriticPolicy._process_sequence, ("agent/recurrent.py's InfantLstmPolicy replaces it for "
        "sequences that start with their episode and falls back to it")),
    "sb3_contrib RecurrentActorCriticPolicy._get_constructor_parameters": (
        RecurrentActorCriticPolicy._get_constructor_parameters, ("agent/recurrent.py's InfantLstmPolicy adds the "
        "LSTM's shape, which this leaves out")),
}
"""Functions whose behaviour agent/ reproduces → why; their source is fingerprinted below."""

FINGERPRINTS = {
    "stable_baselines3 OnPolicyAlgorithm.collect_rollouts": "09574c98e2156ac7",
    "sb3_contrib RecurrentPPO.collect_rollouts": "08762fac63d67742",
    "stable_baselines3 ActorCriticPolicy.forward": "7c66ed1970a36916",
    "sb3_contrib RecurrentActorCriticPolicy.forward": "41d069fb57d9f46d",
    "sb3_contrib RecurrentActorCriticPolicy._process_sequence": "93894aa8d5c76751",
    "sb3_contrib RecurrentActorCriticPolicy._get_constructor_parameters": "d42461ccae13d637",
}
""":func:`fingerprint` of each function as of the pinned versions (stable-baselines3 / sb3-contrib 2.9.2)."""

ATTRIBUTES = {
    "PPO": ["_last_obs", "_last_episode_starts", "num_timesteps", "use_sde", "seed", "gamma", "device", "policy",
            "action_space", "observation_space"],
    "RecurrentPPO": ["_last_lstm_states", "_last_obs", "_last_episode_starts", "num_timesteps"],
    "policy": ["share_features_extractor", "mlp_extractor", "action_net", "value_net", "features_extractor",
               "set_training_mode"],
    "recurrent policy": ["lstm_actor", "lstm_critic", "lstm_output_dim", "lstm_hidden_state_shape", "shared_lstm",
                         "enable_critic_lstm", "lstm_kwargs"],
}
"""Attributes read on live learners and policies."""


def fingerprint(fn) -> str:
    """Of the function's syntax tree without its docstring: comments, layout and docs do not count."""
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    body = node.body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        node.body = body[1:]  # type: ignore[attr-defined]
    return hashlib.sha256(ast.dump(node).encode()).hexdigest()[:16]


def test_installed_versions_are_the_pinned_ones() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for name in ("stable-baselines3", "sb3-contrib"):
        line = re.search(rf'"({re.escape(name)}[^"]*)"', text)
        assert line, f"pyproject.toml no longer lists {name}"
        req = Requirement(line.group(1))
        assert req.specifier.contains(version(name)), (
            f"{name} {version(name)} is installed but pyproject.toml pins {req.specifier}: run this file's tests, "
            "and widen the pin only when they pass")


@pytest.mark.parametrize("fn", list(SIGNATURES), ids=lambda f: f.__qualname__)
def test_signatures(fn) -> None:
    got = list(inspect.signature(fn).parameters)
    assert got == SIGNATURES[fn], (f"{fn.__module__}.{fn.__qualname__} now takes {got}, agent/ was written for "
                                   f"{SIGNATURES[fn]}: update agent/rollout.py, agent/recurrent.py or agent/stepper.py")


@pytest.mark.parametrize("name", list(SOURCES))
def test_mirrored_sources_unchanged(name: str) -> None:
    fn, why = SOURCES[name]
    got = fingerprint(fn)
    assert got == FINGERPRINTS[name], (
        f"the source of {name} changed (fingerprint {got}, tested {FINGERPRINTS[name]}; "
        f"stable-baselines3 {version('stable-baselines3')}, sb3-contrib {version('sb3-contrib')}): {why}. Read "
        "its new source, update agent/ to match, then record the new fingerprint in tests/test_sb3_internals.py")


@pytest.mark.parametrize("recurrent", [False, True])
def test_attributes_the_agent_reads_exist(recurrent: bool) -> None:
    from agent.policy import build_model, make_vec_env
    from curriculum.config import AgentConfig, PPOConfig, StageConfig

    agent = AgentConfig(features_dim=16, recurrent=recurrent, lstm_hidden_size=8,
                        ppo=PPOConfig(n_steps=8, batch_size=8, n_epochs=1))
    stage = StageConfig(name="t", env_ids=("Peekaboo/FindToy-v1",))
    venv = make_vec_env(stage, 1, 32, 32, "mujoco", agent, subprocess=False, seed=0)
    try:
        model = build_model(agent, venv, 0, None)
        model.learn(8)  # sets the rollout bookkeeping (_last_obs, _last_lstm_states, ...)
        checks = {"PPO": model, "policy": model.policy}
        if recurrent:
            checks |= {"RecurrentPPO": model, "recurrent policy": model.policy}
        missing = [f"{what}.{a}" for what, obj in checks.items() for a in ATTRIBUTES[what] if not hasattr(obj, a)]
        assert not missing, f"SB3 objects no longer have {missing}: agent/rollout.py and agent/recurrent.py read them"
        if recurrent:
            assert isinstance(model._last_lstm_states, RNNStates)
            assert isinstance(model.policy, RecurrentActorCriticCnnPolicy)
            params = model.policy._get_constructor_parameters()
            assert {"lstm_hidden_size", "n_lstm_layers"} <= set(params)
    finally:
        venv.close()


if __name__ == "__main__":  # print the fingerprints of the installed versions (to record after a review)
    for key, (fn, _) in SOURCES.items():
        print(f'    "{key}": "{fingerprint(fn)}",', file=sys.stdout)
