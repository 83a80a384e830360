"""Verification: best-of-N by a PRM or ORM, majority and PRM-weighted voting (answers grouped by
mathematical equivalence), and PRM-guided step-level beam search with incremental step scoring.

Every method is registered in ``SEARCHES`` with the shared signature
``(problems, cfg, backend, prm) -> list[SearchResult]``; ``search`` runs the one ``cfg.method`` names.
The methods that pick one of N sampled candidates are selection rules (``SELECTION_RULES``,
``prmkit.search.selection``), which ``prmkit eval bon`` runs too; beam search is a search method only.
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
from prmkit.search.selection import SELECTION_RULES, SelectionRule, register_rule
from prmkit.search.vote import answer_cluster_groups, answer_clusters, majority_vote, weighted_vote

__all__ = [
    "SEARCHES",
    "SELECTION_RULES",
    "FullPrefixScorer",
    "IncrementalScorer",
    "PrefixState",
    "SearchConfig",
    "SearchResult",
    "SelectionRule",
    "StepScorer",
    "answer_cluster_groups",
    "answer_clusters",
    "best_index",
    "best_of_n",
    "majority_vote",
    "register_rule",
    "sample_candidates",
    "score_candidates",
    "search",
    "step_scorer",
    "weighted_vote",
]
