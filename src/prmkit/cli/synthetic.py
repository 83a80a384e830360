"""``prmkit synthetic``: make arithmetic problems, check solutions exactly, evaluate a policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from prmkit.cli.options import argument, config_command, new_app, output_option, report_errors
from prmkit.data.jsonl import write_jsonl
from prmkit.synthetic.config import EvalConfig, MakeConfig
from prmkit.synthetic.world import make_problems

synthetic_app = new_app("The arithmetic world: problems with an exact step checker, and a policy to solve them.")


@config_command(
    synthetic_app, "make", MakeConfig, "Write arithmetic word problems as Problem JSONL.",
    extra=[output_option("JSONL file to write")],
)  # fmt: skip
def make(cfg: MakeConfig, output: Path) -> None:
    count = write_jsonl(output, make_problems(cfg.world, cfg.count, cfg.seed, split=cfg.split))
    typer.echo(f"wrote {count} problems to {output}")


@synthetic_app.command("check")
@report_errors
def check_command(
    problems: Annotated[Path, typer.Argument(help="Problem JSONL (from `prmkit synthetic make`)")],
    solutions: Annotated[Path, typer.Argument(help="Solution JSONL")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write StepLabels JSONL here")] = None,
    labeled: Annotated[
        bool, typer.Option("--labeled", help="write LabeledSolution lines (problem, solution, truth): PRM training data")
    ] = False,
) -> None:
    """Label every solution's steps exactly (first error, per-step truth) with the checker."""
    from prmkit.synthetic.checker import label_files

    records = label_files(problems, solutions)
    labels = [r.labels for r in records]
    if output is not None:
        write_jsonl(output, records if labeled else labels)
    table = Table("solution", "steps", "first error", "correct", "reason")
    for lab in labels:
        assert lab is not None
        meta = lab.metadata
        table.add_row(lab.solution_id, str(lab.num_steps), str(lab.first_error), str(meta["correct"]), meta["reason"])
    Console().print(table)
    correct = sum(lab.metadata["correct"] for lab in labels)
    typer.echo(f"{correct}/{len(labels)} correct" + (f"; labels written to {output}" if output else ""))


@config_command(
    synthetic_app, "eval", EvalConfig, "Sample a policy on held-out problems: accuracy and first-error positions.",
    extra=[argument("model", Path, "policy directory (from `prmkit train policy`)")],
)  # fmt: skip
def eval_command(cfg: EvalConfig, model: Path) -> None:
    from prmkit.synthetic.policy_eval import evaluate_saved_policy

    table = Table("temperature", "accuracy", "first errors of wrong samples (step: count)", "reasons")
    for temperature, ev in evaluate_saved_policy(model, cfg).items():
        hist = " ".join(f"{k}:{v}" for k, v in ev.first_errors.items())
        reasons = " ".join(f"{k}:{v}" for k, v in ev.reasons.items())
        table.add_row(f"{temperature:g}", f"{ev.accuracy:.3f}", hist, reasons)
    Console(width=200).print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(synthetic_app, name="synthetic")
