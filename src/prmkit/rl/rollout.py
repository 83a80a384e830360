"""Rollouts: sample completions with the current policy, then score their tokens in one padded forward.

Sampling goes through ``prmkit.generation.hf.TransformersBackend`` (batched, KV-cached, one seeded
random stream per row), so a rollout depends only on the weights, the prompts and the seeds. The
token statistics come from one forward pass over ``[left-padded prompt | completion | right padding]``
rows: every completion starts in the same column, so all per-token tensors are ``[N, T]``.

Log-probabilities are those of the sampling distribution, ``log_softmax(logits / temperature)``, for
the policy and the reference alike (TRL's convention), so the importance ratio is exactly 1 on the
first update and the KL compares the distributions the tokens were actually drawn from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from prmkit.data.records import Problem
from prmkit.generation.base import Completion


@dataclass
class TokenBatch:
    """The padded tensors of a rollout; ``mask`` is 1 on completion tokens (EOS included)."""

    input_ids: torch.Tensor  # [N, P + T]
    attention_mask: torch.Tensor  # [N, P + T]
    position_ids: torch.Tensor  # [N, P + T]
    completion_ids: torch.Tensor  # [N, T]
    mask: torch.Tensor  # [N, T], float

    @property
    def width(self) -> int:
        """T: the longest completion in the batch."""
        return self.completion_ids.shape[1]

    def rows(self, index: torch.Tensor) -> TokenBatch:
        """The sub-batch of the given rows (a minibatch)."""
        return TokenBatch(*(t[index] for t in (self.input_ids, self.attention_mask, self.position_ids,
                                                 self.completion_ids, self.mask)))  # fmt: skip


@dataclass
class TokenStats:
    """Per-token outputs of one forward pass: ``[N, T]`` (hidden: ``[N, T, H]``)."""

    logprobs: torch.Tensor
    entropy: torch.Tensor | None  # detached; None when not asked for
    hidden: torch.Tensor | None = None  # the state before each completion token (value head input)


@dataclass
class Rollout:
    """One step's samples: ``sampling.n`` consecutive rows per prompt (its group), with their rewards."""

    problems: list[Problem]  # one per row
    prompts: list[str]
    completions: list[str]
    completion_ids: list[list[int]]
    truncated: list[bool]  # hit max_new_tokens without EOS
    batch: TokenBatch
    rewards: torch.Tensor  # [N] weighted total, NaN where no reward applied
    per_reward: dict[str, list[float | None]]
    correct: list[bool] | None  # None when the problems have no gold answers

    def columns(self) -> dict[str, Any]:
        """The keyword arguments of the reward-function contract (see ``prmkit.rl.rewards``)."""
        return {
            "prompts": self.prompts,
            "completions": self.completions,
            "completion_ids": self.completion_ids,
            "question": [p.question for p in self.problems],
            "answer": [p.answer for p in self.problems],
            "problem_id": [p.id for p in self.problems],
        }


def pad_rows(
    prompt_ids: Sequence[Sequence[int]],
    completion_ids: Sequence[Sequence[int]],
    pad_id: int,
    device: torch.device,
) -> TokenBatch:
    """Left-pad the prompts and right-pad the completions so every completion starts in one column."""
    n = len(prompt_ids)
    p_width = max(len(p) for p in prompt_ids)
    t_width = max(1, max(len(c) for c in completion_ids))
    input_ids = torch.full((n, p_width + t_width), pad_id, dtype=torch.long)
    attention = torch.zeros((n, p_width + t_width), dtype=torch.long)
    for i, (prompt, completion) in enumerate(zip(prompt_ids, completion_ids)):
        input_ids[i, p_width - len(prompt) : p_width + len(completion)] = torch.tensor([*prompt, *completion])
        attention[i, p_width - len(prompt) : p_width + len(completion)] = 1
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    completion = input_ids[:, p_width:]
    mask = attention[:, p_width:].float()
    return TokenBatch(*(t.to(device) for t in (input_ids, attention, positions, completion, mask)))


def token_stats(
    model: Any,
    batch: TokenBatch,
    temperature: float,
    hidden: bool = False,
    entropy: bool = True,
    group_size: int = 1,
) -> TokenStats:
    """Log-probability (and entropy) of each completion token under ``model`` (grad follows the caller).

    Position ``P - 1 + t`` predicts completion token ``t``; only those positions go through the LM
    head. With ``hidden``, the final hidden state at each of them is returned too. With
    ``group_size > 1``, consecutive groups of that many rows must share their prompt: each prompt then
    runs once and its KV cache is repeated for the group's completions (same result, less compute).
    """
    if group_size > 1:
        logits, states = _shared_prompt_forward(model, batch, group_size, hidden)
    else:
        width = batch.width
        out = model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            position_ids=batch.position_ids,
            use_cache=False,
            logits_to_keep=width + 1,
            output_hidden_states=hidden,
        )
        logits = out.logits[:, :-1]
        states = out.hidden_states[-1][:, -width - 1 : -1] if hidden else None
    logits = logits.float() / temperature
    log_norm = torch.logsumexp(logits, dim=-1)
    logprobs = logits.gather(-1, batch.completion_ids[..., None]).squeeze(-1) - log_norm
    entropies = None
    if entropy:
        with torch.no_grad():
            entropies = log_norm - (torch.softmax(logits, dim=-1) * logits).sum(-1)
    return TokenStats(logprobs=logprobs, entropy=entropies, hidden=states)


def _shared_prompt_forward(
    model: Any, batch: TokenBatch, group_size: int, hidden: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Logits (and hidden states) before each completion token: one prompt pass per group, whose KV
    cache (repeated ``group_size`` times, gradients flowing through it) the completions continue."""
    prompt_width, width = batch.input_ids.shape[1] - batch.width, batch.width
    firsts = torch.arange(0, batch.input_ids.shape[0], group_size, device=batch.input_ids.device)
    prompt = model(
        input_ids=batch.input_ids[firsts, :prompt_width],
        attention_mask=batch.attention_mask[firsts, :prompt_width],
        position_ids=batch.position_ids[firsts, :prompt_width],
        use_cache=True,
        logits_to_keep=1,
        output_hidden_states=hidden,
    )
    logits = [prompt.logits.repeat_interleave(group_size, dim=0)]
    states = [prompt.hidden_states[-1][:, -1:].repeat_interleave(group_size, dim=0)] if hidden else []
    if width > 1:
        cache = prompt.cache
        cache.batch_repeat_interleave(group_size)
        rest = model(
            input_ids=batch.completion_ids[:, :-1],
            attention_mask=batch.attention_mask[:, :-1],
            position_ids=batch.position_ids[:, prompt_width:-1],
            cache=cache,
            use_cache=True,
            output_hidden_states=hidden,
        )
        logits.append(rest.logits)
        if hidden:
            states.append(rest.hidden_states[-1])
    return torch.cat(logits, dim=1), torch.cat(states, dim=1) if hidden else None


def flatten(
    problems: Sequence[Problem], results: Sequence[Sequence[Completion]]
) -> tuple[list[Problem], list[Completion]]:
    """One row per completion, the group of each prompt kept together."""
    rows = [(p, c) for p, group in zip(problems, results) for c in group]
    return [p for p, _ in rows], [c for _, c in rows]


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """bfloat16 autocast on CUDA when ``precision`` is bfloat16; plain float32 otherwise."""
    if precision == "bfloat16" and device.type == "cuda":
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield
