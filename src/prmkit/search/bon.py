"""Best-of-N: of N solutions scored by a PRM (or an ORM), keep the highest aggregated score.

The readable rule behind the ``bon`` selection rule (``prmkit.search.selection``), which samples the
N solutions and scores them. The aggregation (min, product, last, ...) comes from
``SearchConfig.aggregation``; an ORM is a PRM folder trained with ``objective: orm`` and is read with
``last`` (its only trained position).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from prmkit.score.aggregate import aggregate


def best_index(scores: Sequence[float]) -> int | None:
    """Index of the highest score; NaN never wins; ties go to the earliest; None if all are NaN."""
    best = None
    for i, s in enumerate(scores):
        if not math.isnan(s) and (best is None or s > scores[best]):
            best = i
    return best


def best_of_n(step_scores: Sequence[Sequence[float]], aggregation: str = "min") -> int | None:
    """Index of the candidate whose step scores aggregate (by the named aggregation) highest."""
    return best_index([aggregate(s, aggregation) for s in step_scores])
