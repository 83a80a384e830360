"""``prmkit quickstart``: the whole loop on the embedded synthetic world, offline, on CPU."""

from __future__ import annotations

import typer

from prmkit.cli.options import config_command
from prmkit.quickstart.config import QuickstartConfig


def register(app: typer.Typer) -> None:
    @config_command(
        app,
        "quickstart",
        QuickstartConfig,
        help="Run the whole loop on the built-in synthetic world (resumes an interrupted run).",
    )
    def quickstart(cfg: QuickstartConfig) -> None:
        from prmkit.quickstart import run_quickstart

        run_quickstart(cfg)
