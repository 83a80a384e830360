"""Step scores -> one solution score. Pure functions, selected by name from configs.

Steps a PRM could not score (beyond its maximum length) are NaN and are skipped; a solution with no
scored step aggregates to NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from prmkit.registry import Registry

Aggregation = Callable[[Sequence[float]], float]
AGGREGATIONS: Registry[Aggregation] = Registry("aggregation")


def check_aggregation(*names: str) -> None:
    """Raise ValueError naming the first of ``names`` that is no registered aggregation (config checks)."""
    for name in names:
        if name not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {name!r}; known: {', '.join(AGGREGATIONS.names())}")


def _scored(scores: Sequence[float]) -> list[float]:
    return [s for s in scores if not math.isnan(s)]


@AGGREGATIONS.register("min")
def minimum(scores: Sequence[float]) -> float:
    """The weakest step (Math-Shepherd, ProcessBench-style verification)."""
    kept = _scored(scores)
    return min(kept) if kept else math.nan


@AGGREGATIONS.register("product")
def product(scores: Sequence[float]) -> float:
    """P(every step is correct) if steps were independent (Lightman et al.; Qwen BoN)."""
    kept = _scored(scores)
    return math.prod(kept) if kept else math.nan


@AGGREGATIONS.register("last")
def last(scores: Sequence[float]) -> float:
    """The last scored step (search-and-learn's default; an ORM's only label)."""
    kept = _scored(scores)
    return kept[-1] if kept else math.nan


@AGGREGATIONS.register("mean")
def mean(scores: Sequence[float]) -> float:
    kept = _scored(scores)
    return sum(kept) / len(kept) if kept else math.nan


@AGGREGATIONS.register("geometric_mean")
def geometric_mean(scores: Sequence[float]) -> float:
    """The product normalised by length, so long solutions are not penalised for being long."""
    kept = _scored(scores)
    if not kept:
        return math.nan
    if min(kept) <= 0.0:
        return 0.0
    return math.exp(sum(math.log(s) for s in kept) / len(kept))


def aggregate(scores: Sequence[float], name: str = "min") -> float:
    """Aggregate one solution's step scores with the aggregation called ``name``."""
    return AGGREGATIONS.get(name)(scores)


def nan_to_none(value: float) -> float | None:
    """JSON has no NaN: an unscored step or an empty aggregate is written as null."""
    return None if math.isnan(value) else value
