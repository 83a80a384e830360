"""GRPO: group-normalised advantages, a clipped objective and a k3 KL to a frozen reference.

For each prompt, ``sampling.n`` completions (the group) are sampled and scored with the weighted
rewards. Each completion's advantage is its reward minus its group's mean, divided by the group's std
(``scale_rewards``: ``group``; ``batch`` uses the batch std; ``none`` divides by nothing, as Dr. GRPO
does). Every token of a completion shares that advantage in the clipped PPO objective, and
``beta * k3`` (the per-token KL estimate to the initial policy) is added to the per-token loss, as in
DeepSeekMath and TRL. ``loss_type`` reduces tokens to a scalar like TRL's losses of the same name:
``grpo`` (per-sequence mean, then mean), ``bnpo`` (token mean over the batch) or ``dr_grpo`` (token sum
over ``N * sampling.max_new_tokens``). Dr. GRPO is ``scale_rewards: none`` with ``loss_type: dr_grpo``.

Extra log keys: ``frac_zero_std`` (groups whose rewards all tie, so they teach nothing),
``clip_frac`` (tokens whose ratio was clipped).
"""

from __future__ import annotations

from typing import Any

import torch

from prmkit.rl.algos import (
    aggregate_loss,
    clipped_policy_loss,
    group_advantages,
    kl_penalty,
    masked_mean,
)
from prmkit.rl.config import GRPOConfig
from prmkit.rl.rollout import Rollout
from prmkit.rl.trainer import Algorithm, RLResult, Tensors, train


class GRPO(Algorithm):
    title = "GRPO"
    cfg: GRPOConfig

    @property
    def uses_reference(self) -> bool:
        return self.cfg.beta > 0

    def prepare(
        self, rollout: Rollout, old: Tensors, ref_logprobs: torch.Tensor | None
    ) -> tuple[Tensors, dict[str, float]]:
        advantages, zero_std = group_advantages(rollout.rewards, self.cfg.sampling.n, self.cfg.scale_rewards)
        mask = rollout.batch.mask
        data = {"old_logprobs": old["logprobs"], "advantages": advantages}
        metrics = {
            "entropy": masked_mean(old["entropy"], mask).item(),
            "frac_zero_std": zero_std.float().mean().item(),
        }
        if ref_logprobs is not None:
            data["ref_logprobs"] = ref_logprobs
            metrics["kl"] = masked_mean(kl_penalty(old["logprobs"], ref_logprobs, "k3"), mask).item()
        return data, metrics

    def loss(
        self, current: Tensors, data: Tensors, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        per_token, clipped = clipped_policy_loss(
            current["logprobs"], data["old_logprobs"], data["advantages"], self.cfg.clip_eps
        )
        if self.cfg.beta > 0:
            per_token = per_token + self.cfg.beta * kl_penalty(
                current["logprobs"], data["ref_logprobs"], "k3"
            )
        loss = aggregate_loss(per_token, mask, self.cfg.loss_type, self.cfg.sampling.max_new_tokens)
        return loss, {"clip_frac": masked_mean(clipped, mask).item()}

    def notes(self) -> list[str]:
        c = self.cfg
        return [
            (
                f"GRPO: advantages scaled by {c.scale_rewards} std, loss_type {c.loss_type}, clip {c.clip_eps}, "
                f"k3 KL weight beta {c.beta}, {c.epochs} epoch(s) x {c.minibatches} minibatch(es) per rollout."
            )
        ]


def train_grpo(cfg: GRPOConfig, rewards: Any = None, progress: bool = True) -> RLResult:
    """Train ``cfg.policy`` with GRPO; see ``prmkit.rl.trainer.train``."""
    return train(cfg, GRPO, rewards, progress)
