"""``prmkit grade``: grade Solution records against their Problems' gold answers."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from prmkit.cli.options import argument, config_command
from prmkit.grading.files import GradeConfig


def _option(name: str, help: str) -> inspect.Parameter:
    flag = typer.Option(f"--{name}", help=help)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Path, flag])


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
        from prmkit.grading.files import grade_files

        counts = grade_files(cfg, solutions, problems, output)
        total = sum(counts.values())
        accuracy = counts["correct"] / total if total else 0.0
        Console().print(
            f"accuracy [bold]{accuracy:.2%}[/] ({counts['correct']}/{total}); "
            f"timeouts {counts['timeout']}, errors {counts['error']} -> {output}"
        )
