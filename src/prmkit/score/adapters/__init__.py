"""Built-in PRM adapters; importing this package registers them in ``prmkit.score.prm.ADAPTERS``."""

from prmkit.score.adapters import math_shepherd, prefix, qwen, token_classification

__all__ = ["math_shepherd", "prefix", "qwen", "token_classification"]
