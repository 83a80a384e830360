"""Best-of-N selection by PRM scores under a configurable aggregation."""

from __future__ import annotations

import math

import pytest
from scripted import ScriptedBackend, leaves

from prmkit.generation.base import SamplingConfig
from prmkit.score import aggregate
from prmkit.search import SearchConfig, best_index, best_of_n, search

#          a strong start, one weak step, confident end | uniformly decent
CANDIDATES = [[0.9, 0.3, 0.95], [0.6, 0.6, 0.6]]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("min", 1),  # 0.3 < 0.6
        ("last", 0),  # 0.95 > 0.6
        ("product", 0),  # 0.2565 > 0.216
        ("mean", 0),  # 0.7167 > 0.6
    ],
)
def test_best_of_n_follows_the_aggregation(aggregation, expected):
    assert best_of_n(CANDIDATES, aggregation) == expected


def test_best_index_ties_and_nan():
    assert best_index([0.5, 0.7, 0.7]) == 1  # ties go to the earliest
    assert best_index([math.nan, 0.1]) == 1  # NaN never wins
    assert best_index([math.nan]) is None


@pytest.mark.parametrize("aggregation", ["min", "last"])
def test_bon_search_picks_the_highest_aggregated_candidate(problem, tiny_prm, aggregation):
    cfg = SearchConfig(method="bon", sampling=SamplingConfig(n=len(leaves())), aggregation=aggregation)
    result = search([problem], cfg, ScriptedBackend(problem), tiny_prm)[0]
    scores = [aggregate(tiny_prm.score([problem], [c])[0], aggregation) for c in result.candidates]
    assert result.solution is result.candidates[scores.index(max(scores))]
    assert result.score == pytest.approx(max(scores), abs=1e-6)


def test_bon_needs_a_prm(problem):
    from prmkit.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a PRM"):
        search([problem], SearchConfig(method="bon"), ScriptedBackend(problem), None)


def test_unknown_method_and_aggregation_are_refused(problem):
    from prmkit.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown search method 'nope'"):
        search([problem], SearchConfig(method="nope"), ScriptedBackend(problem))
    with pytest.raises(ValueError, match="unknown aggregation"):
        SearchConfig(aggregation="median")
