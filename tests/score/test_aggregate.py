"""Step aggregations: hand-computed cases, NaN (unscored steps) handling, and the name as a knob."""

from __future__ import annotations

import math

import pytest

from prmkit.errors import ConfigError
from prmkit.score import AGGREGATIONS, aggregate

NAN = float("nan")


@pytest.mark.parametrize(
    "name, scores, expected",
    [
        ("min", [0.9, 0.2, 0.7], 0.2),  # the weakest step
        ("product", [0.9, 0.5, 0.8], 0.36),  # P(all correct) if independent
        ("last", [0.9, 0.2, 0.7], 0.7),
        ("mean", [0.9, 0.2, 0.7], 0.6),
        ("geometric_mean", [0.25, 1.0, 0.25], 0.25 ** (2 / 3)),
        ("geometric_mean", [0.5, 0.0], 0.0),  # a zero step stays zero, no log(0)
        ("min", [0.9, NAN, 0.4], 0.4),  # unscored steps (beyond max_length) are skipped
        ("last", [0.9, 0.3, NAN], 0.3),
        ("product", [0.5, NAN], 0.5),
    ],
)
def test_aggregations(name, scores, expected):
    assert aggregate(scores, name) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["min", "product", "last", "mean", "geometric_mean"])
def test_nothing_scored_is_nan(name):
    assert math.isnan(aggregate([NAN, NAN], name))


def test_the_name_is_a_knob_that_changes_the_result():
    scores = [0.9, 0.2, 0.7]
    results = {name: aggregate(scores, name) for name in AGGREGATIONS.names()}
    assert len(set(results.values())) == len(results)
    with pytest.raises(ConfigError, match="unknown aggregation 'median'.*geometric_mean"):
        aggregate(scores, "median")
