"""Voting groups answers by mathematical equivalence (real math-verify), then counts or weighs them."""

from __future__ import annotations

import math

import pytest
from scripted import ScriptedBackend

from prmkit.generation.base import SamplingConfig
from prmkit.search import (
    SearchConfig,
    answer_cluster_groups,
    answer_clusters,
    majority_vote,
    search,
    weighted_vote,
)


def test_equivalent_answers_share_a_cluster():
    answers = ["1/2", "0.5", "\\frac{1}{2}", "2", None, " 0.5 ", "2.0", "", "x = 2", "\\dfrac12"]
    #           new   same  same           new  none  same(str)  same  none  same   same
    assert answer_clusters(answers) == [0, 0, 0, 1, -1, 0, 1, -1, 1, 0]


def test_groups_are_independent_and_each_answer_joins_its_first_match():
    groups = answer_cluster_groups(
        [["3", "3.0", "4"], ["4", "3"], [], ["3", "1", "2", "6/2", "1.0", "4/2", "5", "2"]]
    )
    assert groups == [[0, 0, 1], [0, 1], [], [0, 1, 2, 0, 1, 2, 3, 2]]


@pytest.mark.parametrize(
    ("clusters", "expected"),
    [
        ([0, 0, 1, 1, 1, -1], 2),  # cluster 1 has three votes: its first member is index 2
        ([1, 0, 0, 1], 0),  # a tie goes to the cluster that appears first (cluster 1, index 0)
        ([-1, -1], None),  # no answer anywhere
        ([-1, 3], 1),  # missing answers never vote
    ],
)
def test_majority_vote(clusters, expected):
    assert majority_vote(clusters) == expected


def test_weighted_vote_sums_scores_per_answer():
    clusters = [0, 0, 0, 1]
    assert majority_vote(clusters) == 0
    assert weighted_vote(clusters, [0.1, 0.1, 0.1, 0.9]) == 3  # 0.3 < 0.9: Math-Shepherd Eq. 5
    assert weighted_vote(clusters, [0.4, 0.4, 0.4, 0.9]) == 0  # 1.2 > 0.9
    assert weighted_vote(clusters, [math.nan, math.nan, 0.2, 0.3]) == 3  # NaN scores count 0
    with pytest.raises(ValueError):
        weighted_vote(clusters, [1.0])


def test_majority_search_counts_equivalent_answers_together(problem):
    solutions = ["The answer is \\boxed{0.5}.", "The answer is \\boxed{\\frac{1}{2}}.", "The answer is \\boxed{2}.",
                 "The answer is \\boxed{2}.", "The answer is \\boxed{1/2}."]  # fmt: skip
    result = search(
        [problem], SearchConfig(method="majority", sampling=SamplingConfig(n=5)), ScriptedBackend(problem, {(): solutions})
    )[0]  # 5 whole solutions
    assert [c.final_answer for c in result.candidates] == ["0.5", "\\frac{1}{2}", "2", "2", "1/2"]
    assert result.solution.final_answer == "0.5"  # three equivalent answers beat two identical strings
    assert result.score == pytest.approx(3 / 5)
