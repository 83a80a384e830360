"""PPO with a value head: outcome rewards, or Math-Shepherd's step-by-step PRM rewards.

A linear value head reads the policy's final hidden state before each completion token. By default
it learns on detached states, so the value loss never moves the language model; with
``value_trains_trunk`` the network is shared and the value loss trains it too. Each token's reward
is ``-kl_coef * KL_t`` to the frozen initial policy (``k1 = log p - log p_ref`` by default,
Math-Shepherd's coefficient 0.04), plus:

- ``mode: outcome``: the weighted outcome reward (``rewards``) on the last token of the completion;
- ``mode: step``: the PRM's score of each step on the last token of that step (transformed as
  ``step_transform`` says, see ``prmkit.rl.steps``), plus the outcome reward on the last token when
  ``add_outcome`` is set (Math-Shepherd uses the PRM alone).

GAE (``gamma``, ``lam``) over the tokens gives advantages (whitened over the batch) and returns; the
loss is the clipped policy loss plus ``vf_coef`` times the clipped value loss, token means.

Extra log keys: ``pg_loss``, ``value_loss``, ``explained_var`` (of the returns by the old values),
``kl_penalty`` (mean summed KL penalty per completion), ``score`` (mean reward placed before the KL
penalty, per completion), and in step mode ``steps`` (mean steps per completion) and ``step_score``
(mean PRM probability of a step).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from prmkit.rl.algos import (
    clipped_policy_loss,
    clipped_value_loss,
    explained_variance,
    gae,
    kl_penalty,
    masked_mean,
    masked_whiten,
)  # fmt: skip
from prmkit.rl.config import PPOConfig
from prmkit.rl.rollout import Rollout, TokenBatch, token_stats
from prmkit.rl.steps import dense_step_rewards, step_reward_tensor
from prmkit.rl.trainer import Algorithm, RLResult, Tensors, train


class ValueHead(torch.nn.Module):
    """A linear value estimate from a hidden state; starts at 0 everywhere."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=hidden.device.type, enabled=False):  # values stay float32 under bf16
            return self.linear(hidden.float()).squeeze(-1)


class PPO(Algorithm):
    title = "PPO"
    cfg: PPOConfig

    def __init__(self, cfg: PPOConfig, policy: Any, tokenizer: Any, prm: Any = None) -> None:
        super().__init__(cfg, policy, tokenizer)
        self.title = f"{cfg.mode} PPO" if cfg.mode == "outcome" else "step-by-step PPO"
        hidden = policy.config.get_text_config().hidden_size
        self.value_head = ValueHead(hidden).to(policy.device)
        self.prm = prm if prm is not None or cfg.mode != "step" else _load_prm(cfg.prm)

    def trains_on_outcome(self) -> bool:
        return self.cfg.mode == "outcome" or self.cfg.add_outcome

    @property
    def uses_reference(self) -> bool:
        return self.cfg.kl_coef > 0

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"value_head": self.value_head}

    def forward(self, model: Any, batch: TokenBatch, group_size: int = 1) -> Tensors:
        stats = token_stats(model, batch, self.cfg.sampling.temperature, hidden=True, group_size=group_size)
        assert stats.hidden is not None
        hidden = stats.hidden if self.cfg.value_trains_trunk else stats.hidden.detach()
        return {"logprobs": stats.logprobs, "entropy": stats.entropy, "values": self.value_head(hidden)}

    def prepare(
        self, rollout: Rollout, old: Tensors, ref_logprobs: torch.Tensor | None
    ) -> tuple[Tensors, dict[str, float]]:
        cfg, mask = self.cfg, rollout.batch.mask
        metrics = {"entropy": masked_mean(old["entropy"], mask).item()}
        token_rewards = torch.zeros_like(mask)
        if cfg.mode == "outcome" or cfg.add_outcome:
            last = (mask.sum(1).long() - 1).clamp(min=0)
            rows = torch.arange(mask.shape[0], device=mask.device)
            token_rewards[rows, last] += torch.nan_to_num(rollout.rewards, nan=0.0)
        if cfg.mode == "step":
            step_rewards, step_metrics = self.step_rewards(rollout)
            token_rewards += step_rewards.to(mask.device)
            metrics.update(step_metrics)
        metrics["score"] = token_rewards.sum(1).mean().item()
        if ref_logprobs is not None:
            penalty = cfg.kl_coef * kl_penalty(old["logprobs"], ref_logprobs, cfg.kl_estimator) * mask
            token_rewards = token_rewards - penalty
            metrics["kl"] = masked_mean(kl_penalty(old["logprobs"], ref_logprobs, "k3"), mask).item()
            metrics["kl_penalty"] = penalty.sum(1).mean().item()
        advantages, returns = gae(token_rewards, old["values"], mask, cfg.gamma, cfg.lam)
        if cfg.whiten_advantages:
            advantages = masked_whiten(advantages, mask)
        metrics["explained_var"] = explained_variance(old["values"], returns, mask)
        data = {
            "old_logprobs": old["logprobs"],
            "old_values": old["values"],
            "advantages": advantages,
            "returns": returns,
        }
        return data, metrics

    def step_rewards(self, rollout: Rollout) -> tuple[torch.Tensor, dict[str, float]]:
        """``[N, T]`` rewards: each step's transformed PRM score on the last token of the step."""
        assert self.prm is not None
        scores = self.prm.step_scores(**rollout.columns())
        placed = dense_step_rewards(
            scores, rollout.completions, rollout.completion_ids, self.prm.step_spans, self.tokenizer,
            self.cfg.step_transform,
        )  # fmt: skip
        probs = [p for row in scores for p in row if not math.isnan(p)]
        return step_reward_tensor(placed, rollout.batch.mask.shape), {
            "steps": sum(len(s) for s in scores) / max(len(scores), 1),
            "step_score": sum(probs) / len(probs) if probs else math.nan,
        }

    def loss(
        self, current: Tensors, data: Tensors, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        pg, clipped = clipped_policy_loss(
            current["logprobs"], data["old_logprobs"], data["advantages"], self.cfg.clip_eps
        )
        vl = clipped_value_loss(current["values"], data["old_values"], data["returns"], self.cfg.value_clip)
        pg_loss, value_loss = masked_mean(pg, mask), masked_mean(vl, mask)
        metrics = {
            "pg_loss": pg_loss.item(),
            "value_loss": value_loss.item(),
            "clip_frac": masked_mean(clipped, mask).item(),
        }
        return pg_loss + self.cfg.vf_coef * value_loss, metrics

    def notes(self) -> list[str]:
        c = self.cfg
        if c.mode == "step":
            rewards = (
                f"step rewards from PRM {c.prm} ({c.step_transform} transform) on the last token of each step"
                + (" plus the outcome rewards on the last token" if c.add_outcome else "")
            )
        else:
            rewards = "the outcome reward on the last token"
        return [
            (
                f"{self.title}: {rewards}; per-token {c.kl_estimator} KL penalty {c.kl_coef}; GAE gamma {c.gamma}, "
                f"lambda {c.lam}; clip {c.clip_eps}, value clip {c.value_clip}, vf_coef {c.vf_coef}."
            )
        ]


def _load_prm(prm: str) -> Any:
    """The ``prm`` reward (a PRM folder) or ``prm_http`` reward (a ``prmkit serve`` URL) of
    ``prmkit.rl.rewards``; both give dense step scores and step spans."""
    from prmkit.rl.rewards import REWARDS

    if prm.startswith(("http://", "https://")):
        return REWARDS.get("prm_http")(url=prm)
    return REWARDS.get("prm")(prm=prm)


def train_ppo(cfg: PPOConfig, rewards: Any = None, prm: Any = None, progress: bool = True) -> RLResult:
    """Train ``cfg.policy`` with outcome or step-by-step PPO; see ``prmkit.rl.trainer.train``.

    ``prm`` replaces the PRM that ``cfg.prm`` names with any object that has the ``step_scores`` and
    ``step_spans`` methods of ``prmkit.rl.rewards.PRMReward``.
    """
    return train(cfg, functools.partial(PPO, prm=prm), rewards, progress)
