"""The RL math as pure tensor functions: advantages, GAE, KL estimators and the clipped losses.

Every function takes tensors and returns tensors, with no model or config in sight, so each can be
checked against a hand-worked case. Shapes: ``[N]`` one value per completion, ``[N, T]`` one value
per completion token, ``mask`` marks real (1) against padding (0) tokens.
"""

from __future__ import annotations

import torch

from prmkit.rl.config import KLEstimator, LossType, ScaleRewards


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``x`` over the tokens where ``mask`` is 1 (0 where there are none)."""
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``(x - mean) / std`` over the masked tokens (population std); padding comes out as 0."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def group_advantages(
    rewards: torch.Tensor, group_size: int, scale: ScaleRewards = "group", eps: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """GRPO advantages ``A_i = (r_i - mean_group) / (std_group + eps)`` for rows grouped by prompt.

    ``rewards`` is ``[N]`` with the ``group_size`` completions of each prompt next to each other.
    ``scale``: ``group`` divides by the group's sample std (GRPO), ``batch`` by the whole batch's,
    ``none`` not at all (Dr. GRPO). NaN rewards ("not applicable") stay out of the statistics and get
    advantage 0. Returns (advantages, whether each row's group has zero reward spread).
    """
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    grouped = rewards.view(-1, group_size)
    valid = ~torch.isnan(grouped)
    count = valid.sum(1, keepdim=True).clamp(min=1)
    filled = torch.where(valid, grouped, torch.zeros_like(grouped))
    mean = filled.sum(1, keepdim=True) / count
    var = (torch.where(valid, grouped - mean, torch.zeros_like(grouped)) ** 2).sum(1, keepdim=True)
    std = (var / (count - 1).clamp(min=1)).sqrt().expand_as(grouped)
    advantages = grouped - mean
    if scale == "group":
        advantages = advantages / (std + eps)
    elif scale == "batch":
        flat = rewards[~torch.isnan(rewards)]
        advantages = advantages / ((flat.std() if flat.numel() > 1 else flat.new_zeros(())) + eps)
    elif scale != "none":
        raise ValueError(f"unknown scale {scale!r}; use group, batch or none")
    advantages = torch.where(valid, advantages, torch.zeros_like(advantages))
    return advantages.reshape(-1), torch.isclose(std, torch.zeros_like(std)).reshape(-1)


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over the tokens of each completion.

    ``values[:, t]`` is the value of the state before token ``t``; after the last real token the
    episode ends (value 0). ``delta_t = r_t + gamma * V_{t+1} - V_t`` and
    ``A_t = delta_t + gamma * lam * A_{t+1}``, returns ``R_t = A_t + V_t``. Padding gets 0.
    """
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * mask[:, t]
        advantages[:, t] = last
    return advantages, (advantages + values) * mask


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: KLEstimator) -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from the sampled tokens' log-probabilities.

    ``k1 = log p - log q`` (unbiased, can be negative); ``k3 = q/p - log(q/p) - 1`` (Schulman's
    low-variance estimator, always >= 0, as in GRPO and TRL), with p the policy and q the reference.
    """
    if estimator == "k1":
        return logprobs - ref_logprobs
    if estimator == "k3":
        log_ratio = ref_logprobs - logprobs
        return torch.exp(log_ratio) - log_ratio - 1
    raise ValueError(f"unknown KL estimator {estimator!r}; use k1 or k3")


def clipped_policy_loss(
    logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, clip_eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token PPO loss ``-min(rho * A, clip(rho, 1 - eps, 1 + eps) * A)``, ``rho = p / p_old``.

    ``advantages`` is ``[N, T]`` or ``[N]`` (broadcast over tokens). Returns (loss, clipped indicator).
    """
    if advantages.dim() == 1:
        advantages = advantages[:, None]
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    return -torch.min(unclipped, clipped), (clipped < unclipped).float()


def clipped_value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_eps: float
) -> torch.Tensor:
    """Per-token PPO value loss ``0.5 * max((V - R)^2, (clip(V, V_old +- eps) - R)^2)``."""
    clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    return 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2)


def aggregate_loss(
    per_token: torch.Tensor, mask: torch.Tensor, loss_type: LossType, max_tokens: int
) -> torch.Tensor:
    """Reduce a per-token loss to a scalar, as TRL's loss types of the same name do.

    ``grpo``: mean over each completion's tokens, then over completions (the GRPO paper);
    ``bnpo``: mean over all tokens of the batch (DAPO's token-level loss on one process);
    ``dr_grpo``: sum over tokens divided by ``N * max_tokens``, a constant (Dr. GRPO: no length bias).
    """
    if loss_type == "grpo":
        return masked_mean(per_token, mask, dim=1).mean()
    if loss_type == "bnpo":
        return masked_mean(per_token, mask)
    if loss_type == "dr_grpo":
        return (per_token * mask).sum() / (per_token.shape[0] * max_tokens)
    raise ValueError(f"unknown loss_type {loss_type!r}; use grpo, bnpo or dr_grpo")


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    """``1 - Var(R - V) / Var(R)`` over the masked tokens (NaN when the returns do not vary)."""
    var_returns = masked_mean((returns - masked_mean(returns, mask)) ** 2, mask)
    residual = returns - values
    var_residual = masked_mean((residual - masked_mean(residual, mask)) ** 2, mask)
    return float("nan") if var_returns.item() == 0 else float(1 - var_residual / var_returns)
