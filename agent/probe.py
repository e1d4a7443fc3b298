"""Recording a policy in a battery task, and a linear probe of the hidden location from its internal state.

:func:`record` steps a learner (PPO, frame-stacked PPO or RecurrentPPO) in in-process envs and keeps, per env and
step, the phase, the trial's hidden location, the choice and the policy's internal state after the step's
observation (the LSTM's ``h`` and ``c``, or the encoder's features). :func:`linear_probe` fits a multinomial
logistic regression from that state at the first search step to the hidden location on one split of the episodes
and scores it on the rest: if it reads the location well above chance while the policy chooses at chance, the
memory exists and the policy ignores it; if not, there is no memory to use.

The hidden location is read here only as the probe's *label*; it never enters the policy.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack

from agent.privileged import target_index
from agent.seqpath import PHASE_CODES, Recording, trials
from agent.stats import wilson_interval
from agent.stepper import PolicyStepper


def probe_venv(env_id: str, kwargs: dict[str, Any], n_envs: int, frame_stack: int = 1,
               privileged: bool = False) -> VecEnv:
    """In-process envs for :func:`record`: one batched-rendering env of ``n_envs`` worlds (the fast path), or
    per-world envs for a privileged run (its dict observation needs the wrapper)."""
    if privileged:
        from agent.policy import make_env_fn
        venv: VecEnv = DummyVecEnv([make_env_fn(env_id, kwargs, privileged=True) for _ in range(n_envs)])
    else:
        from agent.vec_env import sb3_vec_env
        venv = sb3_vec_env(n_envs, env_id, **kwargs)
    return VecFrameStack(venv, frame_stack) if frame_stack > 1 else venv


def record(model: BaseAlgorithm, venv: VecEnv, steps: int, seed: int, deterministic: bool = False) -> Recording:
    """Run ``model`` for ``steps`` steps in ``venv`` (seeded with ``seed``; closed at the end).

    Features: ``lstm_h``/``lstm_c`` (actor LSTM, after the step's observation) for a recurrent policy, and
    ``encoder`` (the features extractor's output) for every policy.
    """
    n_envs = venv.num_envs
    venv.seed(seed)
    obs = venv.reset()
    shape = (steps, n_envs)
    rec = Recording(np.zeros(shape, bool), np.zeros(shape, np.int8), np.zeros(shape, bool),
                    -np.ones(shape, np.int16), -np.ones(shape, np.int16))
    feats: dict[str, list[np.ndarray]] = {}
    start = np.ones(n_envs, bool)
    phase = np.full(n_envs, PHASE_CODES["show"])
    infos0 = getattr(venv, "reset_infos", None) or [{}] * n_envs  # not every VecEnv keeps its reset infos
    target = np.array([target_index(i) if i else -1 for i in infos0])
    stepper = PolicyStepper(model.policy, deterministic=deterministic, seed=seed)  # the one policy stepper
    policy = model.policy
    try:
        for t in range(steps):
            with th.no_grad():
                x = policy.obs_to_tensor(obs)[0]
                extractor = policy.pi_features_extractor
                feats.setdefault("encoder", []).append(
                    super(ActorCriticPolicy, policy).extract_features(x, extractor).cpu().numpy())
            action = stepper(obs, start).actions
            if stepper.recurrent:  # the actor's state after the step's observation: what the action came from
                h, c = stepper.lstm_states.pi
                feats.setdefault("lstm_h", []).append(h[-1].cpu().numpy().copy())
                feats.setdefault("lstm_c", []).append(c[-1].cpu().numpy().copy())
            rec.episode_start[t], rec.phase[t] = start, phase
            obs, _, done, infos = venv.step(action)
            for e, info in enumerate(infos):
                rec.target[t, e] = target[e]
                if target[e] < 0:
                    rec.target[t, e] = target_index(info)
                if done[e]:
                    rec.chosen[t, e] = int(info.get("chosen_index", -1))
            rec.done[t] = done
            for e, info in enumerate(infos):
                if done[e]:
                    phase[e], target[e] = PHASE_CODES["show"], -1  # the new episode's target: read at its first step
                else:
                    phase[e], target[e] = PHASE_CODES[info["phase"]], target_index(info)
            start = done.astype(bool)
    finally:
        venv.close()
    rec.features = {k: np.stack(v) for k, v in feats.items()}
    _fill_targets(rec)
    return rec


def _fill_targets(rec: Recording) -> None:
    """Give every step of an episode the target recorded at its first known step (the reset's info is not seen
    through a VecEnv's autoreset, so an episode's first step may hold -1)."""
    t_len, n = rec.target.shape
    for e in range(n):
        starts = [*np.flatnonzero(rec.episode_start[:, e]), t_len]
        for a, b in pairwise(starts):
            known = rec.target[a:b, e][rec.target[a:b, e] >= 0]
            if len(known):
                rec.target[a:b, e] = known[-1]


def first_search_rows(rec: Recording, key: str, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature ``key`` ``offset`` steps after each complete trial's first search step (trials that last that
    long), the trial's target and its choice."""
    trs = [tr for tr in trials(rec) if tr["target"] >= 0 and tr["search_first"] + offset <= tr["last"]]
    if not trs:
        raise ValueError(f"no complete trial lasts {offset} steps into its search")
    x = np.stack([rec.features[key][tr["search_first"] + offset, tr["env"]] for tr in trs])
    return x, np.array([tr["target"] for tr in trs]), np.array([tr["chosen"] for tr in trs])


def linear_probe(x: np.ndarray, y: np.ndarray, n_classes: int, train_frac: float = 0.6, seed: int = 0,
                 l2: float = 1e-2, iters: int = 300) -> dict[str, Any]:
    """Multinomial logistic regression (standardised features, L2) fit on ``train_frac`` of the rows, scored on
    the rest: held-out accuracy with its 95% Wilson interval, and chance (the majority class of the test rows)."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    n_train = round(train_frac * len(y))
    tr, te = idx[:n_train], idx[n_train:]
    if len(tr) < 2 or len(te) < 1:
        raise ValueError(f"probe needs more rows than {len(y)}")
    mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
    xt = th.as_tensor((x - mu) / sd, dtype=th.float32)
    yt = th.as_tensor(y, dtype=th.long)
    lin = th.nn.Linear(x.shape[1], n_classes)
    opt = th.optim.LBFGS(lin.parameters(), max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> th.Tensor:
        opt.zero_grad()
        loss = th.nn.functional.cross_entropy(lin(xt[tr]), yt[tr]) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with th.no_grad():
        pred = lin(xt).argmax(1).numpy()
    k_test = int((pred[te] == y[te]).sum())
    counts = np.bincount(y[te], minlength=n_classes)
    return {"train_acc": float((pred[tr] == y[tr]).mean()), "test_acc": k_test / len(te),
            "test_ci95": list(wilson_interval(k_test, len(te))), "n_train": len(tr), "n_test": len(te),
            "chance": float(counts.max() / len(te))}
