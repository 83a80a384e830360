"""Accuracy at N by repeated subsampling (intervals: ``prmkit.metrics.bootstrap``). Pure numpy functions.

Setting: P problems, each with ``n_max`` stored candidates. For a budget N, every problem draws
``repeats`` random subsets of N of its candidates (without replacement; the subsets are shared by all
methods, so methods are compared on the same draws). A method picks one candidate per subset; the
problem's accuracy at N is the share of its subsets where the pick is correct, i.e. an estimate of the
expected accuracy of that method with N samples. The reported accuracy is the mean over problems.

The 95% interval resamples *problems* with replacement (``bootstrap`` times) and takes the percentile
interval of the mean; it reflects how much the number would move on another draw of problems, which
dominates the subsampling noise once ``repeats`` is large.

The methods' picks per subset come from the selection rules of ``prmkit.search.selection``
(vectorised versions of ``prmkit.search.bon.best_index`` and ``prmkit.search.vote.majority_vote`` /
``weighted_vote``, with the same tie rules; tests check that they agree with those readable loops).
"""

from __future__ import annotations

import numpy as np

from prmkit.search.selection import take_subsets


def budgets(n_max: int) -> list[int]:
    """1, 2, 4, ... up to ``n_max`` (``n_max`` itself is included when it is not a power of two)."""
    out = [1]
    while out[-1] * 2 <= n_max:
        out.append(out[-1] * 2)
    if out[-1] != n_max:
        out.append(n_max)
    return out


def subsets(rng: np.random.Generator, problems: int, n_max: int, n: int, repeats: int) -> np.ndarray:
    """(problems, repeats, n) candidate indices: random n-subsets in random order."""
    if not 1 <= n <= n_max:
        raise ValueError(f"need 1 <= n <= n_max, got n={n}, n_max={n_max}")
    return np.argsort(rng.random((problems, repeats, n_max)), axis=-1)[..., :n]


def picked_correct(correct: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """(P,) share of subsets whose pick is correct; a pick of -1 (nothing to pick) is wrong."""
    hit = np.take_along_axis(correct, np.maximum(chosen, 0), axis=-1) & (chosen >= 0)
    return hit.mean(axis=-1)


def any_correct(correct: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(P,) share of subsets holding at least one correct candidate (pass@N, the oracle)."""
    return take_subsets(correct, idx).any(axis=-1).mean(axis=-1)
