"""Accuracy-at-N subsampling and bootstrap intervals, checked against closed forms and readable loops."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from prmkit.evaluate import stats
from prmkit.metrics.bootstrap import bootstrap_ci
from prmkit.search import SELECTION_RULES, best_index, majority_vote, weighted_vote
from prmkit.search.selection import pick_best, pick_vote


def test_budgets():
    assert stats.budgets(1) == [1]
    assert stats.budgets(16) == [1, 2, 4, 8, 16]
    assert stats.budgets(12) == [1, 2, 4, 8, 12]


def test_subsets_draw_distinct_candidates():
    idx = stats.subsets(np.random.default_rng(0), 5, 8, 4, 30)
    assert idx.shape == (5, 30, 4)
    assert all(len(set(row)) == 4 for row in idx.reshape(-1, 4))
    assert idx.min() >= 0 and idx.max() < 8
    with pytest.raises(ValueError):
        stats.subsets(np.random.default_rng(0), 5, 8, 9, 3)


def _random_pool(seed: int, problems: int = 6, n: int = 8):
    rng = np.random.default_rng(seed)
    correct = rng.random((problems, n)) < 0.4
    scores = rng.random((problems, n))
    scores[0, 2] = np.nan
    clusters = rng.integers(-1, 3, size=(problems, n))
    return correct, scores, clusters


def test_pass_at_n_matches_the_unbiased_closed_form():
    correct, _, _ = _random_pool(1)
    n_max = correct.shape[1]
    for n in (1, 2, 4, 8):
        idx = stats.subsets(np.random.default_rng(n), len(correct), n_max, n, 4000)
        got = stats.any_correct(correct, idx)
        c = correct.sum(axis=1)
        exact = np.array([1 - comb(n_max - ci, n) / comb(n_max, n) for ci in c])  # Chen et al. 2021
        assert got == pytest.approx(exact, abs=0.03)


def test_best_of_n_matches_its_closed_form():
    """With distinct scores, the candidate of rank r (0 = best) wins a random N-subset with
    probability C(n-1-r, N-1) / C(n, N)."""
    correct, scores, _ = _random_pool(2)
    scores = np.nan_to_num(scores, nan=-1.0)
    n_max = correct.shape[1]
    for n in (1, 2, 4):
        idx = stats.subsets(np.random.default_rng(10 + n), len(correct), n_max, n, 4000)
        got = stats.picked_correct(correct, pick_best(scores, idx))
        order = np.argsort(-scores, axis=1)
        weights = np.array([comb(n_max - 1 - r, n - 1) / comb(n_max, n) for r in range(n_max)])
        exact = (np.take_along_axis(correct, order, axis=1) * weights).sum(axis=1)
        assert got == pytest.approx(exact, abs=0.03)


def test_vectorised_pickers_agree_with_the_readable_loops():
    _, scores, clusters = _random_pool(3, problems=5, n=7)
    idx = stats.subsets(np.random.default_rng(0), 5, 7, 4, 50)
    best = pick_best(scores, idx)
    majority = pick_vote(clusters, idx)
    weighted = pick_vote(clusters, idx, scores)
    for p in range(5):
        for r in range(50):
            sub = list(idx[p, r])
            assert best[p, r] == sub[best_index([float(scores[p, i]) for i in sub])]
            loop = majority_vote([int(clusters[p, i]) for i in sub])
            assert majority[p, r] == (-1 if loop is None else sub[loop])
            loop = weighted_vote([int(clusters[p, i]) for i in sub], [float(scores[p, i]) for i in sub])
            assert weighted[p, r] == (-1 if loop is None else sub[loop])


@pytest.mark.parametrize("name", ["bon", "majority", "weighted_vote"])
def test_each_built_in_rule_picks_alike_vectorised_and_one_problem_at_a_time(name):
    """The harness's vectorised pick and search's pick_one of every built-in selection rule agree."""
    rule = SELECTION_RULES.get(name)
    _, scores, clusters = _random_pool(4, problems=5, n=7)
    own_clusters, own_scores = (clusters if rule.uses_answers else None), (scores if rule.uses_scores else None)
    idx = stats.subsets(np.random.default_rng(1), 5, 7, 4, 50)
    picks = rule.pick(own_clusters, own_scores, idx)
    for p in range(5):
        for r in range(50):
            sub = list(idx[p, r])
            one = rule.pick_one(
                None if own_clusters is None else [int(own_clusters[p, i]) for i in sub],
                None if own_scores is None else [float(own_scores[p, i]) for i in sub],
            )
            assert picks[p, r] == (-1 if one is None else sub[one])


def test_picked_correct_counts_no_pick_as_wrong():
    correct = np.array([[True, True]])
    assert stats.picked_correct(correct, np.array([[-1, 0, 1, -1]])) == pytest.approx([0.5])


def test_bootstrap_interval():
    rng = np.random.default_rng(0)
    assert bootstrap_ci(np.full(50, 0.7), rng) == pytest.approx((0.7, 0.7))
    values = (np.random.default_rng(1).random(400) < 0.5).astype(float)
    low, high = bootstrap_ci(values, np.random.default_rng(2), samples=4000)
    half = 1.96 * np.sqrt(values.mean() * (1 - values.mean()) / 400)  # normal approximation
    assert low < values.mean() < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    # Same seed, same interval; and the percentile interval of explicit resampled means.
    again = bootstrap_ci(values, np.random.default_rng(2), samples=4000)
    assert again == (low, high)
    draws = np.random.default_rng(2).integers(0, 400, size=(4000, 400))
    means = sorted(values[row].mean() for row in draws)
    assert low == pytest.approx(np.quantile(means, 0.025)) and high == pytest.approx(
        np.quantile(means, 0.975)
    )
