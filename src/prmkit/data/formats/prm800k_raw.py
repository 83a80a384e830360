"""PRM800K in its original raw schema (openai/prm800k ``phase*_*.jsonl``): one labelling session per
line, ``label.steps[*]`` holding the rated candidate ``completions`` of each step."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import DatasetFormat, LoadContext, RawRow, register
from prmkit.data.formats.prm800k import step_answer
from prmkit.data.formats.rows import Row
from prmkit.data.records import LabeledSolution, Problem, Record, Solution, StepLabels


class Completion(RawRow):
    text: str
    rating: int | None = None
    flagged: bool | None = None


class Step(RawRow):
    completions: list[Completion] | None = None
    human_completion: Completion | None = None
    chosen_completion: int | None = None


class Label(RawRow):
    steps: list[Step]
    finish_reason: str | None = None
    total_time: int | None = None


class Question(RawRow):
    problem: str = Field(min_length=1)
    ground_truth_answer: str | None = None


class Prm800kRawRow(RawRow):
    labeler: str | None = None
    generation: int | None = None
    is_quality_control_question: bool = False
    is_initial_screening_question: bool = False
    question: Question
    label: Label


@register
class Prm800kRawFormat(DatasetFormat):
    """Each record -> one LabeledSolution: the chain of chosen steps.

    Per step, the chosen completion is taken, else the human completion (correct: humans write a step
    only to replace bad ones), else - as in phase 2, where ``chosen_completion`` is null at the step
    the labeller found wrong - the first completion rated -1. Labels map ratings as in ``prm800k``
    (option ``neutral``). The chain stops after the first wrong step (phase 2 stops there too), at a
    step with no completions, or before an unrated model step. Records with no labelled step are
    skipped. Missing ``ground_truth_answer`` (screening questions) gives an empty gold answer.
    """

    name = "prm800k-raw"
    description = "PRM800K raw JSONL (question, label.steps[].completions with ratings)"
    folder = "prm800k"
    splits: ClassVar[dict[str, str]] = {"samples": "samples_prm800k_raw.jsonl"}
    schema = Prm800kRawRow

    def _choice(self, step: Step, i: int, row: Row) -> tuple[Completion, bool] | None:
        """The step's chosen completion and whether a human wrote it; None ends the chain."""
        if step.chosen_completion is not None:
            if not step.completions or not 0 <= step.chosen_completion < len(step.completions):
                raise row.error(
                    f"index {step.chosen_completion} has no completion",
                    field=f"label.steps.{i}.chosen_completion",
                )
            return step.completions[step.chosen_completion], False
        if step.human_completion is not None:
            return step.human_completion, True
        wrong = [c for c in step.completions or [] if c.rating == -1]
        return (wrong[0], False) if wrong else None

    def convert(self, raw: Prm800kRawRow, row: Row, ctx: LoadContext) -> list[Record]:
        steps: list[str] = []
        hard: list[int] = []
        for i, step in enumerate(raw.label.steps):
            choice = self._choice(step, i, row)
            if choice is None:
                break
            completion, human = choice
            if completion.rating is None and not human:
                break
            if not completion.text.strip():
                raise row.error("empty step (only whitespace)", field=f"label.steps.{i}")
            if completion.rating not in (None, -1, 0, 1):
                raise row.error(
                    f"rating {completion.rating} is not -1, 0, 1 or null", field=f"label.steps.{i}"
                )
            steps.append(completion.text)
            hard.append(1 if completion.rating is None else ctx.options.rating_label(completion.rating))
            if hard[-1] == 0:
                break
        if not steps:
            return []
        pid = self.problem_id(row, ctx)
        question = raw.question
        problem = Problem(
            id=pid, question=question.problem, answer=question.ground_truth_answer or "", source="prm800k"
        )
        solution = Solution(
            id=f"{pid}/chain",
            problem_id=pid,
            steps=steps,
            final_answer=step_answer(steps[-1]),
            generator={"generation": raw.generation},
        )
        meta = {
            "labeler": raw.labeler,
            "finish_reason": raw.label.finish_reason,
            "is_quality_control_question": raw.is_quality_control_question,
            "is_initial_screening_question": raw.is_initial_screening_question,
        }
        first_error = hard.index(0) if 0 in hard else -1
        labels = StepLabels(
            solution_id=solution.id,
            num_steps=len(steps),
            first_error=first_error,
            hard=hard,
            source="human",
            metadata=meta,
        )
        return [LabeledSolution(problem=problem, solution=solution, labels=labels)]
