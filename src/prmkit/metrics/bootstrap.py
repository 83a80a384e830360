"""Bootstrap confidence intervals over problems."""

from __future__ import annotations

import numpy as np


def bootstrap_ci(
    per_problem: np.ndarray, rng: np.random.Generator, samples: int = 1000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean of ``per_problem`` under resampling problems with replacement."""
    values = np.asarray(per_problem, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    means = values[rng.integers(0, values.size, size=(samples, values.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)
