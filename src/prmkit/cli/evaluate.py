"""``prmkit eval bon``, ``prmkit eval processbench`` and ``prmkit report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prmkit.cli.options import config_command, new_app, report_errors
from prmkit.evaluate.config import BonEvalConfig, ProcessBenchConfig

eval_app = new_app("Evaluate verifiers: best-of-N curves with confidence intervals, ProcessBench.")


@config_command(
    eval_app,
    "bon",
    BonEvalConfig,
    "Best-of-N harness: accuracy against N for every method, with bootstrap CIs.",
)
def bon(cfg: BonEvalConfig) -> None:
    from prmkit.evaluate.bon import run_bon_eval

    metrics = run_bon_eval(cfg)
    typer.echo(Path(cfg.run_dir, "bon", "table.md").read_text(encoding="utf-8"))
    typer.echo(f"{metrics['summary']['problems']} problems; results in {Path(cfg.run_dir, 'bon')}")


@config_command(
    eval_app,
    "processbench",
    ProcessBenchConfig,
    "ProcessBench F1 of a PRM, an LLM critic, or a predictions file.",
)
def processbench(cfg: ProcessBenchConfig) -> None:
    from prmkit.evaluate.processbench import run_processbench

    run_processbench(cfg)
    typer.echo(Path(cfg.run_dir, "processbench", "table.md").read_text(encoding="utf-8"))


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")

    @app.command("report")
    @report_errors
    def report(
        run_dir: Annotated[
            Path, typer.Argument(help="run directory whose <stage>/metrics.json and PNGs to gather")
        ],
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="HTML file (default: RUN_DIR/report.html)")
        ] = None,
        title: Annotated[str | None, typer.Option(help="page title")] = None,
    ) -> None:
        """Write a static HTML report (tables and embedded plots) of every stage in a run directory."""
        from prmkit.evaluate.report import write_report

        typer.echo(f"wrote {write_report(run_dir, output, title, allow_empty=False)}")
