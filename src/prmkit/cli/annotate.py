"""``prmkit annotate``: Monte Carlo and judge annotation, consensus filtering, the label-quality lab,
exports, and training the synthetic critic."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from prmkit.annotate.consensus import ConsensusConfig
from prmkit.annotate.critic_config import CriticTrainConfig
from prmkit.annotate.io import ExportConfig
from prmkit.annotate.judge import JudgeConfig
from prmkit.annotate.mc import MCConfig
from prmkit.annotate.relabel import RelabelConfig
from prmkit.annotate.report import ReportConfig
from prmkit.cli.options import argument, config_command, new_app, output_option

annotate_app = new_app(
    "Label solution steps: Monte Carlo rollouts, an LLM judge, consensus, and their quality."
)


def _inputs() -> list[inspect.Parameter]:
    problems = inspect.Parameter(
        "problems",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None,
            typer.Option("--problems", "-p", help="Problem JSONL (when SOLUTIONS holds bare Solution lines)"),
        ],
    )
    return [argument("solutions", Path, "Solution JSONL, or any annotation output"), problems]


@config_command(
    annotate_app, "mc", MCConfig, "Monte Carlo step labels (hard and soft) from rollouts of a completer (resumable).",
    extra=[*_inputs(), output_option("LabeledSolution JSONL (appended to; resumable)")],
)  # fmt: skip
def mc(cfg: MCConfig, solutions: Path, problems: Path | None, output: Path) -> None:
    from prmkit.annotate.io import read_pairs
    from prmkit.annotate.mc import annotate_mc
    from prmkit.locks import refuse_same_file

    refuse_same_file(output, solutions, problems)
    s = annotate_mc(cfg, read_pairs(solutions, problems), output)
    typer.echo(
        f"labelled {s['written']} solutions ({s['skipped']} done earlier) with {s['rollouts']} rollouts "
        f"({s['rollouts_per_solution']:.1f} per solution) in {s['seconds']:.1f}s; wrote {output}"
    )


@config_command(
    annotate_app, "judge", JudgeConfig, "First-error verdicts from an LLM critic, ProcessBench style (resumable).",
    extra=[*_inputs(), output_option("Judgement JSONL (appended to; resumable)")],
)  # fmt: skip
def judge(cfg: JudgeConfig, solutions: Path, problems: Path | None, output: Path) -> None:
    from prmkit.annotate.io import read_pairs
    from prmkit.annotate.judge import annotate_judge
    from prmkit.locks import refuse_same_file

    refuse_same_file(output, solutions, problems)
    s = annotate_judge(cfg, read_pairs(solutions, problems), output)
    typer.echo(
        f"judged {s['written']} solutions ({s['skipped']} done earlier, {s['unparsable']} unparsable); wrote {output}"
    )


@config_command(
    annotate_app, "consensus", ConsensusConfig, "Keep the solutions where MC and the judge agree on the first error.",
    extra=[output_option("LabeledSolution JSONL of the kept solutions")],
)  # fmt: skip
def consensus(cfg: ConsensusConfig, output: Path) -> None:
    from prmkit.annotate.consensus import consensus_files
    from prmkit.locks import refuse_same_file

    refuse_same_file(output, cfg.mc or None, cfg.judge or None)
    stats = consensus_files(cfg, output)
    typer.echo(
        f"kept {stats['kept']}/{stats['solutions']} solutions (retention {stats['retention']:.1%}; "
        f"disagree {stats['disagree']}, unparsable {stats['unparsable']}, not judged {stats['not_judged']}); wrote {output}"
    )


@config_command(
    annotate_app, "report", ReportConfig, "The label-quality lab: MC, judge and consensus against the synthetic truth.",
    extra=[output_option("folder for metrics.json, report.md and the figures")],
)  # fmt: skip
def report(cfg: ReportConfig, output: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from prmkit.annotate.io import Judgement, read_annotations, read_labeled
    from prmkit.annotate.report import label_quality, write_report

    judged = [r for r in read_annotations(cfg.judge) if isinstance(r, Judgement)]
    search = read_labeled(cfg.search) if cfg.search else []
    metrics = label_quality(read_labeled(cfg.mc), judged, search, cfg.thresholds)
    write_report(metrics, output, cfg.plots)
    quality = metrics["tables"][0]
    view = Table(*quality["columns"], title=quality["title"])
    for row in quality["rows"]:
        view.add_row(*map(str, row))
    Console(width=220).print(view)
    typer.echo(f"wrote {output}/metrics.json, report.md" + (" and figures" if cfg.plots else ""))


@config_command(
    annotate_app, "relabel", RelabelConfig, "Relabel MC annotations by each step's advantage or relative progress (no new sampling).",
    extra=[argument("source", Path, "MC annotation output (soft labels needed)"), output_option("LabeledSolution JSONL to write")],
)  # fmt: skip
def relabel(cfg: RelabelConfig, source: Path, output: Path) -> None:
    from prmkit.annotate.relabel import relabel_file
    from prmkit.locks import refuse_same_file

    refuse_same_file(output, source)
    count = relabel_file(cfg, source, output)
    typer.echo(f"wrote {count} solutions with {cfg.kind} labels to {output}")


@config_command(
    annotate_app, "export", ExportConfig, "Write annotated solutions as Math-Shepherd, TRL stepwise, prmkit JSONL or a datasets.Dataset.",
    extra=[argument("source", Path, "annotation output (MC, judge or consensus)"), output_option("file (or folder for hf) to write")],
)  # fmt: skip
def export(cfg: ExportConfig, source: Path, output: Path) -> None:
    from prmkit.annotate.io import export_annotations
    from prmkit.locks import refuse_same_file

    refuse_same_file(output, source)
    count = export_annotations(source, output, cfg.format)
    typer.echo(f"wrote {count} labelled solutions to {output} ({cfg.format})")


@config_command(
    annotate_app, "train-critic", CriticTrainConfig, "Train the synthetic world's small generative critic (a judge stand-in).",
    extra=[output_option("directory for the critic model")],
)  # fmt: skip
def train_critic(cfg: CriticTrainConfig, output: Path) -> None:
    from prmkit.annotate.critic_model import train_critic as run

    s = run(cfg, output)
    held = s["held_out"]
    typer.echo(
        f"trained the critic for {s['steps']} steps in {s['seconds']:.0f}s; held-out first-error accuracy "
        f"{held['first_error_accuracy']:.1%}, ProcessBench F1 {held['f1']:.1%}; saved to {output}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(annotate_app, name="annotate")
