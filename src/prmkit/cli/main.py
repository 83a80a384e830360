"""The ``prmkit`` command: one sub-command per stage, each a thin layer over the library.

Sub-commands load lazily: ``prmkit --help`` and ``prmkit grade`` do not import torch, because the
module behind a command is imported only when that command runs (its one-line help is listed here).
"""

from __future__ import annotations

import importlib
import signal
import sys
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from prmkit.cli.options import new_app
from prmkit.console import quiet_console

# before a command imports transformers: prmkit draws its own progress bars and prints its own warnings
quiet_console()

# command -> (module whose register(app) adds it, one-line help shown by `prmkit --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("quickstart", "Run the whole loop on the built-in synthetic world (resumes an interrupted run)."),
    "data": ("data", "Dataset files: list formats, validate records, convert between formats."),
    "grade": ("grade", "Grade solutions' final answers with math-verify."),
    "generate": ("generate", "Sample n solutions per problem with a generation backend (resumes an interrupted run)."),
    "synthetic": ("synthetic", "The arithmetic world: problems with an exact step checker, and a policy to solve them."),
    "train": ("train", "Train models: the tiny policy, PRMs and ORMs."),
    "annotate": ("annotate", "Label solution steps: Monte Carlo rollouts, an LLM judge, consensus, and their quality."),
    "score": ("score", "Score every step of every solution with a PRM; write JSONL."),
    "serve": ("score", "Serve a PRM over HTTP: POST /score, GET /health, /docs (127.0.0.1 by default)."),
    "search": ("search", "Run a verification method (bon, majority, weighted_vote, beam, dvts) on a problem file; resumes."),
    "eval": ("evaluate", "Evaluate verifiers: best-of-N curves with confidence intervals, ProcessBench."),
    "report": ("evaluate", "Write a static HTML report (tables and embedded plots) of a run directory."),
    "rl": ("rl", "Reinforcement learning: GRPO, outcome PPO and step-by-step PPO with PRM rewards."),
}  # fmt: skip


def full_app() -> typer.Typer:
    """Every command registered eagerly (for introspection and tests)."""
    app = new_app("prmkit")
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        importlib.import_module(f"prmkit.cli.{module}").register(app)
    return app


class LazyGroup(TyperGroup):
    """Lists every command from ``COMMANDS`` and imports a command's module only to run it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (_, help_text) in COMMANDS.items():
            self.commands.setdefault(name, TyperCommand(name, help=help_text))
        self.loaded: set[str] = set()

    def load(self, name: str) -> None:
        module = COMMANDS[name][0]
        if module in self.loaded:
            return
        app = new_app("prmkit")
        importlib.import_module(f"prmkit.cli.{module}").register(app)
        self.commands.update(typer.main.get_group(app).commands)
        self.loaded.add(module)

    def resolve_command(self, ctx: _click.Context, args: list[str]) -> Any:
        if args and args[0] in COMMANDS:
            self.load(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """prmkit: process supervision for LLM math reasoning (annotate, train PRMs, verify, evaluate, reinforce)."""


def main() -> None:
    """The ``prmkit`` entry point: SIGTERM exits like Ctrl-C, so servers stop and logs close on the way out."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()


if __name__ == "__main__":
    main()
