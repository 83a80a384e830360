"""Verification: best-of-N by a PRM or ORM, majority and PRM-weighted voting (answers grouped by
mathematical equivalence), and PRM-guided step-level beam search with incremental step scoring.

Every method is registered in ``SEARCHES`` with the shared signature
``(problems, cfg, backend, prm) -> list[SearchResult]``; ``search`` runs the one ``cfg.method`` names.
The methods that pick one of N sampled candidates are selection rules (``SELECTION_RULES``,
``prmkit.search.selection``), which ``prmkit eval bon`` runs too; beam search is a search method only.

The scorers (``prmkit.search.incremental``) and the selection rules load on first use of their names,
so the settings (``SearchConfig``, ``prmkit.search.run.SearchRunConfig``) import no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from prmkit.search.base import (
    SEARCHES,
    SearchConfig,
    SearchResult,
    sample_candidates,
    score_candidates,
    search,
)
from prmkit.search.bon import best_index, best_of_n

_LAZY = {
    **dict.fromkeys(("FullPrefixScorer", "IncrementalScorer", "PrefixState", "StepScorer", "step_scorer"), "incremental"),
    **dict.fromkeys(("SELECTION_RULES", "SelectionRule", "register_rule"), "selection"),
    **dict.fromkeys(("answer_cluster_groups", "answer_clusters", "majority_vote", "weighted_vote"), "vote"),
}

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


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'prmkit.search' has no attribute {name!r}")
    return getattr(importlib.import_module(f"prmkit.search.{_LAZY[name]}"), name)
