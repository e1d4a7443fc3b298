"""How close PPO's gradient step runs to this core's arithmetic peak (``python -m tools.bench --only peak``).

Issue #18's learner goals are ratios of end to end to env-only steps/s. With env-only filling every core, no
schedule lifts end to end above env CPU / (env CPU + learner CPU), so what bounds them is the learner's CPU per
env step; this part says how much of that is arithmetic the core cannot do faster. In one thread it measures:
- a large fp32 matmul (and bf16), the core's practical peak;
- one PPO minibatch step of the agent's default policy (the fast CNN and the heads, built by
  :func:`agent.policy.policy_spec`): ``evaluate_actions``, a PPO-shaped loss, backward and the optimizer step,
  fp32 and under bf16 autocast, with its FLOPs counted by ``torch.utils.flop_counter`` (the optimizer not counted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _best_seconds(fn: Callable[[], Any], repeats: int, rounds: int = 3) -> float:
    """Seconds per call of ``fn``: the best of ``rounds`` rounds of ``repeats`` calls, after one warm-up call
    (oneDNN picks and caches its kernels on the first), on the bench's clock (:func:`tools.benchutil.use_cpu_clock`)."""
    from tools.benchutil import timed_calls, warm_up

    warm_up(lambda _: fn(), 0.0)
    return min(dt / n for n, dt in (timed_calls(lambda _: fn(), 0.0, repeats, warm=False) for _ in range(rounds)))


def matmul_gflops(n: int = 2048, dtype: torch.dtype = torch.float32, repeats: int = 3) -> float:
    """GFLOP/s of an ``n``×``n``×``n`` matmul in ``dtype`` on the current torch threads."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n ** 3 / _best_seconds(lambda: a @ b, repeats) / 1e9


def ppo_step(size: int = 64, batch: int = 256) -> tuple[Callable[[bool], None], int, torch.nn.Module]:
    """One PPO minibatch step of the default agent's policy on random pixels: ``step(bf16)``, its FLOPs and the
    policy it trains."""
    import gymnasium as gym
    from stable_baselines3.common.policies import ActorCriticCnnPolicy

    from agent.policy import policy_spec
    from curriculum.config import AgentConfig
    from env.body import DISCRETE_ACTIONS

    n_actions = len(DISCRETE_ACTIONS)
    obs_space = gym.spaces.Box(0, 255, (3, size, size), np.uint8)
    _, kwargs = policy_spec(AgentConfig())
    policy = ActorCriticCnnPolicy(obs_space, gym.spaces.Discrete(n_actions), lambda _: 3e-4, **kwargs)
    gen = torch.Generator().manual_seed(0)
    obs = torch.randint(0, 256, (batch, 3, size, size), generator=gen).float()
    actions = torch.randint(0, n_actions, (batch,), generator=gen)
    advantages, returns = torch.randn(batch, generator=gen), torch.randn(batch, generator=gen)

    def step(bf16: bool = False) -> None:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            values, log_prob, entropy = policy.evaluate_actions(obs, actions)
        ratio = torch.exp(log_prob.float() - log_prob.float().detach())
        loss = (-(advantages * ratio).mean() + 0.5 * ((returns - values.float().flatten()) ** 2).mean()
                - 0.01 * entropy.float().mean())
        policy.optimizer.zero_grad()
        loss.backward()
        policy.optimizer.step()

    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return step, int(counter.get_total_flops()), policy


def learner_peak(size: int = 64, batch: int = 256, matmul_n: int = 2048, repeats: int = 10) -> dict[str, Any]:
    """The figures of this module's docstring, on one torch thread (restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fp32 = matmul_gflops(matmul_n, torch.float32)
        bf16 = matmul_gflops(matmul_n, torch.bfloat16)
        step, flops, _ = ppo_step(size, batch)
        t32 = _best_seconds(lambda: step(False), repeats)
        t16 = _best_seconds(lambda: step(True), repeats)
    finally:
        torch.set_num_threads(threads)
    return {"threads": 1, "size": size, "batch": batch, "matmul_n": matmul_n,
            "matmul_fp32_gflops": round(fp32, 1), "matmul_bf16_gflops": round(bf16, 1),
            "ppo_step_flops_per_sample": round(flops / batch),
            "ppo_step_fp32_ms": round(t32 * 1e3, 2), "ppo_step_fp32_gflops": round(flops / t32 / 1e9, 1),
            "ppo_step_fp32_vs_matmul": round(flops / t32 / 1e9 / fp32, 3),
            "ppo_step_bf16_ms": round(t16 * 1e3, 2), "ppo_step_bf16_vs_fp32": round(t16 / t32, 3),
            # 4 epochs over a 2048-step rollout, the agent's default: the gradient epochs' CPU-s per 2048 env steps
            "ppo_update_cpu_s_per_2048": round(4 * 2048 / batch * t32, 3)}


def format_peak(r: dict[str, Any]) -> str:
    """Two lines for the bench table."""
    return (f"one thread: matmul fp32 {r['matmul_fp32_gflops']:.0f} GFLOP/s, bf16 {r['matmul_bf16_gflops']:.0f}; "
            f"PPO minibatch step ({r['batch']}, {r['ppo_step_flops_per_sample'] / 1e6:.1f} MFLOP/sample) "
            f"{r['ppo_step_fp32_ms']:.1f} ms = {r['ppo_step_fp32_gflops']:.0f} GFLOP/s "
            f"({r['ppo_step_fp32_vs_matmul']:.2f}x the fp32 matmul)\n"
            f"  bf16 autocast: {r['ppo_step_bf16_vs_fp32']:.2f}x the fp32 step's time; gradient epochs "
            f"{r['ppo_update_cpu_s_per_2048']:.2f} CPU-s per 2048 env steps (4 epochs)")
