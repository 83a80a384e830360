"""Verification: best-of-N by a PRM or ORM, majority and PRM-weighted voting (answers grouped by
mathematical equivalence), and PRM-guided step-level beam search with incremental step scoring.

Every method is one module with one registered function of the shared signature
``(problems, cfg, backend, prm) -> list[SearchResult]``; ``search`` runs the one ``cfg.method`` names.
"""

from prmkit.search.base import (
    SEARCHES,
    SearchConfig,
    SearchResult,
    sample_candidates,
    score_candidates,
    search,
)
from prmkit.search.bon import best_index, best_of_n
from prmkit.search.incremental import (
    FullPrefixScorer,
    IncrementalScorer,
    PrefixState,
    StepScorer,
    step_scorer,
)
from prmkit.search.vote import answer_cluster_groups, answer_clusters, majority_vote, weighted_vote

__all__ = [
    "SEARCHES",
    "FullPrefixScorer",
    "IncrementalScorer",
    "PrefixState",
    "SearchConfig",
    "SearchResult",
    "StepScorer",
    "answer_cluster_groups",
    "answer_clusters",
    "best_index",
    "best_of_n",
    "majority_vote",
    "sample_candidates",
    "score_candidates",
    "search",
    "step_scorer",
    "weighted_vote",
]
