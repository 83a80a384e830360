"""Minerva Math (OCWCourses, Qwen2.5-Math evaluation copy): problem, solution, type, idx. There is no
answer field: the gold answer is the last ``\\boxed{}`` of the solution."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prmkit.data.answers import last_boxed
from prmkit.data.formats.base import LoadContext, ProblemSetFormat, RawRow, register
from prmkit.data.formats.rows import Row
from prmkit.data.formats.text import split_reference
from prmkit.data.records import Problem


class MinervaRow(RawRow):
    problem: str = Field(min_length=1)
    solution: str
    type: str = ""
    idx: int | None = None


@register
class MinervaFormat(ProblemSetFormat):
    name = "minerva"
    description = "Minerva Math JSONL (problem, solution with \\boxed{gold}, type, idx)"
    folder = "minerva_math"
    splits: ClassVar[dict[str, str]] = {"test": "test.jsonl"}
    schema = MinervaRow

    def problem(self, raw: MinervaRow, row: Row, ctx: LoadContext) -> Problem:
        gold = last_boxed(raw.solution)
        if not gold:
            raise row.error("no \\boxed{} answer in the solution", field="solution")
        meta = {"type": raw.type, "source_id": raw.idx}
        return Problem(
            id=self.problem_id(row, ctx), question=raw.problem, answer=gold, source="minerva", metadata=meta
        )

    def reference_steps(self, raw: MinervaRow) -> list[str]:
        return split_reference(raw.solution)
