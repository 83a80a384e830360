"""What the annotators read and write.

Inputs are (problem, solution) pairs: a Solution JSONL plus the Problem JSONL it refers to (what
``prmkit generate`` writes), or any annotation output (each line carries its problem and solution),
so one annotator's output can feed the next.

Outputs are keyed by solution id. Monte Carlo writes ``LabeledSolution`` lines. The judge writes
``Judgement`` lines: the critic's raw answers and parsed votes, with labels only when they parsed;
an unparsable verdict keeps ``labels`` empty and says why in ``unparsable`` (never a silent -1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import model_validator

from prmkit.data.jsonl import UniqueIds, iter_jsonl, parse_record, read_records
from prmkit.data.records import (
    LabeledSolution,
    Problem,
    Record,
    Solution,
    StepLabels,
    detect_kind,
    record_key,
)
from prmkit.errors import DataError


class Judgement(Record):
    """One judge verdict: ``outputs`` (k raw answers), ``votes`` (each parsed index, None when
    unparsable) and either ``labels`` (the majority first error) or the ``unparsable`` reason."""

    problem: Problem
    solution: Solution
    labels: StepLabels | None = None
    outputs: list[str]
    votes: list[int | None]
    unparsable: str | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> Judgement:
        if (self.labels is None) == (self.unparsable is None):
            raise ValueError("a judgement has either labels or an unparsable reason")
        if len(self.votes) != len(self.outputs):
            raise ValueError(f"{len(self.votes)} votes for {len(self.outputs)} outputs")
        LabeledSolution(problem=self.problem, solution=self.solution, labels=self.labels)  # linkage checks
        return self

    def labeled(self) -> LabeledSolution | None:
        """The labelled solution, or None when the verdict was unparsable."""
        if self.labels is None:
            return None
        return LabeledSolution(problem=self.problem, solution=self.solution, labels=self.labels)


Annotation = LabeledSolution | Judgement


@dataclass
class ExportConfig:
    """``prmkit annotate export``: the format to write."""

    format: str = field(
        default="jsonl",
        metadata={"help": "jsonl, math-shepherd, trl-stepwise or hf (a datasets.Dataset folder)"},
    )


def solution_key(obj: dict[str, Any]) -> str:
    """The AppendLog key of an annotation line: its solution id."""
    return str(obj["solution"]["id"])


def _parse(obj: Any, path: Path, line: int) -> Annotation:
    model = Judgement if isinstance(obj, dict) and "outputs" in obj else LabeledSolution
    return parse_record(model, obj, path, line)


def read_annotations(path: str | Path, check: Callable[[Annotation], None] | None = None) -> list[Annotation]:
    """Every line of an annotation output (LabeledSolution or Judgement), refusing duplicate ids and
    raising ``check``'s ``DataError`` with the file and line."""
    path = Path(path)
    out: list[Annotation] = []
    ids = UniqueIds(path, "solution.id")
    for line, obj in iter_jsonl(path):
        record = _parse(obj, path, line)
        ids.add(record_key(record.solution), line)
        if check is not None:
            try:
                check(record)
            except DataError as exc:
                raise DataError(exc.message, path=path, line=line, field=exc.field) from None
        out.append(record)
    return out


def read_labeled(
    path: str | Path, check: Callable[[LabeledSolution], None] | None = None
) -> list[LabeledSolution]:
    """The labelled solutions of an annotation output (unparsable judge verdicts are left out), each
    passed to ``check`` (its ``DataError`` names the file and line)."""

    out: list[LabeledSolution] = []

    def keep_labelled(record: Annotation) -> None:  # runs at each line, so a check's error names it
        example = record.labeled() if isinstance(record, Judgement) else record
        if example is not None and example.labels is not None:
            if check is not None:
                check(example)
            out.append(example)

    read_annotations(path, keep_labelled)
    return out


def read_pairs(solutions: str | Path, problems: str | Path | None = None) -> list[LabeledSolution]:
    """(problem, solution) pairs, unlabelled, in file order.

    ``solutions`` holds Solution lines (then ``problems`` must name their Problem JSONL) or
    annotation lines (LabeledSolution or Judgement, which carry their problem).
    """
    solutions = Path(solutions)
    by_id = {p.id: p for p in read_records(problems, Problem)} if problems is not None else {}
    pairs: list[LabeledSolution] = []
    ids = UniqueIds(solutions, "id")
    for line, obj in iter_jsonl(solutions):
        if isinstance(obj, dict) and detect_kind(obj) == "solution":
            solution = parse_record(Solution, obj, solutions, line)
            if solution.problem_id not in by_id:
                where = f"not in {problems}" if problems is not None else "give the problems file"
                raise DataError(
                    f"unknown problem {solution.problem_id!r} ({where})",
                    path=solutions,
                    line=line,
                    field="problem_id",
                )
            pair = LabeledSolution(problem=by_id[solution.problem_id], solution=solution)
        else:
            record = _parse(obj, solutions, line)
            pair = LabeledSolution(problem=record.problem, solution=record.solution)
        ids.add(record_key(pair.solution), line)
        pairs.append(pair)
    if not pairs:
        raise DataError("no solutions in the file", path=solutions)
    return pairs


def export_annotations(source: str | Path, output: str | Path, fmt: str) -> int:
    """Write the labelled solutions of an annotation output in dataset format ``fmt`` (see
    ``prmkit.data.formats.FORMATS``: jsonl, math-shepherd, trl-stepwise, hf); return the rows written."""
    from prmkit.data.formats import write_records

    return write_records(read_labeled(source), output, fmt)
