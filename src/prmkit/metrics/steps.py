"""Step-level metrics for PRMs: erroneous steps are the positive class.

A step is flagged as erroneous when its P(correct) is below ``threshold`` (0.5 by default); truth is a
0/1 label per step (soft truth is read as correct when above 0.5). Training reports these on the
held-out set as ``eval_step_f1``, ``eval_step_auroc``, ... ``step_auroc`` needs no threshold: the
chance that a random wrong step scores below a random correct one (0.5 for a model that knows nothing).

``ranking_auroc`` is what best-of-N needs: among the solutions of one problem, the chance that a
right-answer solution outscores a wrong one (its score: its least likely step), averaged over the
problems that have both. Training reports it as ``eval_ranking_auroc``; step AUROC can be high while
it sits at chance, because telling hard problems from easy ones is not ranking one problem's candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def step_metrics(scores: Sequence[float], truth: Sequence[float], threshold: float = 0.5) -> dict[str, float]:
    """Precision, recall and F1 of flagging wrong steps, accuracy and AUROC, over matching flat lists.

    NaN scores (steps a PRM could not read) count as flagged, never as silently correct.
    """
    if len(scores) != len(truth):
        raise ValueError(f"{len(scores)} scores for {len(truth)} labels")
    flagged = [math.isnan(s) or s < threshold for s in scores]
    wrong = [t < 0.5 for t in truth]
    tp = sum(f and w for f, w in zip(flagged, wrong))
    fp = sum(f and not w for f, w in zip(flagged, wrong))
    fn = sum(w and not f for f, w in zip(flagged, wrong))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(f == w for f, w in zip(flagged, wrong)) / len(truth) if truth else 0.0
    return {
        "step_f1": f1,
        "step_precision": precision,
        "step_recall": recall,
        "step_accuracy": accuracy,
        "step_auroc": step_auroc([0.0 if math.isnan(s) else s for s in scores], wrong),
        "steps": float(len(truth)),
    }


def step_auroc(scores: Sequence[float], wrong: Sequence[bool]) -> float:
    """P(a random wrong step scores below a random correct one), ties counting half (Mann-Whitney U)."""
    values = np.asarray(scores, dtype=float)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    start = 0
    while start < len(order):  # tied values share their average rank
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    correct = ~np.asarray(wrong, dtype=bool)
    n_correct, n_wrong = int(correct.sum()), int((~correct).sum())
    if n_correct == 0 or n_wrong == 0:
        return math.nan
    return float((ranks[correct].sum() - n_correct * (n_correct + 1) / 2) / (n_correct * n_wrong))


def ranking_auroc(problem_ids: Sequence[str], correct: Sequence[bool], scores: Sequence[float]) -> float:
    """Mean over problems with right and wrong solutions of P(a right one outscores a wrong one), ties
    counting half; NaN scores rank lowest. NaN when no problem has both."""
    groups: dict[str, tuple[list[float], list[float]]] = {}
    for pid, ok, score in zip(problem_ids, correct, scores, strict=True):
        groups.setdefault(pid, ([], []))[0 if ok else 1].append(-math.inf if math.isnan(score) else score)
    values = []
    for right, wrong in groups.values():
        if right and wrong:
            diff = np.asarray(right)[:, None] - np.asarray(wrong)[None, :]
            values.append(float((diff > 0).mean() + 0.5 * (diff == 0).mean()))
    return float(np.mean(values)) if values else math.nan


def solution_step_metrics(
    scores: Sequence[Sequence[float]], truth: Sequence[Sequence[float]], threshold: float = 0.5
) -> dict[str, float]:
    """``step_metrics`` over per-solution lists (e.g. ``PRM.score`` output against ``StepLabels.hard``)."""
    return step_metrics([s for row in scores for s in row], [t for row in truth for t in row], threshold)
