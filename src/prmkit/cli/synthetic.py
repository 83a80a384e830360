"""``prmkit synthetic``: make arithmetic problems, check solutions exactly, evaluate a policy."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from prmkit.cli.options import argument, config_command, new_app, report_errors
from prmkit.data.jsonl import read_records, write_jsonl
from prmkit.data.records import Problem, Solution
from prmkit.errors import DataError
from prmkit.synthetic.world import WorldConfig, make_problems

synthetic_app = new_app("The arithmetic world: problems with an exact step checker, and a policy to solve them.")


@dataclass
class MakeConfig:
    n: int = field(default=200, metadata={"help": "number of problems"})
    seed: int = field(default=0, metadata={"help": "problem stream (ids are synth-{seed}-{i})"})
    world: WorldConfig = field(default_factory=WorldConfig, metadata={"help": "difficulty knobs"})


@dataclass
class EvalConfig:
    n: int = field(default=200, metadata={"help": "held-out problems drawn from the policy's world"})
    seed: int = field(default=1, metadata={"help": "problem stream (training uses train-{seed}, never an integer)"})
    temperatures: list[float] = field(
        default_factory=lambda: [0.0, 0.7, 1.0], metadata={"help": "sampling temperatures (0 = greedy)"}
    )
    sample_seed: int = field(default=0, metadata={"help": "torch seed for sampling"})
    batch_size: int = field(default=64, metadata={"help": "prompts per generate call"})
    device: str = field(default="auto", metadata={"help": "auto (cuda when available), cpu, cuda, ..."})


def output_option(help: str) -> inspect.Parameter:
    """A required ``--output/-o PATH`` for ``config_command(extra=[...])``."""
    return inspect.Parameter(
        "output", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Path, typer.Option("--output", "-o", help=help)]
    )


@config_command(
    synthetic_app, "make", MakeConfig, "Write arithmetic word problems as Problem JSONL.",
    extra=[output_option("JSONL file to write")],
)  # fmt: skip
def make(cfg: MakeConfig, output: Path) -> None:
    count = write_jsonl(output, make_problems(cfg.world, cfg.n, cfg.seed))
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
    from prmkit.data.records import LabeledSolution
    from prmkit.synthetic.checker import truth_labels

    by_id = {p.id: p for p in read_records(problems, Problem)}
    labels, records = [], []
    for line, solution in enumerate(read_records(solutions, Solution), start=1):
        if solution.problem_id not in by_id:
            message = f"unknown problem {solution.problem_id!r} (not in {problems})"
            raise DataError(message, path=solutions, line=line, field="problem_id")
        labels.append(truth_labels(by_id[solution.problem_id], solution))
        records.append(LabeledSolution(problem=by_id[solution.problem_id], solution=solution, labels=labels[-1]))
    if output is not None:
        write_jsonl(output, records if labeled else labels)
    table = Table("solution", "steps", "first error", "correct", "reason")
    for lab in labels:
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
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prmkit.devices import resolve_device
    from prmkit.synthetic.policy_eval import evaluate_policy
    from prmkit.synthetic.world import load_world

    problems = make_problems(load_world(model), cfg.n, cfg.seed)
    lm = AutoModelForCausalLM.from_pretrained(model).to(resolve_device(cfg.device)).eval()
    tokenizer = AutoTokenizer.from_pretrained(model)
    table = Table("temperature", "accuracy", "first errors of wrong samples (step: count)", "reasons")
    for temperature in cfg.temperatures:
        ev = evaluate_policy(lm, tokenizer, problems, temperature, cfg.batch_size, cfg.sample_seed)
        hist = " ".join(f"{k}:{v}" for k, v in ev.first_errors.items())
        reasons = " ".join(f"{k}:{v}" for k, v in ev.reasons.items())
        table.add_row(f"{temperature:g}", f"{ev.accuracy:.3f}", hist, reasons)
    Console(width=200).print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(synthetic_app, name="synthetic")
