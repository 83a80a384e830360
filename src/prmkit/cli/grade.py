"""``prmkit grade``: grade Solution records against their Problems' gold answers."""

from __future__ import annotations

import dataclasses
import inspect
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from prmkit.cli.options import argument, config_command
from prmkit.errors import DataError


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


def _option(name: str, help: str) -> inspect.Parameter:
    flag = typer.Option(f"--{name}", help=help)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Path, flag])


def grade_files(cfg: GradeConfig, solutions: Path, problems: Path, output: Path) -> Counter[str]:
    """Grade a Solution JSONL file against a Problem JSONL file; write one grade line per solution."""
    from prmkit.data.jsonl import UniqueIds, iter_jsonl, parse_record, read_records, write_jsonl
    from prmkit.data.records import Problem, Solution, record_key
    from prmkit.grading import grade_solutions
    from prmkit.locks import refuse_same_file

    refuse_same_file(output, solutions, problems)
    problem_list = read_records(problems, Problem)  # refuses duplicate ids
    known = {p.id for p in problem_list}
    sols = []
    ids = UniqueIds(solutions)
    for line, obj in iter_jsonl(solutions):
        sol = parse_record(Solution, obj, solutions, line)
        ids.add(record_key(sol), line)
        if sol.problem_id not in known:
            raise DataError(
                f"unknown problem id {sol.problem_id!r}", path=solutions, line=line, field="problem_id"
            )
        sols.append(sol)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("grading", total=len(sols))
        grades = grade_solutions(
            problem_list, sols, cfg.timeout, cfg.workers, lambda done: bar.update(task, completed=done)
        )
    write_jsonl(output, (dataclasses.asdict(g) for g in grades))
    return Counter(g.status for g in grades)


def register(app: typer.Typer) -> None:
    extra = [
        argument("solutions", Path, "Solution records (JSONL)"),
        _option("problems", "Problem records with gold answers (JSONL)"),
        _option("output", "where to write one grade per solution (JSONL)"),
    ]

    @config_command(
        app, "grade", GradeConfig, help="Grade solutions' final answers with math-verify.", extra=extra
    )
    def grade(cfg: GradeConfig, solutions: Path, problems: Path, output: Path) -> None:
        counts = grade_files(cfg, solutions, problems, output)
        total = sum(counts.values())
        accuracy = counts["correct"] / total if total else 0.0
        Console().print(
            f"accuracy [bold]{accuracy:.2%}[/] ({counts['correct']}/{total}); "
            f"timeouts {counts['timeout']}, errors {counts['error']} -> {output}"
        )
