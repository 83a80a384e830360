"""The whole loop on the embedded synthetic world, as resumable stages in one run directory.

Stages so far: problems (held-out synthetic problems) -> policy (a tiny Llama trained from scratch)
-> samples (greedy plus n sampled solutions per problem) -> grades (math-verify against the gold answer,
and the exact step truth from the world's checker). Later stages (annotation, PRM, verification, RL)
join as they land.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from prmkit.config import save_config
from prmkit.data.jsonl import read_records, write_jsonl
from prmkit.data.records import Problem, Solution
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.pipeline import Run, new_or_unfinished_run
from prmkit.train.policy import PolicyTrainConfig


@dataclass
class QuickstartConfig:
    """``prmkit quickstart``: the run directory and the size of each stage."""

    runs_dir: str = field(default="runs", metadata={"help": "folder that holds one sub-folder per run"})
    run_dir: str | None = field(
        default=None,
        metadata={"help": "run folder to use (default: resume the newest unfinished run in runs_dir, else start one)"},
    )
    problems: int = field(default=200, metadata={"help": "held-out synthetic problems to sample and grade"})
    samples: int = field(default=8, metadata={"help": "sampled solutions per problem"})
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature of the policy"})
    seed: int = field(default=0, metadata={"help": "seed of the held-out problems and of sampling"})
    policy: PolicyTrainConfig = field(default_factory=PolicyTrainConfig, metadata={"help": "the tiny policy"})

    def __post_init__(self) -> None:
        if self.problems < 1 or self.samples < 1:
            raise ValueError("problems and samples must be at least 1")


def _make_problems(cfg: QuickstartConfig, out: Path) -> dict[str, Any]:
    from prmkit.synthetic.world import make_problems

    problems = make_problems(cfg.policy.world, cfg.problems, seed=f"eval-{cfg.seed}")
    write_jsonl(out / "problems.jsonl", problems)
    return {"problems": len(problems)}


def _train_policy(cfg: QuickstartConfig, out: Path) -> dict[str, Any]:
    from prmkit.train.policy import train_policy

    result = train_policy(cfg.policy, out)
    return {"seconds": result.seconds, "final_loss": result.losses[-1], "parameters": result.num_parameters}


def _sample(cfg: QuickstartConfig, run: Path, out: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from prmkit.train.policy import max_new_tokens

    policy = run / "policy"
    budget = max_new_tokens(cfg.policy.world, AutoTokenizer.from_pretrained(policy))
    problems = run / "problems" / "problems.jsonl"
    common = {"backend": "transformers", "model": str(policy), "max_new_tokens": budget, "seed": cfg.seed, "batch_size": 64}
    generate_solutions(GenerateConfig(**common, n=1, temperature=0.0), problems, out / "greedy.jsonl")
    generate_solutions(
        GenerateConfig(**common, n=cfg.samples, temperature=cfg.temperature), problems, out / "samples.jsonl"
    )
    return {"samples_per_problem": cfg.samples, "temperature": cfg.temperature}


def _grade_file(problems: list[Problem], path: Path) -> list[dict[str, Any]]:
    """Answer grades plus the exact step truth for every solution in ``path``."""
    from prmkit.grading import grade_solutions
    from prmkit.synthetic.checker import truth_labels

    by_id = {p.id: p for p in problems}
    solutions = read_records(path, Solution)
    grades = grade_solutions(problems, solutions)
    rows = []
    for solution, grade in zip(solutions, grades):
        truth = truth_labels(by_id[solution.problem_id], solution)
        rows.append(
            {
                "solution_id": solution.id,
                "problem_id": solution.problem_id,
                "prediction": grade.prediction,
                "correct": grade.correct,
                "status": grade.status,
                "first_error": truth.first_error,
                "num_steps": truth.num_steps,
            }
        )
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Answer accuracy, pass@n, and how often a right answer hides a wrong process."""
    by_problem: dict[str, list[bool]] = {}
    for row in rows:
        by_problem.setdefault(row["problem_id"], []).append(row["correct"])
    right = [r for r in rows if r["correct"]]
    wrong = [r for r in rows if not r["correct"]]
    return {
        "solutions": len(rows),
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "pass_at_n": sum(any(v) for v in by_problem.values()) / len(by_problem),
        "process_correct": sum(r["first_error"] == -1 for r in rows) / len(rows),
        "right_answer_wrong_process": sum(r["first_error"] != -1 for r in right) / max(len(right), 1),
        "first_error_histogram": dict(sorted(Counter(r["first_error"] for r in wrong).items())),
        "timeouts": sum(r["status"] == "timeout" for r in rows),
    }


def _grade(run: Path, out: Path) -> dict[str, Any]:
    problems = read_records(run / "problems" / "problems.jsonl", Problem)
    summary = {}
    for name in ("greedy", "samples"):
        rows = _grade_file(problems, run / "samples" / f"{name}.jsonl")
        write_jsonl(out / f"{name}.jsonl", rows)
        summary[name] = summarize(rows)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _print_table(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="prmkit quickstart: the tiny policy on held-out synthetic problems")
    table.add_column("policy output")
    for col in ("answer acc.", "pass@n", "process correct", "right answer, wrong process"):
        table.add_column(col, justify="right")
    for name, s in summary.items():
        table.add_row(
            name,
            f"{s['accuracy']:.1%}",
            f"{s['pass_at_n']:.1%}",
            f"{s['process_correct']:.1%}",
            f"{s['right_answer_wrong_process']:.1%}",
        )
    console.print(table)


def run_quickstart(cfg: QuickstartConfig, console: Console | None = None) -> Path:
    """Run (or resume) every stage; return the run directory."""
    console = console or Console()
    path = Path(cfg.run_dir) if cfg.run_dir else new_or_unfinished_run(cfg.runs_dir)
    run = Run(path, console)
    console.print(f"run directory: [bold]{path}[/bold]")
    save_config(cfg, path / "config.yaml")
    run.stage("problems", lambda out: _make_problems(cfg, out))
    run.stage("policy", lambda out: _train_policy(cfg, out))
    run.stage("samples", lambda out: _sample(cfg, path, out))
    summary = run.stage("grades", lambda out: _grade(path, out))
    _print_table(summary, console)
    run.complete()
    console.print(f"results: {path}")
    return path
