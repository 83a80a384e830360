"""ProcessBench (Qwen): JSON arrays of model solutions with the human-annotated first wrong step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from prmkit.data.answers import extract_answer
from prmkit.data.formats.base import DatasetFormat, LoadContext, RawRow, StepText, register
from prmkit.data.formats.rows import Row, iter_json_array_rows
from prmkit.data.records import LabeledSolution, Problem, Record, Solution, StepLabels
from prmkit.data.steps import join_steps
from prmkit.errors import DataError


class ProcessBenchRow(RawRow):
    id: str
    generator: str
    problem: str = Field(min_length=1)
    steps: list[StepText] = Field(min_length=1)
    final_answer_correct: bool
    label: int


@register
class ProcessBenchFormat(DatasetFormat):
    """Each record -> a LabeledSolution with ``StepLabels.from_first_error(label)`` (source "human"):
    steps before ``label`` correct, from it on wrong; -1 means all correct. ``final_answer_correct``
    and ``generator`` go to the labels' metadata. ProcessBench has no gold answers, so
    ``Problem.answer`` is empty."""

    name = "processbench"
    description = "ProcessBench JSON array (problem, steps, label = first wrong step or -1)"
    folder = "processbench"
    splits: ClassVar[dict[str, str]] = {
        s: f"{s}.json" for s in ("gsm8k", "math", "olympiadbench", "omnimath")
    }
    schema = ProcessBenchRow

    def rows(self, path: Path) -> Iterator[Row | DataError]:
        return iter_json_array_rows(path)

    def convert(self, raw: ProcessBenchRow, row: Row, ctx: LoadContext) -> list[Record]:
        n = len(raw.steps)
        if not -1 <= raw.label < n:
            raise row.error(f"{raw.label} is out of range for {n} steps (use -1..{n - 1})", field="label")
        pid = self.problem_id(row, ctx)
        problem = Problem(
            id=pid,
            question=raw.problem,
            answer="",
            source=f"processbench-{ctx.split}",
            metadata={"source_id": raw.id},
        )
        solution = Solution(
            id=f"{pid}/sol",
            problem_id=pid,
            steps=raw.steps,
            final_answer=extract_answer(join_steps(raw.steps)),
            generator={"model": raw.generator},
        )
        meta = {"final_answer_correct": raw.final_answer_correct, "generator": raw.generator}
        labels = StepLabels.from_first_error(solution.id, n, raw.label, source="human", metadata=meta)
        return [LabeledSolution(problem=problem, solution=solution, labels=labels)]
