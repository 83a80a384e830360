"""Dense step rewards for step-by-step PPO: which token ends each step, and what reward it gets.

Math-Shepherd's step-by-step PPO "offers rewards at the end of each reasoning step": the PRM's score
of step k is a reward on the last token of step k. The PRM gives each step's character span in the
completion text; ``token_char_ends`` maps the *sampled* token ids to character offsets, and the last
token of a step is the first token whose text reaches the step's end.

The paper does not say how a probability becomes a reward. ``step_rewards`` offers three transforms
of the per-step probabilities ``p_1..p_K``:

- ``raw`` (default): ``r_k = p_k``, the literal reading of Math-Shepherd ("the PRM's score of each
  step as its reward"). Every step earns, so the return grows with the number of steps the PRM
  likes. Chosen by measurement: over three seeds of the RL table (``experiments/rl_table.py``) it had
  the best mean held-out accuracy of the three, though all three were within noise of each other.
- ``delta``: ``r_k = p_k - p_{k-1}`` with ``p_0 = 0``. These telescope: the undiscounted return is the
  last step's score whatever the number of steps, so this is PPO on the PRM's final score plus
  potential-based shaping (Ng et al., 1999) that moves credit to the step that changed the score.
- ``centered``: ``r_k = 2 p_k - 1``, in [-1, 1]: a step the PRM believes earns, one it doubts costs.
  The return depends on the step count: with a PRM that scores most steps below 0.5, dropping steps
  pays. (Measured: a quickstart PRM trained on 22 solutions, mean step score 0.13, drove the tiny
  policy from 33 to 22 tokens and its held-out greedy accuracy from 63% to 2% in 20 PPO steps;
  ``delta`` kept both level.)

Steps the PRM could not score (NaN, e.g. cut off by its max length) get no reward.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from prmkit.rl.config import StepTransform


def token_char_ends(tokenizer: Any, text: str, ids: Sequence[int]) -> list[int]:
    """For each token of ``ids``, the length of ``text`` covered once that token is decoded.

    ``text`` is the decoded completion (special tokens skipped, so they cover nothing new). Fast
    path: re-tokenize ``text`` with offsets, valid when it gives back the sampled ids; otherwise
    decode prefix by prefix (quadratic, but exact for any tokenizer whose prefixes decode to
    prefixes of ``text``).
    """
    special = set(tokenizer.all_special_ids)
    plain = [i for i in ids if i not in special]
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if enc["input_ids"] == plain:
            ends, k, covered = [], 0, 0
            for token in ids:
                if token not in special:
                    covered = enc["offset_mapping"][k][1]
                    k += 1
                ends.append(covered)
            return ends
    return [
        min(len(tokenizer.decode(list(ids[: k + 1]), skip_special_tokens=True)), len(text))
        for k in range(len(ids))
    ]


def last_tokens(char_ends: Sequence[int], spans: Sequence[tuple[int, int]]) -> list[int]:
    """Index of the token that completes each span ``(start, end)``: the first token reaching ``end``.

    A span running past the decoded text (should not happen) lands on the last token.
    """
    last = len(char_ends) - 1
    return [min(bisect.bisect_left(char_ends, end), last) for _, end in spans]


def step_rewards(scores: Sequence[float], transform: StepTransform) -> list[float]:
    """Per-step rewards from per-step PRM probabilities (see the module docstring); NaN -> 0."""
    if transform == "raw":
        out = list(scores)
    elif transform == "centered":
        out = [2 * p - 1 for p in scores]
    elif transform == "delta":
        out, previous = [], 0.0
        for p in scores:
            out.append(p - previous if not math.isnan(p) else math.nan)
            previous = p if not math.isnan(p) else previous
    else:
        raise ValueError(f"unknown step transform {transform!r}; use centered, raw or delta")
    return [0.0 if math.isnan(r) else r for r in out]


def place_step_rewards(
    scores: Sequence[float],
    spans: Sequence[tuple[int, int]],
    char_ends: Sequence[int],
    transform: StepTransform,
) -> list[tuple[int, float]]:
    """(token index, reward) for each step of one completion.

    An empty completion has no spans but may get one placeholder score: it lands on the last token.
    """
    if not char_ends:
        return []
    rewards = step_rewards(scores, transform)
    if not spans:
        return [(len(char_ends) - 1, r) for r in rewards[:1]]
    if len(spans) != len(scores):
        raise ValueError(f"{len(scores)} step scores for {len(spans)} step spans")
    return list(zip(last_tokens(char_ends, spans), rewards))


def dense_step_rewards(
    scores: Sequence[Sequence[float]],
    texts: Sequence[str],
    ids: Sequence[Sequence[int]],
    spans_of: Callable[[str], Sequence[tuple[int, int]]],
    tokenizer: Any,
    transform: StepTransform,
) -> list[list[tuple[int, float]]]:
    """(token index, reward) of every step of each completion: its text, its sampled token ids, its
    steps' PRM ``scores`` and character spans (``spans_of``). Step-by-step PPO and the verl step
    manager place rewards with this one function."""
    return [
        place_step_rewards(row, spans_of(text), token_char_ends(tokenizer, text, token_ids), transform)
        for row, text, token_ids in zip(scores, texts, ids)
    ]


def step_reward_tensor(placed: Sequence[Sequence[tuple[int, float]]], shape: Sequence[int]) -> torch.Tensor:
    """A float32 ``[N, T]`` tensor with each (token index, reward) of row ``i`` of ``placed`` added at
    ``[i, token]``, zero elsewhere: the dense rewards of step-by-step PPO and of the verl step manager."""
    rewards = torch.zeros(tuple(shape), dtype=torch.float32)
    for i, steps in enumerate(placed):
        for t, reward in steps:
            rewards[i, t] += reward
    return rewards
