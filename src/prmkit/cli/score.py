"""``prmkit score`` (step scores for a file of solutions) and ``prmkit serve`` (the scoring server)."""

from __future__ import annotations

import json

import typer

from prmkit.cli.options import config_command
from prmkit.score.config import ScoreConfig, ServeConfig


def register(app: typer.Typer) -> None:
    @config_command(
        app,
        "score",
        ScoreConfig,
        help="Score every step of every solution in --input with the PRM in --prm; write JSONL.",
    )
    def score(cfg: ScoreConfig) -> None:
        from prmkit.score.run import score_file

        typer.echo(json.dumps(score_file(cfg), indent=2))

    @config_command(
        app,
        "serve",
        ServeConfig,
        help="Serve a PRM over HTTP: POST /score, GET /health, /docs (127.0.0.1 by default).",
    )
    def serve(cfg: ServeConfig) -> None:
        from prmkit.score.server import serve as run_server

        run_server(cfg)
