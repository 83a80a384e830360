"""Voting over sampled solutions: answers are grouped by mathematical equivalence, not by string.

``answer_clusters`` gives each answer a cluster id: answers are visited in order, and each joins the
first earlier cluster whose representative (its first answer) it is equivalent to under
``prmkit.grading`` (math-verify, with the representative as the reference), else it starts a new
cluster. Identical strings are merged without grading; comparisons run in batches through
``grade_batch_status`` (hard timeouts, process pool), and their results are cached across calls.
A missing answer (None) gets cluster -1 and never receives votes.

- ``majority_vote``: the cluster with the most members (self-consistency).
- ``weighted_vote``: the cluster with the largest sum of solution scores, Math-Shepherd Eq. 5
  (``argmax_a sum_i 1[a_i = a] * RM(p, S_i)``), search-and-learn's weighted best-of-N.

Both return the index of the winning cluster's first member, break ties toward the cluster that
appears first, and return None when no solution has an answer. They are the readable rules behind the
``majority`` and ``weighted_vote`` selection rules (``prmkit.search.selection``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from prmkit.grading import grade_batch_status

_CACHE_LIMIT = 200_000
_equivalent: dict[tuple[str, str], bool] = {}  # (answer, representative) -> equivalent


def _grade(pairs: list[tuple[str, str]], timeout: float) -> list[bool]:
    """Equivalence of each (answer, representative) pair; the uncached ones graded in one batch."""
    todo = sorted({pair for pair in pairs if pair not in _equivalent})
    if todo:
        if len(_equivalent) + len(todo) > _CACHE_LIMIT:
            _equivalent.clear()
        for pair, status in zip(todo, grade_batch_status(todo, timeout=timeout)):
            _equivalent[pair] = status == "correct"
    return [_equivalent[pair] for pair in pairs]


def answer_cluster_groups(groups: Sequence[Sequence[str | None]], timeout: float = 5.0) -> list[list[int]]:
    """``answer_clusters`` for many independent answer lists.

    Works in rounds over all lists at once: each still unassigned distinct answer is graded against
    its list's newest representative (one batch per round); the ones that match join its cluster, and
    the first one left becomes the next representative. This assigns exactly as the one-by-one rule
    does, with about (answers x clusters) comparisons instead of all pairs.
    """
    pending = [
        list(dict.fromkeys(a.strip() for a in answers if a is not None and a.strip())) for answers in groups
    ]
    cluster_of: list[dict[str, int]] = [{} for _ in groups]
    reps: list[str | None] = [None] * len(groups)

    def promote(g: int) -> None:  # the first unassigned answer opens the next cluster
        reps[g] = pending[g].pop(0) if pending[g] else None
        if reps[g] is not None:
            cluster_of[g][reps[g]] = len(set(cluster_of[g].values()))

    for g in range(len(groups)):
        promote(g)
    while any(pending):
        pairs = [(answer, reps[g]) for g in range(len(groups)) for answer in pending[g]]
        matches = iter(_grade(pairs, timeout))  # type: ignore[arg-type]
        for g in range(len(groups)):
            left = []
            for answer in pending[g]:
                if next(matches):
                    cluster_of[g][answer] = cluster_of[g][reps[g]]  # type: ignore[index]
                else:
                    left.append(answer)
            pending[g] = left
            promote(g)
    return [
        [-1 if a is None or not a.strip() else cluster_of[g][a.strip()] for a in answers]
        for g, answers in enumerate(groups)
    ]


def answer_clusters(answers: Sequence[str | None], timeout: float = 5.0) -> list[int]:
    """One cluster id per answer (see the module docstring); -1 for a missing answer."""
    return answer_cluster_groups([answers], timeout)[0]


def _winner(clusters: Sequence[int], weights: Sequence[float]) -> int | None:
    totals: dict[int, float] = {}
    first: dict[int, int] = {}
    for i, (cluster, weight) in enumerate(zip(clusters, weights)):
        if cluster < 0:
            continue
        first.setdefault(cluster, i)
        totals[cluster] = totals.get(cluster, 0.0) + (0.0 if math.isnan(weight) else weight)
    if not totals:
        return None
    best = max(totals, key=lambda c: (totals[c], -first[c]))
    return first[best]


def majority_vote(clusters: Sequence[int]) -> int | None:
    """Index of the first member of the largest answer cluster (ties: the cluster seen first)."""
    return _winner(clusters, [1.0] * len(clusters))


def weighted_vote(clusters: Sequence[int], scores: Sequence[float]) -> int | None:
    """Index of the first member of the cluster with the largest score sum (NaN scores count 0)."""
    if len(scores) != len(clusters):
        raise ValueError(f"{len(scores)} scores for {len(clusters)} answers")
    return _winner(clusters, scores)
