"""Consensus filtering (Qwen, "The Lessons of Developing PRMs", §3.1.3): keep a solution only where
Monte Carlo and the judge agree on the location of the first error.

MC's first error is its first step with hard label 0 (-1 when none); the judge's is its verdict.
Both saying "no error" (-1) counts as agreement. A solution that the judge could not parse, or did
not see, is dropped. A kept solution carries the labels that the agreed first error implies, with
source ``"consensus"`` and the judge's votes added to the metadata: hard labels 1 before the error and
0 from it on, soft labels MC's up to the error and 0 after it. MC's own labels after the error (which
under ``strategy all`` may be 1 again) are not kept; training drops the steps after the first error by
default, as Lessons did, so nothing after it is learned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmkit.annotate.io import Judgement, read_annotations
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, StepLabels
from prmkit.errors import DataError


@dataclass
class ConsensusConfig:
    """``prmkit annotate consensus``: the two annotation files to compare."""

    mc: str = field(default="", metadata={"help": "MC output (LabeledSolution JSONL)"})
    judge: str = field(default="", metadata={"help": "judge output (Judgement JSONL)"})

    def __post_init__(self) -> None:
        if not self.mc or not self.judge:
            raise ValueError("name both --mc and --judge")


def agreed_labels(mc: StepLabels, metadata: dict[str, Any]) -> StepLabels:
    """The labels implied by MC's first error once the judge agrees with it."""
    first, n = mc.first_error, mc.num_steps
    soft = None
    if mc.soft is not None:
        soft = list(mc.soft) if first < 0 else list(mc.soft[: first + 1]) + [0.0] * (n - first - 1)
    return StepLabels.from_first_error(
        mc.solution_id, n, first, soft=soft, source="consensus", metadata=metadata
    )


def consensus(
    mc: Sequence[LabeledSolution], judge: Sequence[Judgement]
) -> tuple[list[LabeledSolution], dict[str, Any]]:
    """(kept solutions, counts and retention)."""
    verdicts = {j.solution.id: j for j in judge}
    kept: list[LabeledSolution] = []
    counts = {"agree_error": 0, "agree_correct": 0, "disagree": 0, "unparsable": 0, "not_judged": 0}
    for rec in mc:
        if rec.labels is None:
            raise DataError(f"solution {rec.solution.id!r} has no MC labels")
        verdict = verdicts.get(rec.solution.id)
        if verdict is None:
            counts["not_judged"] += 1
            continue
        if verdict.solution.steps != rec.solution.steps:
            raise DataError(f"solution {rec.solution.id!r} has other steps in the MC and the judge files")
        if verdict.labels is None:
            counts["unparsable"] += 1
            continue
        first = rec.labels.first_error
        if verdict.labels.first_error != first:
            counts["disagree"] += 1
            continue
        counts["agree_correct" if first == -1 else "agree_error"] += 1
        meta = {**rec.labels.metadata, "judge_votes": verdict.labels.metadata.get("votes")}
        labels = agreed_labels(rec.labels, meta)
        kept.append(LabeledSolution(problem=rec.problem, solution=rec.solution, labels=labels))
    stats = {
        "solutions": len(mc),
        "kept": len(kept),
        "retention": len(kept) / len(mc) if mc else 0.0,
        **counts,
    }
    return kept, stats


def consensus_files(cfg: ConsensusConfig, output: Path) -> dict[str, Any]:
    """Consensus of the files ``cfg`` names: the kept solutions to ``output``, the statistics beside it
    (``.stats.json``) and returned."""
    judged = [r for r in read_annotations(cfg.judge) if isinstance(r, Judgement)]
    kept, stats = consensus(read_annotations(cfg.mc), judged)  # type: ignore[arg-type]
    write_jsonl(output, kept)
    output.with_suffix(".stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats
