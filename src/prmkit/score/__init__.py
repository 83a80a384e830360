"""Scoring with process reward models: ``load_prm(dir).score(problems, solutions)``, aggregations,
adapters for the public PRM formats and a scoring server (``prmkit.score.server``)."""

from prmkit.score.aggregate import AGGREGATIONS, aggregate
from prmkit.score.contract import CONTRACT_FILE, PRMContract
from prmkit.score.load import detect_format, load_prm
from prmkit.score.prm import ADAPTERS, PRM, PRMConfig

__all__ = [
    "ADAPTERS",
    "AGGREGATIONS",
    "CONTRACT_FILE",
    "PRM",
    "PRMConfig",
    "PRMContract",
    "aggregate",
    "detect_format",
    "load_prm",
]
