"""Built-in PRM adapters; importing this package registers them in ``prmkit.score.prm.ADAPTERS``."""

from prmkit.score.adapters import likelihood, math_shepherd, prefix, qwen, token_classification

__all__ = ["likelihood", "math_shepherd", "prefix", "qwen", "token_classification"]
