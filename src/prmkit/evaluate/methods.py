"""The verification methods over stored candidates: each picks one candidate per subset, vectorised
over (problems, subsets) arrays (``stats.py``), and has a display label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prmkit.errors import ConfigError
from prmkit.evaluate import stats
from prmkit.evaluate.candidates import ProblemCandidates, step_scores
from prmkit.score.aggregate import aggregate

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


def method_picks(
    arrays: CandidateArrays, idx: np.ndarray, aggregations: list[str], weighted: str
) -> dict[str, np.ndarray]:
    """(P, R) chosen candidate per subset for every candidate-picking method available."""
    picks = {"majority": stats.pick_vote(arrays.clusters, idx)}
    if weighted in arrays.scores:
        picks[f"weighted_{weighted}"] = stats.pick_vote(arrays.clusters, idx, arrays.scores[weighted])
    for agg in aggregations:
        if agg in arrays.scores:
            picks[f"prm_{agg}"] = stats.pick_best(arrays.scores[agg], idx)
    for verifier in ("orm", "likelihood"):
        if verifier in arrays.scores:
            picks[verifier] = stats.pick_best(arrays.scores[verifier], idx)
    return picks
