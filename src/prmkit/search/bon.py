"""Best-of-N: sample N solutions, score them with a PRM (or an ORM), keep the highest aggregated score.

The aggregation (min, product, last, ...) comes from ``SearchConfig.aggregation``; an ORM is a PRM
folder trained with ``objective: orm`` and is read with ``last`` (its only trained position).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from prmkit.data.records import Problem
from prmkit.score.aggregate import aggregate
from prmkit.search.base import (
    SEARCHES,
    SearchConfig,
    SearchResult,
    require_prm,
    sample_candidates,
    score_candidates,
)


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


@SEARCHES.register("bon")
def bon(problems: Sequence[Problem], cfg: SearchConfig, backend, prm=None) -> list[SearchResult]:
    """Sample ``cfg.n`` solutions per problem and return the one the PRM ranks highest."""
    prm = require_prm(prm, cfg.method)
    candidates = sample_candidates(problems, cfg, backend)
    step_scores = score_candidates(prm, problems, candidates)
    out = []
    for problem, sols, rows in zip(problems, candidates, step_scores):
        scores = [aggregate(s, cfg.aggregation) for s in rows]
        pick = best_index(scores)
        out.append(
            SearchResult(
                problem_id=problem.id,
                solution=None if pick is None else sols[pick],
                score=math.nan if pick is None else scores[pick],
                candidates=list(sols),
                step_scores=rows,
                stats={"aggregation": cfg.aggregation},
            )
        )
    return out
