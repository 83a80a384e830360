"""Selection rules: the methods that pick one of N sampled candidates, in one registry for both users.

A ``SelectionRule`` reads a problem's candidates only through their answer clusters
(``prmkit.search.vote.answer_clusters``; -1: no answer) and their aggregated verifier scores (NaN: not
scored), and picks one. Registering it once makes it

- a search method: ``search(problems, SearchConfig(method=name), backend, prm)`` samples
  ``cfg.sampling.n`` candidates per problem, scores them under ``cfg.aggregation`` (when the rule reads
  scores), groups their answers (when it reads answers) and returns the pick (``pick_one``), and
- a curve of ``prmkit eval bon``, which applies the vectorised ``pick`` to random N-subsets of the
  stored candidates of every problem at once (``prmkit.evaluate.methods.method_picks``).

Built in: ``bon`` (the highest score), ``majority`` (the largest answer cluster) and ``weighted_vote``
(the answer cluster with the largest score sum). Beam search is no selection rule: it builds its
candidates step by step instead of picking among N fixed ones, so it is a search method only
(``prmkit.search.beam``). A rule of your own::

    register_rule("worst", SelectionRule(pick_one=lambda clusters, scores: best_index([-s for s in scores])))

gives ``SearchConfig(method="worst")`` and the eval bon curves ``worst_prm_<agg>``, ``worst_orm``, ...

A rule gives a vectorised ``pick``, a readable ``pick_one``, or both; the missing one is derived
(``pick_one`` is ``pick`` on one subset holding every candidate in order; ``pick`` from ``pick_one``
loops over the subsets, exact but slow on large harness runs; a rule that reads neither scores nor
answers needs ``pick``). The built-ins give both, and the tests check that they agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from prmkit.data.records import Problem
from prmkit.grading import solution_prediction
from prmkit.registry import Registry
from prmkit.score.aggregate import aggregate
from prmkit.search.base import (
    SEARCHES,
    SearchConfig,
    SearchResult,
    require_prm,
    sample_candidates,
    score_candidates,
)
from prmkit.search.bon import best_index
from prmkit.search.vote import answer_cluster_groups, majority_vote, weighted_vote

if TYPE_CHECKING:
    from prmkit.generation.base import GenerationBackend
    from prmkit.score.prm import PRM

# (clusters (P, n) | None, scores (P, n) | None, subsets idx (P, R, N)) -> (P, R) chosen index, -1: none
Pick = Callable[[np.ndarray | None, np.ndarray | None, np.ndarray], np.ndarray]
# (clusters | None, scores | None) of one problem's candidates -> the chosen index, None: none
PickOne = Callable[[Sequence[int] | None, Sequence[float] | None], int | None]


@dataclass(frozen=True, eq=False)
class SelectionRule:
    """Picks one of N candidates from their answer clusters and (aggregated) scores.

    ``uses_scores``: the rule reads verifier scores (search needs a PRM; eval bon runs it once per
    verifier score set); ``uses_answers``: it reads answer clusters (search groups the answers first).
    What it does not use is passed as None. ``pick`` and ``pick_one``: see the module docstring.

    For ``prmkit eval bon``: ``curve`` names its method there, a template with ``{rule}`` (the rule's
    name), ``{scores}`` (the score set: ``prm_<agg>`` for each of ``--aggregations``, ``orm``,
    ``likelihood``) and ``{agg}`` (the set's aggregation); default ``{rule}_{scores}``, or ``{rule}``
    for a rule without scores. ``score_sets``: ``every`` set, or only the PRM's ``weighted``
    aggregation (``--weighted-aggregation``).
    """

    pick: Pick | None = None
    pick_one: PickOne | None = None
    uses_scores: bool = True
    uses_answers: bool = False
    curve: str = ""
    score_sets: Literal["every", "weighted"] = "every"

    def __post_init__(self) -> None:
        if self.pick is None and self.pick_one is None:
            raise ValueError("a selection rule needs pick (vectorised) or pick_one (one problem), or both")
        if self.pick is None and not (self.uses_scores or self.uses_answers):
            raise ValueError("a selection rule that reads neither scores nor answers needs pick (it sees subsets)")
        if self.pick is None:
            object.__setattr__(self, "pick", _looped(self.pick_one))  # type: ignore[arg-type]
        if self.pick_one is None:
            object.__setattr__(self, "pick_one", _single(self.pick))  # type: ignore[arg-type]
        if not self.curve:
            object.__setattr__(self, "curve", "{rule}_{scores}" if self.uses_scores else "{rule}")

    def __call__(
        self,
        problems: Sequence[Problem],
        cfg: SearchConfig,
        backend: GenerationBackend,
        prm: PRM | None = None,
    ) -> list[SearchResult]:
        """The search method: sample, score and group what the rule reads, and pick per problem."""
        if self.uses_scores:
            prm = require_prm(prm, cfg.method)
        candidates = sample_candidates(problems, cfg, backend)
        step_scores: list[list[list[float]]] | None = None
        scores: list[list[float]] | None = None
        stats: dict[str, Any] = {}
        if self.uses_scores:
            step_scores, cost = score_candidates(prm, problems, candidates)  # type: ignore[arg-type]
            stats = {"aggregation": cfg.aggregation, **cost}  # for the whole call, all problems together
            scores = [[aggregate(s, cfg.aggregation) for s in rows] for rows in step_scores]
        clusters = (
            answer_cluster_groups([[solution_prediction(s) for s in sols] for sols in candidates])
            if self.uses_answers
            else None
        )
        out = []
        for i, (problem, sols) in enumerate(zip(problems, candidates)):
            own_clusters = None if clusters is None else clusters[i]
            own_scores = None if scores is None else scores[i]
            if self.uses_scores or self.uses_answers:
                pick = self.pick_one(own_clusters, own_scores)  # type: ignore[misc]
            else:  # nothing tells pick_one how many candidates there are
                pick = _one_subset(self.pick, len(sols), None, None)  # type: ignore[arg-type]
            out.append(
                SearchResult(
                    problem_id=problem.id,
                    solution=None if pick is None else sols[pick],
                    score=math.nan if pick is None else _result_score(pick, own_clusters, own_scores),
                    candidates=list(sols),
                    step_scores=[] if step_scores is None else step_scores[i],
                    stats=stats,
                )
            )
        return out


def _result_score(pick: int, clusters: Sequence[int] | None, scores: Sequence[float] | None) -> float:
    """A pick's score in a ``SearchResult``: its aggregated score, else its answer's vote share."""
    if scores is not None:
        return scores[pick]
    if clusters is not None:
        return sum(c == clusters[pick] for c in clusters) / len(clusters)
    return math.nan


def _one_subset(
    pick: Pick, n: int, clusters: Sequence[int] | None, scores: Sequence[float] | None
) -> int | None:
    """``pick`` on one problem's ``n`` candidates: one subset holding them all, in order."""
    if n == 0:
        return None
    row = None if clusters is None else np.asarray([clusters], dtype=int)
    values = None if scores is None else np.asarray([scores], dtype=float)
    chosen = int(pick(row, values, np.arange(n)[None, None, :])[0, 0])
    return None if chosen < 0 else chosen


def _single(pick: Pick) -> PickOne:
    """``pick_one`` from a vectorised ``pick`` (for rules that read scores or answers: they give n)."""

    def pick_one(clusters: Sequence[int] | None, scores: Sequence[float] | None) -> int | None:
        n = len(clusters) if clusters is not None else len(scores) if scores is not None else 0
        return _one_subset(pick, n, clusters, scores)

    return pick_one


def _looped(pick_one: PickOne) -> Pick:
    """A vectorised ``pick`` from ``pick_one``, by a loop over the problems and subsets."""

    def pick(clusters: np.ndarray | None, scores: np.ndarray | None, idx: np.ndarray) -> np.ndarray:
        out = np.full(idx.shape[:2], -1, dtype=int)
        for p, r in np.ndindex(*idx.shape[:2]):
            sub = idx[p, r]
            chosen = pick_one(
                None if clusters is None else [int(c) for c in clusters[p, sub]],
                None if scores is None else [float(s) for s in scores[p, sub]],
            )
            out[p, r] = -1 if chosen is None else sub[chosen]
        return out

    return pick


class RuleRegistry(Registry[SelectionRule]):
    """The selection rules, in registration order (eval bon's curves follow it); each is registered in
    ``SEARCHES`` too, under the same name, as the search method it is."""

    def register(self, name: str) -> Callable[[SelectionRule], SelectionRule]:
        def decorator(rule: SelectionRule) -> SelectionRule:
            SEARCHES.register(name)(rule)  # refuses a name another search method (such as beam) holds
            return super(RuleRegistry, self).register(name)(rule)

        return decorator

    def items(self) -> list[tuple[str, SelectionRule]]:
        return list(self._items.items())


SELECTION_RULES = RuleRegistry("selection rule")


def register_rule(name: str, rule: SelectionRule) -> SelectionRule:
    """Register ``rule`` as search method ``name`` and as eval bon curve(s); returns it."""
    return SELECTION_RULES.register(name)(rule)


# --- the built-in rules: vectorised over (problems, subsets), with the readable loops as pick_one ----


def take_subsets(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """values (P, n) gathered at idx (P, R, N) -> (P, R, N)."""
    return np.take_along_axis(values[:, None, :], idx, axis=-1)


def pick_best(scores: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(P, R) candidate index with the highest score in each subset (ties: the earliest in the subset).
    NaN never wins, unless all are NaN: then the subset's first candidate (``best_index`` says None)."""
    sub = take_subsets(np.where(np.isnan(scores), -np.inf, scores), idx)
    pos = np.argmax(sub, axis=-1)
    return np.take_along_axis(idx, pos[..., None], axis=-1)[..., 0]


def pick_vote(clusters: np.ndarray, idx: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(P, R) index of the first member of the winning answer cluster of each subset (-1: no answer).

    ``clusters`` (P, n) holds cluster ids (-1: no answer); ``weights`` (P, n) are the vote weights
    (None: one vote each; NaN counts 0). Vectorised per problem (memory R x N x clusters)."""
    weights = np.ones(clusters.shape) if weights is None else np.nan_to_num(weights, nan=0.0)
    return (
        np.stack([_vote_one(c, w, i) for c, w, i in zip(clusters, weights, idx)])
        if len(idx)
        else np.zeros(idx.shape[:2], int)
    )


def _vote_one(clusters: np.ndarray, weights: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``pick_vote`` for one problem: clusters, weights (n,), idx (R, N) -> (R,)."""
    r, n = idx.shape
    num_clusters = int(clusters.max()) + 1
    if num_clusters <= 0:
        return np.full(r, -1)
    cl, w = clusters[idx], weights[idx]
    onehot = (cl[..., None] == np.arange(num_clusters)) & (cl >= 0)[..., None]  # (R, N, C)
    present = onehot.any(axis=1)
    totals = np.where(present, (onehot * w[..., None]).sum(axis=1), -np.inf)
    first = np.where(onehot, np.arange(n)[None, :, None], n).min(axis=1)  # first position of each cluster
    # The highest total wins; among equal totals, the cluster that appears first.
    tied = present & (totals == totals.max(axis=-1, keepdims=True))
    winner_pos = np.where(tied, first, n).min(axis=-1)
    chosen = idx[np.arange(r), np.minimum(winner_pos, n - 1)]
    return np.where(present.any(axis=-1), chosen, -1)


# Registration order is eval bon's order of curves: majority, weighted_<agg>, prm_<agg>..., orm, likelihood.
register_rule(
    "majority",
    SelectionRule(
        pick=lambda clusters, scores, idx: pick_vote(clusters, idx),  # type: ignore[arg-type]
        pick_one=lambda clusters, scores: majority_vote(clusters),  # type: ignore[arg-type]
        uses_scores=False,
        uses_answers=True,
    ),
)
register_rule(
    "weighted_vote",
    SelectionRule(
        pick=lambda clusters, scores, idx: pick_vote(clusters, idx, scores),  # type: ignore[arg-type]
        pick_one=lambda clusters, scores: weighted_vote(clusters, scores),  # type: ignore[arg-type]
        uses_answers=True,
        curve="weighted_{agg}",
        score_sets="weighted",
    ),
)
register_rule(
    "bon",
    SelectionRule(
        pick=lambda clusters, scores, idx: pick_best(scores, idx),  # type: ignore[arg-type]
        pick_one=lambda clusters, scores: best_index(scores),  # type: ignore[arg-type]
        curve="{scores}",
    ),
)
