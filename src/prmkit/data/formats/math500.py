"""MATH-500 (the PRM800K test split of MATH): problem, solution, answer, subject, level, unique_id."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import LoadContext, ProblemSetFormat, RawRow, register
from prmkit.data.formats.rows import Row
from prmkit.data.formats.text import split_reference
from prmkit.data.records import Problem


class Math500Row(RawRow):
    problem: str = Field(min_length=1)
    solution: str
    answer: str
    subject: str = ""
    level: int | None = None
    unique_id: str = ""


@register
class Math500Format(ProblemSetFormat):
    """Gold = ``answer``; the reference solution is ``solution`` split into paragraphs and sentences
    (``split_reference``)."""

    name = "math500"
    description = "MATH-500 JSONL (problem, solution, answer, subject, level, unique_id)"
    folder = "math500"
    splits: ClassVar[dict[str, str]] = {"test": "test.jsonl"}
    schema = Math500Row

    def problem(self, raw: Math500Row, row: Row, ctx: LoadContext) -> Problem:
        meta = {"subject": raw.subject, "level": raw.level, "unique_id": raw.unique_id}
        return Problem(
            id=self.problem_id(row, ctx),
            question=raw.problem,
            answer=raw.answer,
            source="math500",
            metadata=meta,
        )

    def reference_steps(self, raw: Math500Row) -> list[str]:
        return split_reference(raw.solution)
