"""``prmkit train``: training commands (the synthetic policy; later stages add theirs here)."""

from __future__ import annotations

from pathlib import Path

import typer

from prmkit.cli.options import config_command, new_app, output_option
from prmkit.train.policy_config import PolicyTrainConfig

train_app = new_app("Train models.")


@config_command(
    train_app, "policy", PolicyTrainConfig, "Train the tiny Llama policy on the arithmetic world, from scratch.",
    extra=[output_option("directory to save the model, tokenizer and world config in")],
)  # fmt: skip
def policy(cfg: PolicyTrainConfig, output: Path) -> None:
    from prmkit.train.policy import train_policy

    result = train_policy(cfg, output)
    typer.echo(
        f"trained {result.num_parameters:,} parameters for {cfg.steps} steps in {result.seconds:.0f}s "
        f"(loss {result.losses[0]:.3f} -> {sum(result.losses[-10:]) / len(result.losses[-10:]):.3f}); saved to {output}"
    )


def register(app: typer.Typer) -> None:
    from prmkit.cli import train_prm

    train_prm.register(train_app)
    app.add_typer(train_app, name="train")
