"""The verification methods over stored candidates: every selection rule of ``prmkit.search.selection``
(the registry ``prmkit.search`` runs them from too) on every score set it reads, each picking one
candidate per subset, vectorised over (problems, subsets) arrays; and each method's display label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prmkit.errors import ConfigError
from prmkit.evaluate.candidates import ProblemCandidates, step_scores
from prmkit.score.aggregate import aggregate
from prmkit.search.selection import SELECTION_RULES, SelectionRule

LABELS = {
    "greedy": "greedy",
    "majority": "majority vote",
    "orm": "BoN-ORM",
    "likelihood": "BoN-likelihood (min)",
    "pass@n": "pass@N (oracle)",
}



def label(method: str) -> str:
    if method.startswith("prm_"):
        return f"BoN-PRM ({method[4:]})"
    if method.startswith("weighted_"):
        return f"weighted vote ({method[9:]})"
    return LABELS.get(method, method)


@dataclass
class CandidateArrays:
    """The stored candidates as (problems, n_max) arrays."""

    correct: np.ndarray
    clusters: np.ndarray
    scores: dict[str, np.ndarray]  # aggregation -> PRM scores; "orm": ORM last step; "likelihood": least likely step
    greedy: np.ndarray | None

    @classmethod
    def build(cls, records: list[ProblemCandidates], aggregations: list[str]) -> CandidateArrays:
        sizes = {len(r.candidates) for r in records}
        if len(sizes) != 1:
            raise ConfigError(f"problems have different numbers of candidates: {sorted(sizes)}")
        cands = [r.candidates for r in records]
        scores: dict[str, np.ndarray] = {}
        for verifier, aggs in (("prm", aggregations), ("orm", ["last"]), ("likelihood", ["min"])):
            if all(verifier in c.scores for row in cands for c in row):
                for agg in aggs:
                    key = agg if verifier == "prm" else verifier
                    scores[key] = np.array(
                        [[aggregate(step_scores(c, verifier), agg) for c in row] for row in cands],
                        dtype=float,
                    )
        has_greedy = all(r.greedy is not None for r in records)
        return cls(
            correct=np.array([[c.correct for c in row] for row in cands], dtype=bool),
            clusters=np.array([[c.cluster for c in row] for row in cands], dtype=int),
            scores=scores,
            greedy=np.array([r.greedy.correct for r in records], dtype=bool) if has_greedy else None,  # type: ignore[union-attr]
        )


def score_sets(arrays: CandidateArrays, aggregations: list[str]) -> list[tuple[str, str, str]]:
    """(name, aggregation, key in ``arrays.scores``) of every stored score set: ``prm_<agg>`` for each
    of ``aggregations``, then ``orm`` (its last step) and ``likelihood`` (the least likely step)."""
    sets = [(f"prm_{agg}", agg, agg) for agg in aggregations]
    sets += [("orm", "last", "orm"), ("likelihood", "min", "likelihood")]
    return [s for s in sets if s[2] in arrays.scores]


def rule_methods(
    name: str, rule: SelectionRule, arrays: CandidateArrays, aggregations: list[str], weighted: str
) -> dict[str, str | None]:
    """Method name -> the score set (key in ``arrays.scores``) it picks by, for one selection rule
    (None: the rule reads no scores); see ``SelectionRule.curve`` and ``score_sets``."""
    if not rule.uses_scores:
        return {rule.curve.format(rule=name): None}
    sets = score_sets(arrays, aggregations)
    if rule.score_sets == "weighted":
        sets = [s for s in sets if s[0] == f"prm_{weighted}"]
    return {rule.curve.format(rule=name, scores=scores, agg=agg): key for scores, agg, key in sets}


def method_picks(
    arrays: CandidateArrays, idx: np.ndarray, aggregations: list[str], weighted: str
) -> dict[str, np.ndarray]:
    """(P, R) chosen candidate per subset for every selection rule and score set available."""
    picks = {}
    for name, rule in SELECTION_RULES.items():
        clusters = arrays.clusters if rule.uses_answers else None
        for method, key in rule_methods(name, rule, arrays, aggregations, weighted).items():
            scores = None if key is None else arrays.scores[key]
            picks[method] = rule.pick(clusters, scores, idx)  # type: ignore[misc]
    return picks
