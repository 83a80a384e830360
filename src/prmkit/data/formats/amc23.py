"""AMC 2023 (Qwen2.5-Math evaluation copy): id, problem, numeric answer (a float such as 27.0), url.
There are no reference solutions."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import LoadContext, ProblemSetFormat, RawRow, register
from prmkit.data.formats.rows import Row
from prmkit.data.formats.text import number_text
from prmkit.data.records import Problem


class Amc23Row(RawRow):
    id: int
    problem: str = Field(min_length=1)
    answer: float
    url: str = ""


@register
class Amc23Format(ProblemSetFormat):
    """Gold = the float answer as exact text (27.0 -> "27")."""

    name = "amc23"
    description = "AMC 2023 JSONL (id, problem, float answer, url); no solutions"
    folder = "amc23"
    splits: ClassVar[dict[str, str]] = {"test": "test.jsonl"}
    schema = Amc23Row
    has_reference = False

    def problem(self, raw: Amc23Row, row: Row, ctx: LoadContext) -> Problem:
        meta = {"source_id": raw.id, "url": raw.url}
        return Problem(
            id=self.problem_id(row, ctx),
            question=raw.problem,
            answer=number_text(raw.answer),
            source="amc23",
            metadata=meta,
        )
