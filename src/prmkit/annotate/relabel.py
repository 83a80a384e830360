"""Relabel Monte Carlo annotations by what each step did: advantage or relative progress, computed
from the stored MC values with no new sampling (``prmkit.train.label_kinds`` has the formulas).

The relabelled file is a plain labelled-solution file: ``soft`` holds the kind's soft target, ``hard``
its hard target (advantage >= 0, or progress >= tau) and ``first_error`` the first step that lost
ground; the MC values move to ``metadata["mc_soft"]``. ``prmkit train prm --label-kind KIND`` on the
original file computes the same targets but cuts solutions after their first *wrong* step (the MC
value labels), while training on this file cuts after the first step that made no progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from prmkit.annotate.io import read_labeled
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, StepLabels
from prmkit.grading.batch import final_correctness
from prmkit.train.label_kinds import LabelKind, kind_targets, mc_values, root_values


@dataclass
class RelabelConfig:
    """``prmkit annotate relabel``: which label kind to compute."""

    kind: str = field(
        default="progress",
        metadata={"help": "advantage (V_k - V_(k-1)) or progress (V_k / V_(k-1)), from the stored MC values"},
    )
    progress_threshold: float = field(
        default=0.8, metadata={"help": "progress: a step is good (hard label 1) iff V_k / V_(k-1) >= this"}
    )

    def __post_init__(self) -> None:
        if self.kind not in ("advantage", "progress"):
            raise ValueError(f"kind must be advantage or progress, got {self.kind!r}")


def relabel(examples: Sequence[LabeledSolution], kind: LabelKind, tau: float = 0.8) -> list[LabeledSolution]:
    """Every solution with its ``kind`` labels (see the module docstring)."""
    if kind == "value":
        return list(examples)
    roots = root_values(examples, final_correctness(examples))
    out = []
    for example in examples:
        assert example.labels is not None
        root = roots[example.problem.id]
        soft = kind_targets(example, root, kind, "soft", tau)
        hard = [int(v) for v in kind_targets(example, root, kind, "hard", tau)]
        labels = StepLabels(
            solution_id=example.labels.solution_id, num_steps=example.labels.num_steps,
            first_error=hard.index(0) if 0 in hard else -1, hard=hard, soft=soft, source=example.labels.source,
            metadata={**example.labels.metadata, "label_kind": kind, "mc_soft": example.labels.soft},
        )  # fmt: skip
        out.append(example.model_copy(update={"labels": labels}))
    return out


def relabel_file(cfg: RelabelConfig, source: Path, output: Path) -> int:
    """Relabel the MC annotations in ``source`` as ``cfg`` says; write them to ``output``; return how many."""
    examples = read_labeled(source, partial(mc_values, kind=cfg.kind))  # type: ignore[arg-type]
    records = relabel(examples, cfg.kind, cfg.progress_threshold)  # type: ignore[arg-type]
    return write_jsonl(output, records)
