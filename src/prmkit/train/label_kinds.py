"""What a PRM learns from Monte Carlo values: the value of each prefix, or the progress each step made.

MC annotation stores, for the prefix that ends with step k, the share of rollouts that reach the gold
answer, ``V_k`` (SE, ``StepLabels.soft``). The value of the empty prefix, ``V_-1``, is the share of
the problem's solutions in the training data whose final answer is right (the policy's pass rate),
so every kind is computed from stored data with no new sampling:

- ``value`` (Math-Shepherd, Lessons): the stored labels themselves, HE or SE.
- ``advantage`` (Setlur et al. 2024, "Rewarding Progress"): ``A_k = V_k - V_{k-1}``, what step k did to
  the chance of success. Soft target ``(1 + A_k) / 2``; hard target ``A_k >= 0``.
- ``progress`` (GenPRM's relative progress): ``R_k = V_k / V_{k-1}`` (1 when ``V_{k-1}`` is 0: nothing
  left to lose). Hard target ``R_k >= tau`` (0.8 in GenPRM); soft target ``min(1, R_k)``.

A value label mostly says how hard the problem is for the completer; a progress label says what this
step did, which is what ranking one problem's candidates needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from prmkit.data.records import LabeledSolution
from prmkit.errors import DataError

NO_SOFT_LABELS = (
    "no soft labels (Monte Carlo records have them only where every step drew all n rollouts: "
    "annotate mc --strategy all, without trusting correct answers)"
)

LabelKind = Literal["value", "advantage", "progress"]


def root_values(examples: Sequence[LabeledSolution], correct: Sequence[bool]) -> dict[str, float]:
    """``V_-1`` per problem: the share of its solutions here whose final answer is right."""
    totals: dict[str, list[int]] = {}
    for example, ok in zip(examples, correct, strict=True):
        counts = totals.setdefault(example.problem.id, [0, 0])
        counts[0] += int(ok)
        counts[1] += 1
    return {pid: right / n for pid, (right, n) in totals.items()}


def mc_values(example: LabeledSolution, kind: LabelKind) -> list[float]:
    """The MC values (soft labels) that ``kind`` labels are computed from; refused where absent."""
    if example.labels is None or example.labels.soft is None:
        raise DataError(
            f"{NO_SOFT_LABELS}; {kind} labels are computed from MC values",
            field=f"{example.solution.id}.labels.soft",
        )
    return example.labels.soft


def kind_targets(
    example: LabeledSolution, root: float, kind: LabelKind, labels: str, tau: float = 0.8
) -> list[float]:
    """The ``advantage`` or ``progress`` target of every step (see the module docstring)."""
    soft = mc_values(example, kind)
    before = [root, *soft[:-1]]
    if kind == "advantage":
        gains = [v - p for v, p in zip(soft, before)]
        return [(1.0 + a) / 2 if labels == "soft" else float(a >= 0) for a in gains]
    if kind == "progress":
        ratios = [1.0 if p == 0 else v / p for v, p in zip(soft, before)]
        return [min(1.0, r) if labels == "soft" else float(r >= tau) for r in ratios]
    raise ValueError(f"unknown label kind {kind!r}; use value, advantage or progress")
