"""The one data model every stage shares: Problem, Solution, StepLabels and LabeledSolution.

Records are pydantic models that refuse unknown fields (a typo is an error, not a silent default), read
values strictly (`"1"` is not a number, `true` not a label) and refuse non-finite numbers;
free-form extras go in ``metadata``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LabelSource = Literal["mc", "judge", "consensus", "human", "truth", "model"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)


class Problem(Record):
    """A question with its gold final answer."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = Field(description="gold final answer (a string math-verify can parse)")
    source: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Solution(Record):
    """One attempt at a problem, split into steps."""

    id: str = Field(min_length=1)
    problem_id: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    final_answer: str | None = None
    generator: dict[str, Any] = Field(
        default_factory=dict, description="who wrote it: model, temperature, seed, ..."
    )

    @field_validator("steps")
    @classmethod
    def _steps_not_blank(cls, steps: list[str]) -> list[str]:
        for i, step in enumerate(steps):
            if not step.strip():
                raise ValueError(f"step {i} is empty")
        return steps

    @property
    def text(self) -> str:
        """The steps joined in the default paragraph style."""
        return "\n\n".join(self.steps)


class StepLabels(Record):
    """Per-step correctness labels for one solution.

    ``hard`` holds 0/1 per step and ``soft`` a probability per step (MC soft estimation); either or
    both may be absent (a judge gives only ``first_error``). ``first_error`` is the 0-based index of
    the earliest wrong step, or -1 when no step is wrong; when ``hard`` is given it must agree.
    """

    solution_id: str = Field(min_length=1)
    num_steps: int = Field(ge=1)
    first_error: int = Field(ge=-1)
    hard: list[int] | None = None
    soft: list[float] | None = None
    source: LabelSource
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> StepLabels:
        if self.first_error >= self.num_steps:
            raise ValueError(f"first_error {self.first_error} is out of range for {self.num_steps} steps")
        if self.hard is not None:
            if len(self.hard) != self.num_steps:
                raise ValueError(f"hard has {len(self.hard)} labels for {self.num_steps} steps")
            if any(v not in (0, 1) for v in self.hard):
                raise ValueError("hard labels must be 0 or 1")
            expected = self.hard.index(0) if 0 in self.hard else -1
            if expected != self.first_error:
                raise ValueError(f"first_error {self.first_error} disagrees with hard labels ({expected})")
        if self.soft is not None:
            if len(self.soft) != self.num_steps:
                raise ValueError(f"soft has {len(self.soft)} labels for {self.num_steps} steps")
            if any(not 0.0 <= v <= 1.0 for v in self.soft):
                raise ValueError("soft labels must lie in [0, 1]")
        return self

    @classmethod
    def from_first_error(cls, solution_id: str, num_steps: int, first_error: int, **kw: Any) -> StepLabels:
        """Hard labels implied by a first-error index: 1 before it, 0 from it on."""
        hard = [1] * num_steps if first_error < 0 else [1] * first_error + [0] * (num_steps - first_error)
        return cls(solution_id=solution_id, num_steps=num_steps, first_error=first_error, hard=hard, **kw)

    def hard_targets(self, threshold: float | None = None) -> list[int]:
        """0/1 per step: soft labels above ``threshold`` when one is given and soft labels exist; else
        the hard labels; else soft labels above 0; else the labels implied by first_error. A threshold
        above 0 without soft labels is refused (the hard labels would silently stand in for it)."""
        if threshold and self.soft is None:
            raise ValueError(f"a threshold of {threshold} needs soft labels; {self.solution_id} has none")
        if self.soft is not None and (threshold is not None or self.hard is None):
            return [int(p > (threshold or 0.0)) for p in self.soft]
        if self.hard is not None:
            return list(self.hard)
        n, first = self.num_steps, self.first_error
        return [1] * n if first < 0 else [1] * first + [0] * (n - first)


class LabeledSolution(Record):
    """A problem, one solution and (optionally) its step labels: the unit PRMs train and evaluate on."""

    problem: Problem
    solution: Solution
    labels: StepLabels | None = None

    @model_validator(mode="after")
    def _linked(self) -> LabeledSolution:
        if self.solution.problem_id != self.problem.id:
            raise ValueError(
                f"solution.problem_id {self.solution.problem_id!r} != problem.id {self.problem.id!r}"
            )
        if self.labels is not None:
            if self.labels.solution_id != self.solution.id:
                raise ValueError(
                    f"labels.solution_id {self.labels.solution_id!r} != solution.id {self.solution.id!r}"
                )
            if self.labels.num_steps != len(self.solution.steps):
                raise ValueError(
                    f"labels.num_steps {self.labels.num_steps} != {len(self.solution.steps)} solution steps"
                )
        return self


def record_key(record: Record) -> str | None:
    """What must be unique among a file's records of one kind: a problem's id, a solution's id (a
    labelled solution and a labels record are keyed by their solution)."""
    if isinstance(record, Problem):
        return f"problem id {record.id!r}"
    if isinstance(record, Solution):
        return f"solution id {record.id!r}"
    if isinstance(record, LabeledSolution):
        return f"labelled solution id {record.solution.id!r}"
    if isinstance(record, StepLabels):
        return f"labels of solution {record.solution_id!r}"
    return None


RECORD_KINDS: dict[str, type[Record]] = {
    "problem": Problem,
    "solution": Solution,
    "labels": StepLabels,
    "labeled": LabeledSolution,
}


def detect_kind(obj: dict[str, Any]) -> str:
    """Guess which record kind a JSON object is meant to be, from its keys."""
    keys = set(obj)
    if "problem" in keys and "solution" in keys:
        return "labeled"
    if "solution_id" in keys:
        return "labels"
    if "problem_id" in keys or "steps" in keys:
        return "solution"
    return "problem"
