"""Scoring with process reward models: ``load_prm(dir).score(problems, solutions)``, aggregations,
adapters for the public PRM formats and a scoring server (``prmkit.score.server``).

The model code loads on first use of its names, so the settings (``prmkit.score.config``) and the
aggregations import no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from prmkit.score.aggregate import AGGREGATIONS, aggregate
from prmkit.score.config import PRMConfig
from prmkit.score.contract import CONTRACT_FILE, PRMContract

_LAZY = {"detect_format": "detect", "load_prm": "load", "ADAPTERS": "prm", "PRM": "prm"}
__all__ = ["ADAPTERS", "AGGREGATIONS", "CONTRACT_FILE", "PRM", "PRMConfig", "PRMContract", "aggregate",
           "detect_format", "load_prm"]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'prmkit.score' has no attribute {name!r}")
    return getattr(importlib.import_module(f"prmkit.score.{_LAZY[name]}"), name)
