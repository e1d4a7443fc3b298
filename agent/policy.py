"""Building the learner: vectorized envs, PPO / RecurrentPPO with the shared encoder, and encoder transfer."""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecFrameStack

from agent.encoder import InfantEncoder, load_encoder, set_trainable
from agent.privileged import PrivilegedEncoder
from agent.recurrent import InfantLstmPolicy
from agent.rollout import WorkerRolloutPPO, WorkerRolloutRecurrentPPO
from curriculum.config import AgentConfig, StageConfig


def make_env_fn(env_id: str, kwargs: dict[str, Any], render_mode: str | None = None,
                privileged: bool = False) -> Callable[[], gym.Env]:
    """A picklable env factory (imports ``env`` in the worker so ids are registered there); ``privileged``
    adds the hidden location to the observation (upper-bound runs only, :mod:`agent.privileged`)."""

    def _make() -> gym.Env:
        import env  # noqa: F401  (registers ids, sets MUJOCO_GL before mujoco loads)
        if mp.parent_process() is not None:  # a vector env's worker: Ctrl-C is the trainer's to handle (SB3's
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # worker would exit, and closing the env would then fail)
        e: gym.Env = gym.make(env_id, render_mode=render_mode, **kwargs)
        if privileged:
            from agent.privileged import PrivilegedTarget
            e = PrivilegedTarget(e)
        return Monitor(e, info_keywords=("is_success",))

    return _make


def make_vec_env(stage: StageConfig, n_envs: int, width: int, height: int, backend: str,
                 agent: AgentConfig, subprocess: bool = True, seed: int | None = None,
                 batched: bool = True, earlier: tuple[StageConfig, ...] = (), sim: str = "mujoco", device: str = "cpu",
                 warp_homes: int = 0) -> VecEnv:
    """``n_envs`` envs of a stage (ids round-robin).

    With ``batched`` (the default) on MuJoCo, one env id and an even ``n_envs``, the worlds run as
    :class:`agent.vec_env.SubprocBatchedVecEnv`: two processes (one per core) of ``n_envs // 2`` worlds rendered
    as one batch each, the fast path. Otherwise each env is its own ``SubprocVecEnv`` process (forkserver: EGL
    is not fork-safe), or all run in-process without ``subprocess``. With ``stage.rehearsal``, that share of the
    envs (the last ones) replays the ``earlier`` stages' ids and options. ``sim="warp"``: all worlds in one MuJoCo
    Warp batch in this process on ``device`` (:class:`env.warp_vector.WarpVectorEnv`; one env id and options, no
    privileged wrapper; ``warp_homes`` > 0: a bank of that many homes).
    """
    specs = env_specs(stage, n_envs, width, height, backend, agent, earlier)
    if sim == "warp":
        return _warp_vec_env(specs, agent, seed, device, warp_homes)
    # a privileged run needs its wrapper on every env: the per-env paths below
    if batched and subprocess and not agent.privileged and backend == "mujoco" and n_envs >= 2 and n_envs % 2 == 0:
        from agent.vec_env import SubprocBatchedVecEnv
        one = all(sp == specs[0] for sp in specs)
        venv: VecEnv = SubprocBatchedVecEnv(n_envs // 2, 2, specs[0][0], **specs[0][1]) if one else \
            SubprocBatchedVecEnv(n_envs // 2, 2, specs=specs)
    elif subprocess and n_envs > 1:
        fns = [make_env_fn(i, kw, privileged=agent.privileged) for i, kw in specs]
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        venv = SubprocVecEnv(fns, start_method=method)
    else:
        venv = DummyVecEnv([make_env_fn(i, kw, privileged=agent.privileged) for i, kw in specs])
    if seed is not None:
        venv.seed(seed)
    if agent.frame_stack > 1:
        venv = VecFrameStack(venv, agent.frame_stack)
    return venv


def env_specs(stage: StageConfig, n_envs: int, width: int, height: int, backend: str,
              agent: AgentConfig, earlier: tuple[StageConfig, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """(env id, ``gym.make`` options) of each training env: the stage's ids (or its ``variants``) round-robin,
    then its rehearsal share (``round(rehearsal * n_envs)`` envs, at least one when on) cycling over the earlier
    stages' envs."""
    def labelled(kw: dict[str, Any]) -> dict[str, Any]:
        return {**kw, "reveal_label": True} if agent.aux_reveal > 0 else kw  # the reveal loss's label (env.reveal)

    n_old = min(n_envs - 1, max(1, round(stage.rehearsal * n_envs))) if stage.rehearsal > 0 and earlier else 0
    own = [(e.env_id, e.kwargs) for e in stage.envs(width, height, backend)]
    specs = [(i, labelled(kw)) for i, kw in (own[k % len(own)] for k in range(n_envs - n_old))]
    replay = [(e.env_id, labelled(e.kwargs)) for s in earlier for e in s.envs(width, height, backend)]
    return specs + [replay[i % len(replay)] for i in range(n_old)]


def _warp_vec_env(specs: list[tuple[str, dict[str, Any]]], agent: AgentConfig, seed: int | None, device: str,
                  homes: int) -> VecEnv:
    """The ``sim="warp"`` branch of :func:`make_vec_env`."""
    from agent.vec_env import SB3BatchedVecEnv
    from env.warp_vector import make_warp

    if any(sp != specs[0] for sp in specs) or agent.privileged or agent.aux_reveal > 0:
        raise ValueError(f"--sim warp runs one env id and options per stage (no rehearsal) without the privileged "
                         f"wrapper or the reveal label (it reads a segmentation image); got "
                         f"{sorted({i for i, _ in specs})}: use --sim mujoco for this stage")
    env_id, kw = specs[0]
    venv: VecEnv = SB3BatchedVecEnv(make_warp(len(specs), env_id, device=device, homes=homes or None, **kw))  # type: ignore[arg-type]
    if seed is not None:
        venv.seed(seed)
    if agent.frame_stack > 1:
        venv = VecFrameStack(venv, agent.frame_stack)
    return venv


class TorchThreads(BaseCallback):
    """One torch thread while collecting rollouts (the env processes need the cores), ``train_threads`` during
    the gradient epochs (the envs wait then). Measured on 2 cores: 1.2-1.6x end-to-end PPO steps/s."""

    def __init__(self, train_threads: int, rollout_threads: int = 1) -> None:
        super().__init__()
        self.train_threads = max(1, train_threads)
        self.rollout_threads = max(1, rollout_threads)

    def _on_rollout_start(self) -> None:
        import torch
        torch.set_num_threads(self.rollout_threads)

    def _on_rollout_end(self) -> None:
        import torch
        torch.set_num_threads(self.train_threads)

    def _on_step(self) -> bool:
        return True


def algo_class(agent: AgentConfig) -> type[BaseAlgorithm]:
    """PPO, or sb3-contrib RecurrentPPO when ``agent.recurrent``; both collect their rollouts in the env
    processes where the env can run them there (:mod:`agent.rollout`); ``agent.sequences: episode`` trains the
    recurrent one on whole-episode sequences (:mod:`agent.episodes`)."""
    if agent.recurrent and agent.sequences == "episode":
        from agent.episodes import learner_class
        return learner_class(agent.mask_frozen, *agent.aux, agent.memory_half_life_s)
    return WorkerRolloutRecurrentPPO if agent.recurrent else WorkerRolloutPPO


def policy_spec(agent: AgentConfig) -> tuple[Any, dict[str, Any]]:
    """The policy class and ``policy_kwargs`` of ``agent``'s learner (also what the checkpoint loader rebuilds)."""
    policy_kwargs: dict[str, Any] = {
        "features_extractor_class": PrivilegedEncoder if agent.privileged else InfantEncoder,
        # raw pixels in, /255 folded into the encoder's first conv: one less pass over each minibatch
        "features_extractor_kwargs": {"features_dim": agent.features_dim, "arch": agent.encoder,
                                      "pixel_scale": 1 / 255},
        "normalize_images": False,
        "net_arch": {"pi": [64], "vf": [64]},
        "optimizer_kwargs": {"foreach": True},  # one fused Adam update over all tensors (CPU: ~5x fewer kernels)
    }
    if agent.recurrent:
        policy_kwargs["lstm_hidden_size"] = agent.lstm_hidden_size
        if agent.aux[0] > 0:
            from agent.auxiliary import AUX_CLASSES
            policy_kwargs["aux_classes"] = AUX_CLASSES
    policy = InfantLstmPolicy if agent.recurrent else ("MultiInputPolicy" if agent.privileged else "CnnPolicy")
    return policy, policy_kwargs


def build_model(agent: AgentConfig, venv: VecEnv, seed: int, tensorboard_log: str | None,
                device: str = "cpu") -> BaseAlgorithm:
    """A fresh learner whose features extractor is an :class:`InfantEncoder`, on torch ``device``."""
    p = agent.ppo
    policy, policy_kwargs = policy_spec(agent)
    n_steps = p.n_steps
    batch = min(p.batch_size, n_steps * venv.num_envs)
    return algo_class(agent)(
        policy, venv, n_steps=n_steps, batch_size=batch,
        n_epochs=p.n_epochs, learning_rate=p.learning_rate, gamma=p.gamma, gae_lambda=p.gae_lambda,
        clip_range=p.clip_range, ent_coef=p.ent_coef, vf_coef=p.vf_coef, max_grad_norm=p.max_grad_norm,
        policy_kwargs=policy_kwargs, seed=seed, device=device, verbose=0, tensorboard_log=tensorboard_log)


def encoder_of(model: BaseAlgorithm) -> InfantEncoder:
    """The shared encoder inside a learner (actor and critic share it)."""
    enc = model.policy.features_extractor
    assert isinstance(enc, InfantEncoder), f"model's features extractor is {type(enc).__name__}, not InfantEncoder"
    return enc


def apply_transfer(model: BaseAlgorithm, mode: str, encoder_path: str | Path | None,
                   source: BaseAlgorithm | None = None) -> dict[str, Any]:
    """Start ``model``'s encoder from ``encoder_path`` per transfer ``mode`` (scratch / no path: keep fresh);
    ``policy``: the whole policy (encoder, LSTMs, heads) of ``source``, the previous stage's learner loaded from the
    ``model.zip`` beside that encoder (:func:`policy_source`)."""
    enc = encoder_of(model)
    if mode == "scratch" or encoder_path is None:
        return {"transfer": "scratch", "from": None}
    if mode == "policy":
        assert source is not None, "transfer: policy needs the previous stage's learner"
        model.policy.load_state_dict(source.policy.state_dict())
        return {"transfer": "policy", "from": str(policy_source(encoder_path))}
    meta = load_encoder(enc, encoder_path)
    if mode == "freeze":
        set_trainable(enc, False)
    return {"transfer": mode, "from": str(encoder_path), "source_meta": meta}


def policy_source(encoder_path: str | Path) -> Path:
    """Where ``transfer: policy`` takes the previous stage's whole policy: the ``model.zip`` beside its encoder."""
    return Path(encoder_path).parent / "model.zip"


class FreezeSchedule(BaseCallback):
    """Keeps the encoder frozen / unfrozen by the stage's transfer mode and its step count (resume-safe)."""

    def __init__(self, mode: str, unfreeze_at: int) -> None:
        super().__init__()
        self.mode = mode
        self.unfreeze_at = unfreeze_at
        self.frozen: bool | None = None

    def _apply(self) -> None:
        if self.mode == "freeze":
            frozen = True
        elif self.mode == "freeze-then-unfreeze":
            frozen = self.model.num_timesteps < self.unfreeze_at
        else:
            frozen = False
        if frozen != self.frozen:
            set_trainable(encoder_of(self.model), not frozen)
            self.frozen = frozen
            self.logger.record("transfer/encoder_frozen", float(frozen))

    def _on_training_start(self) -> None:
        self._apply()

    def _on_rollout_start(self) -> None:
        self._apply()  # the gradient steps follow the rollout, so this covers every update

    def _on_step(self) -> bool:
        return True
