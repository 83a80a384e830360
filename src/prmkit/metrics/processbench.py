"""The ProcessBench metric (Zheng et al. 2024, official ``code/run_eval.py``), as pure functions.

Per subset: ``acc_error`` is the share of erroneous samples (label != -1) whose predicted first wrong
step equals the label exactly; ``acc_correct`` is the share of correct samples (label == -1)
predicted -1; ``f1 = 2 * acc_error * acc_correct / (acc_error + acc_correct)`` (0 when both are 0).
The headline is the *simple* mean of the subset F1s, not weighted by subset size (the paper's
"Average": e.g. Qwen2.5-Math-PRM-7B (82.4 + 77.6 + 67.5 + 66.3) / 4 = 73.5). A prediction of None
(an unparsable critic answer) matches no label, so it counts as wrong in either group.

A PRM becomes a predictor with a threshold: the first step whose score is below it (or NaN: a step
the PRM could not read is never silently correct), else -1.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

Prediction = int | None


def subset_metrics(labels: Sequence[int], predictions: Sequence[Prediction]) -> dict[str, float]:
    """acc_error, acc_correct and f1 (fractions in [0, 1]) plus counts, for one subset."""
    if len(labels) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    err = [p == y for y, p in zip(labels, predictions) if y != -1]
    cor = [p == -1 for y, p in zip(labels, predictions) if y == -1]
    acc_error = sum(err) / len(err) if err else math.nan
    acc_correct = sum(cor) / len(cor) if cor else math.nan
    return {
        "acc_error": acc_error,
        "acc_correct": acc_correct,
        "f1": f1(acc_error, acc_correct),
        "n_error": len(err),
        "n_correct": len(cor),
        "unparsable": sum(p is None for p in predictions),
    }


def f1(acc_error: float, acc_correct: float) -> float:
    """Harmonic mean of the two accuracies (0 when both are 0, NaN when either is undefined)."""
    if math.isnan(acc_error) or math.isnan(acc_correct):
        return math.nan
    total = acc_error + acc_correct
    return 2 * acc_error * acc_correct / total if total else 0.0


def headline(per_subset: dict[str, dict[str, float]]) -> float:
    """The simple mean of the subset F1s (ProcessBench's "Average")."""
    values = [m["f1"] for m in per_subset.values()]
    return sum(values) / len(values) if values else math.nan


def first_below(scores: Sequence[float], threshold: float) -> int:
    """Index of the first step scored below ``threshold`` (or NaN), else -1."""
    for i, s in enumerate(scores):
        if math.isnan(s) or s < threshold:
            return i
    return -1


def _prefix_min(scores: Sequence[float]) -> np.ndarray:
    values = np.array([-np.inf if math.isnan(s) else s for s in scores], dtype=float)
    return np.minimum.accumulate(values) if values.size else values


def f1_by_threshold(
    step_scores: Sequence[Sequence[float]], labels: Sequence[int], thresholds: np.ndarray
) -> np.ndarray:
    """The subset F1 at each threshold, vectorised: with the running minimum m of a solution's scores,
    the predicted first error at threshold t is #{i: m_i >= t} (-1 when that is every step)."""
    preds = np.empty((len(labels), len(thresholds)), dtype=int)
    for row, scores in enumerate(step_scores):
        m = _prefix_min(scores)
        k = (m[None, :] >= thresholds[:, None]).sum(axis=1)
        preds[row] = np.where(k >= len(m), -1, k)
    y = np.asarray(labels)[:, None]
    erroneous, correct = y[:, 0] != -1, y[:, 0] == -1
    acc_error = (
        (preds[erroneous] == y[erroneous]).mean(axis=0)
        if erroneous.any()
        else np.full(len(thresholds), np.nan)
    )
    acc_correct = (preds[correct] == -1).mean(axis=0) if correct.any() else np.full(len(thresholds), np.nan)
    total = acc_error + acc_correct
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 2 * acc_error * acc_correct / total, 0.0)
    return np.where(np.isnan(total), np.nan, out)


def candidate_thresholds(step_scores: Sequence[Sequence[float]]) -> np.ndarray:
    """Every threshold that changes a prediction: midpoints between consecutive distinct scores, plus
    one below the lowest (flags nothing) and one above the highest (flags every first step)."""
    values = np.unique([s for scores in step_scores for s in scores if not math.isnan(s)])
    if values.size == 0:
        return np.array([0.5])
    mids = (values[:-1] + values[1:]) / 2
    return np.concatenate([[values[0] - 1e-6], mids, [values[-1] + 1e-6]])


def best_threshold(step_scores: Sequence[Sequence[float]], labels: Sequence[int]) -> tuple[float, float]:
    """(threshold, F1) with the highest F1 on these solutions; ties go to the threshold nearest 0.5.

    F1 needs both erroneous and correct solutions; with only one kind it is undefined: (0.5, NaN).
    """
    thresholds = candidate_thresholds(step_scores)
    f1s = f1_by_threshold(step_scores, labels, thresholds)
    if np.isnan(f1s).all():
        return 0.5, math.nan
    scores = np.nan_to_num(f1s, nan=-1.0)
    best = scores.max()
    tied = thresholds[scores == best]
    t = float(tied[np.argmin(np.abs(tied - 0.5))])
    return t, float(best)


Ballot = int | str | None  # one critic answer: a boxed integer, other boxed text, or no box (None)


def vote(ballots: Sequence[Ballot], num_steps: int | None = None) -> Prediction:
    """ProcessBench's majority rule (its ``code/run_eval.py``): answers without a box do not vote; the
    most common boxed answer wins, a tie going to the answer given first; the winner is the prediction
    when it is a step index in ``-1 .. num_steps-1``, else None (unparsable). None when nothing voted."""
    counts = Counter(b for b in ballots if b is not None)
    if not counts:
        return None
    winner = counts.most_common(1)[0][0]
    if isinstance(winner, int) and (num_steps is None or -1 <= winner < num_steps):
        return winner
    return None
