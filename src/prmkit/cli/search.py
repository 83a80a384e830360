"""``prmkit search``: a verification method on a problem file, with a local or served PRM."""

from __future__ import annotations

import json

import typer

from prmkit.cli.options import config_command
from prmkit.search.run import SearchRunConfig


def register(app: typer.Typer) -> None:
    @config_command(
        app,
        "search",
        SearchRunConfig,
        help="Run a verification method (bon, majority, weighted_vote, beam, dvts) on --problems; append each "
        "problem's chosen solution, grade and cost to --output (resumes).",
    )
    def search(cfg: SearchRunConfig) -> None:
        from prmkit.search.run import run_search

        typer.echo(json.dumps(run_search(cfg), indent=2))
