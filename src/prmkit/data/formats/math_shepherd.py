"""Math-Shepherd: ``input`` is the question then ``Step 1: ... ки\\nStep 2: ... ки``; ``label`` is the same
text with each step tag ``ки`` replaced by ``+`` (the step can still reach the right answer under
Monte-Carlo completion) or ``-``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from prmkit.data.answers import extract_answer
from prmkit.data.formats.base import DatasetFormat, LoadContext, RawRow, hard_labels, labelled, register
from prmkit.data.formats.rows import Row
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Record, Solution, StepLabels
from prmkit.errors import DataError

TAG = "ки"
_STEP1 = re.compile(r"[Ss]tep 1:")
_STEP_PREFIX = re.compile(r"[Ss]tep \d+:")


class MathShepherdRow(RawRow):
    input: str = Field(min_length=1)
    label: str
    task: str = ""


def tag_labels(raw: MathShepherdRow, row: Row) -> list[tuple[int, str]]:
    """(offset of each ``ки`` in ``input``, its ``+``/``-`` in ``label``), checking that ``label`` is
    ``input`` with every tag replaced by one sign character."""
    parts = raw.input.split(TAG)
    if len(parts) == 1:
        raise row.error(f"no step tag {TAG!r}", field="input")
    want = len(raw.input) - (len(parts) - 1) * (len(TAG) - 1)
    if len(raw.label) != want:
        raise row.error(
            f"has {len(raw.label)} characters, expected {want} (input with each {TAG!r} -> '+'/'-')",
            field="label",
        )
    tags, at_input, at_label = [], 0, 0
    for k, part in enumerate(parts):
        if raw.label[at_label : at_label + len(part)] != part:
            raise row.error(
                f"text before step tag {k + 1} differs from input (offset {at_label})", field="label"
            )
        at_input, at_label = at_input + len(part), at_label + len(part)
        if k == len(parts) - 1:
            break
        sign = raw.label[at_label]
        if sign not in "+-":
            raise row.error(
                f"character {sign!r} at offset {at_label} (step tag {k + 1}) is not '+' or '-'", field="label"
            )
        tags.append((at_input, sign))
        at_input, at_label = at_input + len(TAG), at_label + 1
    return tags


@register
class MathShepherdFormat(DatasetFormat):
    """Each row -> a LabeledSolution with hard labels from the signs (source "mc").

    The question is the text before the first ``Step 1:`` (else up to the first ``?``, as TRL's
    converter does). Some upstream rows carry a stray tag inside the question; its label is dropped
    (counted in ``problem.metadata["question_tags"]``), which TRL special-cases by prompt prefix.
    Steps keep their ``Step k:`` prefix, so writing a loaded file back reproduces its text. The
    format has no gold answer (``Problem.answer`` is empty); ``task`` goes to metadata.
    """

    name = "math-shepherd"
    description = "Math-Shepherd JSONL (input with 'ки' step tags, label with +/-, task)"
    folder = "math_shepherd_sample"
    splits: ClassVar[dict[str, str]] = {"sample": "samples_math-shepherd.jsonl"}
    schema = MathShepherdRow
    writable = True

    def convert(self, raw: MathShepherdRow, row: Row, ctx: LoadContext) -> list[Record]:
        tags = tag_labels(raw, row)
        text = raw.input
        m = _STEP1.search(text)
        q_end = m.start() if m else text.find("?", 0, tags[0][0]) + 1
        if q_end <= 0:
            raise row.error("cannot tell where the question ends (no 'Step 1:' and no '?')", field="input")
        in_question = [t for t in tags if t[0] < q_end]
        steps, signs, start = [], [], q_end
        for offset, sign in tags[len(in_question) :]:
            steps.append(text[start:offset].strip())
            signs.append(sign)
            start = offset + len(TAG)
            if not steps[-1]:
                raise row.error(f"step {len(steps)} is empty", field="input")
        if text[start:].strip():
            raise row.error(f"text after the last step tag {TAG!r}", field="input")
        if not steps:
            raise row.error("no step tag after the question", field="input")
        pid = self.problem_id(row, ctx)
        meta: dict[str, Any] = {"task": raw.task}
        if in_question:
            meta["question_tags"] = len(in_question)
        question = re.sub(rf"\s*{TAG}", "", text[:q_end]).strip()
        problem = Problem(id=pid, question=question, answer="", source="math-shepherd", metadata=meta)
        answer = extract_answer(steps[-1])  # "... The answer is: 18"
        solution = Solution(id=f"{pid}/sol", problem_id=pid, steps=steps, final_answer=answer)
        hard = [1 if s == "+" else 0 for s in signs]
        first_error = hard.index(0) if 0 in hard else -1
        labels = StepLabels(
            solution_id=solution.id, num_steps=len(steps), first_error=first_error, hard=hard, source="mc"
        )
        return [LabeledSolution(problem=problem, solution=solution, labels=labels)]

    def write(self, records: Iterable[Record], path: Path) -> int:
        """Hard labels (``hard``, else implied by ``first_error``) become +/-; steps without a
        ``Step k:`` prefix get one, so the file loads back with the same labels."""
        return write_jsonl(path, [_shepherd_row(rec, labels) for rec, labels in labelled(records, self.name)])


def _shepherd_row(rec: LabeledSolution, labels: StepLabels) -> dict[str, str]:
    question = rec.problem.question.strip()
    if TAG in question or _STEP1.search(question):
        raise DataError(
            f"problem {rec.problem.id}: a question containing {TAG!r} or 'Step 1:' cannot be written as Math-Shepherd"
        )
    steps = []
    for k, step in enumerate(rec.solution.steps, start=1):
        step = step.strip()
        if TAG in step:
            raise DataError(f"solution {rec.solution.id}: step {k - 1} contains the step tag {TAG!r}")
        steps.append(step if _STEP_PREFIX.match(step) else f"Step {k}: {step}")

    def body(marks: list[str]) -> str:
        return question + " " + "\n".join(f"{step} {mark}" for step, mark in zip(steps, marks))

    signs = ["+" if h else "-" for h in hard_labels(labels)]
    task = rec.problem.metadata.get("task", rec.problem.source)
    return {"input": body([TAG] * len(steps)), "label": body(signs), "task": task}
