"""AIME 2024 (Qwen2.5-Math evaluation copy): id, problem, solution, answer ("000".."999"), url."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import LoadContext, ProblemSetFormat, RawRow, register
from prmkit.data.formats.rows import Row
from prmkit.data.formats.text import number_text, split_reference
from prmkit.data.records import Problem

# An AoPS author signature ("~Technodoggo", "-Failure.net") ends one of the concatenated solutions.
_SIGNATURE = re.compile(r"(?m)^[ \t]*[-~][ \t]*[A-Za-z][\w. ]{0,30}$")


class Aime24Row(RawRow):
    id: int
    problem: str = Field(min_length=1)
    solution: str
    answer: str
    url: str = ""


@register
class Aime24Format(ProblemSetFormat):
    """Gold = ``answer`` without leading zeros ("025" -> "25"; the original is kept in metadata).
    ``solution`` concatenates several AoPS solutions; the reference is the first one (up to its
    author signature), split by ``split_reference``."""

    name = "aime24"
    description = "AIME 2024 JSONL (id, problem, solution, answer, url)"
    folder = "aime24"
    splits: ClassVar[dict[str, str]] = {"test": "test.jsonl"}
    schema = Aime24Row

    def problem(self, raw: Aime24Row, row: Row, ctx: LoadContext) -> Problem:
        meta = {"source_id": raw.id, "url": raw.url, "raw_answer": raw.answer}
        return Problem(
            id=self.problem_id(row, ctx),
            question=raw.problem,
            answer=number_text(raw.answer),
            source="aime24",
            metadata=meta,
        )

    def reference_steps(self, raw: Aime24Row) -> list[str]:
        signature = _SIGNATURE.search(raw.solution)
        return split_reference(raw.solution[: signature.start()] if signature else raw.solution)
