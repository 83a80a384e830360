"""``prmkit generate``: sample n solutions per problem with any backend, resumably."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from prmkit.cli.options import argument, config_command
from prmkit.generation.sample import GenerateConfig, generate_solutions


def register(app: typer.Typer) -> None:
    output_option = inspect.Parameter(
        "output",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[
            Path, typer.Option("--output", "-o", help="solutions JSONL (appended to; resumable)")
        ],
    )

    @config_command(
        app,
        "generate",
        GenerateConfig,
        help="Sample n solutions per problem with a generation backend (resumes an interrupted run).",
        extra=[argument("problems", Path, "problems JSONL"), output_option],
    )
    def generate(cfg: GenerateConfig, problems: Path, output: Path) -> None:
        written, skipped = generate_solutions(cfg, problems, output)
        typer.echo(f"wrote {written} solutions to {output} ({skipped} problems already complete)")
