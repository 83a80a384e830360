"""Grading files: a Solution JSONL against a Problem JSONL, one grade line per solution
(``prmkit grade``)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from prmkit.data.jsonl import UniqueIds, iter_jsonl, parse_record, read_records, write_jsonl
from prmkit.data.records import Problem, Solution, record_key
from prmkit.errors import DataError
from prmkit.grading.batch import grade_solutions
from prmkit.locks import refuse_same_file


@dataclass
class GradeConfig:
    """How `prmkit grade` grades predictions."""

    timeout: float = field(
        default=5.0, metadata={"help": "hard per-item limit in seconds; slower items count as timeout"}
    )
    workers: int | None = field(default=None, metadata={"help": "grading processes (default: CPU count)"})

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")


def read_solutions(path: Path, problems: Iterable[Problem]) -> list[Solution]:
    """The solutions of ``path``, refusing duplicate ids and solutions of problems not in ``problems``."""
    known = {p.id for p in problems}
    sols = []
    ids = UniqueIds(path)
    for line, obj in iter_jsonl(path):
        sol = parse_record(Solution, obj, path, line)
        ids.add(record_key(sol), line)
        if sol.problem_id not in known:
            raise DataError(f"unknown problem id {sol.problem_id!r}", path=path, line=line, field="problem_id")
        sols.append(sol)
    if not sols:
        raise DataError("no solutions: the file is empty or holds only blank lines", path=path)
    return sols


def grade_files(cfg: GradeConfig, solutions: Path, problems: Path, output: Path) -> Counter[str]:
    """Grade a Solution JSONL file against a Problem JSONL file; write one grade line per solution."""
    refuse_same_file(output, solutions, problems)
    problem_list = read_records(problems, Problem)  # refuses duplicate ids
    sols = read_solutions(solutions, problem_list)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("grading", total=len(sols))
        grades = grade_solutions(
            problem_list, sols, cfg.timeout, cfg.workers, lambda done: bar.update(task, completed=done)
        )
    write_jsonl(output, (dataclasses.asdict(g) for g in grades))
    return Counter(g.status for g in grades)
