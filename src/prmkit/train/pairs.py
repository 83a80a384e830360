"""Sibling-ranking supervision: two steps that continue the same prefix, ranked by their MC values.

Two solutions of one problem that agree on steps ``0..k-1`` and differ at step ``k`` give a sibling
pair at ``k``; the step with the higher MC value (``StepLabels.soft``: the share of rollouts that
reach the answer) should score higher. As both share the prefix, comparing their values compares
their progress too. PQM's comparative loss and rStar-Math's sibling preference pairs train on such
pairs; here the loss is Bradley-Terry on the head's margin ``logit_1 - logit_0``:
``softplus(-(z_better - z_worse))``, averaged over the pairs of a batch.

Pairs can only be formed inside a batch, so ``ProblemGroupedSampler`` hands the Trainer the solutions
of a problem next to each other (problems in a seeded random order per epoch), and the collator
(``prmkit.train.prm_data.step_collator``) finds the pairs among a batch's rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F


def prefix_keys(steps: Sequence[str]) -> list[str]:
    """A key per step for the solution's steps up to and including it: equal keys, equal prefixes."""
    digest, keys = hashlib.sha1(), []
    for step in steps:
        digest.update(step.encode("utf-8") + b"\x00")
        keys.append(digest.copy().hexdigest())
    return keys


def sibling_pairs(rows: Sequence[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    """``(better row, its step, worse row, its step)`` for every sibling pair among ``rows``.

    Each row holds ``problem``, ``keys`` (``prefix_keys`` of its kept steps) and ``values`` (the MC
    value of each kept step). Two rows are siblings at step ``k`` when they share the problem and the
    prefix before ``k`` but not step ``k``; a pair needs their values at ``k`` to differ."""
    pairs = []
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            ra, rb = rows[a], rows[b]
            if ra["problem"] != rb["problem"]:
                continue
            shared = 0
            while shared < min(len(ra["keys"]), len(rb["keys"])) and ra["keys"][shared] == rb["keys"][shared]:
                shared += 1
            if shared == min(len(ra["keys"]), len(rb["keys"])):
                continue  # one is a prefix of the other: no step where they part
            va, vb = ra["values"][shared], rb["values"][shared]
            if va != vb:
                pairs.append((a, shared, b, shared) if va > vb else (b, shared, a, shared))
    return pairs


def pairwise_loss(logits: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry loss on the head's margin at ``pairs`` rows ``(better row, position, worse row,
    position)`` of a (batch, length, 2) logits tensor; 0 when there is no pair."""
    if pairs.numel() == 0:
        return logits.sum() * 0.0
    margin = logits[..., 1].float() - logits[..., 0].float()
    better = margin[pairs[:, 0], pairs[:, 1]]
    worse = margin[pairs[:, 2], pairs[:, 3]]
    return F.softplus(worse - better).mean()


class ProblemGroupedSampler(torch.utils.data.Sampler[int]):
    """Indices with each problem's solutions together, the problems shuffled anew each epoch (seeded)."""

    def __init__(self, problems: Sequence[str], seed: int) -> None:
        self.groups: dict[str, list[int]] = {}
        for index, problem in enumerate(problems):
            self.groups.setdefault(problem, []).append(index)
        self.seed, self.epoch, self.size = seed, 0, len(problems)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = list(self.groups.values())
        for g in torch.randperm(len(order), generator=generator).tolist():
            yield from order[g]

    def __len__(self) -> int:
        return self.size
