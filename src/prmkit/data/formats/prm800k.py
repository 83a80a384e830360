"""PRM800K phase1_test in the "stepwise critique" schema (one row per rated candidate step).

Each row holds a MATH problem (``instruction``), the steps chosen so far (``responses``), one candidate
``next_response`` and its human ``rating`` (-1, 0, 1; null for human-written steps).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from prmkit.data.formats.base import (
    FORMATS,
    DatasetFormat,
    LoadContext,
    LoadOptions,
    RawRow,
    StepText,
    collect,
    register,
)
from prmkit.data.formats.rows import Row, iter_jsonl_rows, iter_parquet_rows
from prmkit.data.records import LabeledSolution, Problem, Record, Solution, StepLabels
from prmkit.errors import DataError, PrmkitError

_ANSWER = re.compile(r"#\s*Answer\s*\n(.*)\Z", re.DOTALL)


def step_answer(step: str) -> str | None:
    """The final answer of a PRM800K ``# Answer\\n\\n<answer>`` step, else None."""
    m = _ANSWER.search(step)
    return m.group(1).strip() or None if m else None


def math500_golds() -> dict[str, tuple[str, str]]:
    """problem text -> (gold answer, MATH unique_id) from the offline MATH-500 copy ({} without one).

    PRM800K's test problems are the MATH-500 problems, and the stepwise rows carry no gold answer."""
    fmt = FORMATS.get("math500")
    try:
        path, split = fmt.resolve()
        if not path.exists():
            return {}
        problems = collect(fmt.results(path, split, LoadOptions()))
    except PrmkitError:
        return {}
    return {p.question: (p.answer, p.metadata["unique_id"]) for p in problems if isinstance(p, Problem)}


class StepwiseRow(RawRow):
    instruction: str = Field(min_length=1)
    responses: list[StepText]
    next_response: StepText
    answer: str | None = None
    is_human_response: bool
    is_solution: bool
    is_preferred_response: bool
    rating: int | None = None


@register
class Prm800kFormat(DatasetFormat):
    """Each labelled row -> a LabeledSolution whose steps are ``responses + [next_response]``.

    - The candidate's label follows the rating: 1 -> correct, -1 -> wrong, 0 -> correct by default
      (Qwen's mapping; ``neutral="wrong"`` makes it wrong). A human-written step (null rating,
      ``is_human_response``) is correct, as upstream advises.
    - Rows with a null rating that are not human responses are unlabelled and are skipped (110 rows
      of phase1_test; 3 of its 101 problems have only such rows).
    - The prefix steps are labelled correct: they are the steps labellers chose earlier, and in this
      file every chosen step is rated +1 or human-written (tests check it), so this holds under both
      mappings.
    - Gold answers come from the offline MATH-500 copy (the test problems are MATH-500); problems
      not found there get an empty answer. Problem ids number the problems in order of first
      appearance (skipped rows included, so ids do not depend on the options).
    """

    name = "prm800k"
    description = "PRM800K stepwise-critique JSONL or parquet (instruction, responses, next_response, rating)"
    folder = "prm800k"
    splits: ClassVar[dict[str, str]] = {"phase1_test": "phase1_test.stepwise-critic.jsonl"}
    schema = StepwiseRow

    def rows(self, path: Path) -> Iterator[Row | DataError]:
        return iter_parquet_rows(path) if path.suffix == ".parquet" else iter_jsonl_rows(path)

    def convert(self, raw: StepwiseRow, row: Row, ctx: LoadContext) -> list[Record]:
        if raw.rating is not None and raw.rating not in (-1, 0, 1):
            raise row.error(f"rating {raw.rating} is not -1, 0, 1 or null", field="rating")
        numbers = ctx.state.setdefault("problems", {})
        pid = f"{self.name}-{ctx.split}-{numbers.setdefault(raw.instruction, len(numbers))}"
        if raw.rating is None and not raw.is_human_response:
            return []
        label = 1 if raw.rating is None else ctx.options.rating_label(raw.rating)
        if "golds" not in ctx.state:
            ctx.state["golds"] = math500_golds()
        golds = ctx.state["golds"]
        gold, unique_id = golds.get(raw.instruction, ("", None))
        problem = Problem(
            id=pid, question=raw.instruction, answer=gold, source="prm800k", metadata={"unique_id": unique_id}
        )
        steps = [*raw.responses, raw.next_response]
        solution = Solution(
            id=f"{self.name}-{ctx.split}-row{row.index}",
            problem_id=pid,
            steps=steps,
            final_answer=raw.answer if raw.is_solution else None,
            generator={"model": "human"} if raw.is_human_response else {},
        )
        hard = [1] * len(raw.responses) + [label]
        meta = {
            "rating": raw.rating,
            "is_human_response": raw.is_human_response,
            "is_preferred_response": raw.is_preferred_response,
            "is_solution": raw.is_solution,
        }
        labels = StepLabels(
            solution_id=solution.id,
            num_steps=len(steps),
            first_error=-1 if label else len(steps) - 1,
            hard=hard,
            source="human",
            metadata=meta,
        )
        return [LabeledSolution(problem=problem, solution=solution, labels=labels)]
