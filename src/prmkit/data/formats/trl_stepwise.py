"""TRL's stepwise-supervision format: ``prompt``, ``completions`` (the steps) and ``labels`` (one
bool, or one float in [0, 1], per step)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from prmkit.data.formats.base import (
    DatasetFormat,
    LoadContext,
    RawRow,
    StepText,
    hard_labels,
    labelled,
    register,
)
from prmkit.data.formats.rows import Row
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Record, Solution, StepLabels


class TrlStepwiseRow(RawRow):
    prompt: str = Field(min_length=1)
    completions: list[StepText] = Field(min_length=1)
    labels: list[bool] | list[float]


@register
class TrlStepwiseFormat(DatasetFormat):
    """Bool labels load as hard labels. Float labels load as soft labels, with ``first_error`` the
    first step below 0.5 and no hard labels. The label source is the ``label_source`` option. The
    format has no ids or gold answers: ids number the rows, ``Problem.answer`` is empty."""

    name = "trl-stepwise"
    description = "TRL stepwise supervision JSONL (prompt, completions, labels)"
    schema = TrlStepwiseRow
    writable = True

    def convert(self, raw: TrlStepwiseRow, row: Row, ctx: LoadContext) -> list[Record]:
        n = len(raw.completions)
        if len(raw.labels) != n:
            raise row.error(f"has {len(raw.labels)} labels for {n} completions", field="labels")
        pid = self.problem_id(row, ctx)
        problem = Problem(id=pid, question=raw.prompt, answer="", source=self.name)
        solution = Solution(id=f"{pid}/sol", problem_id=pid, steps=raw.completions)
        label_kw: dict[str, Any]
        if all(isinstance(v, bool) for v in raw.labels):
            hard = [int(v) for v in raw.labels]
            label_kw = {"hard": hard, "first_error": hard.index(0) if 0 in hard else -1}
        else:
            if any(not 0.0 <= v <= 1.0 for v in raw.labels):
                raise row.error("float labels must lie in [0, 1]", field="labels")
            below = [i for i, v in enumerate(raw.labels) if v < 0.5]
            label_kw = {"soft": [float(v) for v in raw.labels], "first_error": below[0] if below else -1}
        labels = StepLabels(solution_id=solution.id, num_steps=n, source=ctx.options.label_source, **label_kw)
        return [LabeledSolution(problem=problem, solution=solution, labels=labels)]

    def write(self, records: Iterable[Record], path: Path) -> int:
        """Soft labels are written as floats when present, hard labels as bools otherwise."""
        rows = [
            {
                "prompt": rec.problem.question,
                "completions": rec.solution.steps,
                "labels": labels.soft if labels.soft is not None else [bool(h) for h in hard_labels(labels)],
            }
            for rec, labels in labelled(records, self.name)
        ]
        return write_jsonl(path, rows)
