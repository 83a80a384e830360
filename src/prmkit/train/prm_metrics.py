"""Trainer hooks that report the step metrics (``prmkit.metrics.steps``) on the held-out set."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from prmkit.metrics.steps import ranking_auroc, step_metrics


def probabilities_for_metrics(logits: Any, labels: Any) -> torch.Tensor:
    """Trainer hook: keep P(correct) per token instead of the logits (half the memory, no softmax later)."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.float().softmax(-1)[..., 1]


def held_out_metrics(
    problem_ids: Sequence[str], correct: Sequence[bool]
) -> Callable[[Any], dict[str, float]]:
    """Trainer hook: step metrics at every labelled position, and the within-problem ranking AUROC of
    the held-out solutions (in dataset order: ``problem_ids`` and final-answer ``correct`` per row)."""

    def compute(eval_pred: Any) -> dict[str, float]:
        probs, labels = np.asarray(eval_pred.predictions), np.asarray(eval_pred.label_ids)
        mask = labels != -100
        metrics = step_metrics(probs[mask].tolist(), labels[mask].tolist())
        least = [float(row[keep].min()) if keep.any() else math.nan for row, keep in zip(probs, mask)]
        metrics["ranking_auroc"] = ranking_auroc(problem_ids, correct, least)
        return metrics

    return compute
