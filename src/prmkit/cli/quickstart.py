"""``prmkit quickstart``: the whole loop on the embedded synthetic world, offline, on CPU."""

from __future__ import annotations

import typer

from prmkit.cli.options import config_command
from prmkit.quickstart import QuickstartConfig, run_quickstart


def register(app: typer.Typer) -> None:
    @config_command(
        app,
        "quickstart",
        QuickstartConfig,
        help="Run the whole loop on the built-in synthetic world (resumes an interrupted run).",
    )
    def quickstart(cfg: QuickstartConfig) -> None:
        run_quickstart(cfg)
