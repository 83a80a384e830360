"""OlympiadBench OE_TO_maths_en_COMP (Qwen2.5-Math evaluation copy): question, solution (a list of
alternative solutions), final_answer (a list of one LaTeX string), unit, answer_type, ..."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import LoadContext, ProblemSetFormat, RawRow, register
from prmkit.data.formats.rows import Row
from prmkit.data.formats.text import split_reference, strip_dollars
from prmkit.data.records import Problem


class OlympiadBenchRow(RawRow):
    id: int
    question: str = Field(min_length=1)
    solution: list[str]
    final_answer: list[str] = Field(min_length=1)
    is_multiple_answer: bool = False
    unit: str | None = None
    answer_type: str | None = None
    subfield: str | None = None


@register
class OlympiadBenchFormat(ProblemSetFormat):
    """Gold = ``final_answer`` (several joined with ", "), one pair of enclosing ``$`` removed; unit,
    answer_type, subfield and is_multiple_answer go to metadata. The reference solution is the first
    of ``solution``."""

    name = "olympiadbench"
    description = "OlympiadBench JSONL (question, solution list, final_answer list, unit, answer_type)"
    folder = "olympiadbench"
    splits: ClassVar[dict[str, str]] = {"test": "test.jsonl"}
    schema = OlympiadBenchRow

    def problem(self, raw: OlympiadBenchRow, row: Row, ctx: LoadContext) -> Problem:
        answer = ", ".join(strip_dollars(a) for a in raw.final_answer)
        meta = {
            "source_id": raw.id,
            "unit": raw.unit,
            "answer_type": raw.answer_type,
            "subfield": raw.subfield,
            "is_multiple_answer": raw.is_multiple_answer,
            "raw_answer": raw.final_answer,
        }
        return Problem(
            id=self.problem_id(row, ctx),
            question=raw.question,
            answer=answer,
            source="olympiadbench",
            metadata=meta,
        )

    def reference_steps(self, raw: OlympiadBenchRow) -> list[str]:
        return split_reference(raw.solution[0]) if raw.solution else []
