"""GSM8K (openai/grade-school-math): ``question`` and an ``answer`` whose lines are the reasoning steps
and whose last line is ``#### <gold>``."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import LoadContext, ProblemSetFormat, RawRow, register
from prmkit.data.formats.rows import Row
from prmkit.data.records import Problem

_CALCULATOR = re.compile(r"<<[^<>]*>>")


class Gsm8kRow(RawRow):
    question: str = Field(min_length=1)
    answer: str


def _gold(raw: Gsm8kRow, row: Row) -> str:
    _, sep, gold = raw.answer.rpartition("####")
    gold = gold.strip().replace(",", "")
    if not sep or not gold:
        raise row.error("no '#### <gold answer>' line", field="answer")
    return gold


@register
class Gsm8kFormat(ProblemSetFormat):
    """Gold = the text after ``####`` with thousands separators removed. The reference solution's steps
    are the answer lines (blank lines and the ``####`` line dropped) without the ``<<expr=result>>``
    calculator annotations."""

    name = "gsm8k"
    description = "GSM8K JSONL (question, answer with '#### gold')"
    folder = "gsm8k"
    splits: ClassVar[dict[str, str]] = {
        "test": "test.jsonl",
        "train": "train.jsonl",
        "test_socratic": "test_socratic.jsonl",
    }
    schema = Gsm8kRow

    def problem(self, raw: Gsm8kRow, row: Row, ctx: LoadContext) -> Problem:
        return Problem(
            id=self.problem_id(row, ctx), question=raw.question, answer=_gold(raw, row), source="gsm8k"
        )

    def reference_steps(self, raw: Gsm8kRow) -> list[str]:
        body = raw.answer.rpartition("####")[0]
        return [s for s in (_CALCULATOR.sub("", line).strip() for line in body.split("\n")) if s]
