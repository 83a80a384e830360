"""``prmkit train prm`` and ``prmkit train orm``: train a PRM or the ORM baseline on labelled data."""

from __future__ import annotations

import json

import typer

from prmkit.cli.options import config_command
from prmkit.train.prm_config import ORMTrainConfig, PRMTrainConfig


def _run(cfg: PRMTrainConfig) -> None:
    from functools import partial

    from prmkit.train.prm import train_prm
    from prmkit.train.prm_data import check_targets, load_labelled

    targets = partial(
        check_targets,
        labels=cfg.labels,
        objective=cfg.objective,
        threshold=cfg.hard_threshold,
        kind=cfg.label_kind,
    )
    train = load_labelled(cfg.data, cfg.data_format, "--data", targets)
    held_out = load_labelled(cfg.eval_data, cfg.data_format, "--eval-data") if cfg.eval_data else None
    result = train_prm(train, cfg, held_out)
    if not result.main_process:  # under torchrun / accelerate launch the first process reports
        return
    summary = {
        "output_dir": str(result.output_dir),
        "train": result.train_examples,
        "eval": result.eval_examples,
        **result.metrics,
    }
    typer.echo(json.dumps(summary, indent=2))


def register(train_app: typer.Typer) -> None:
    """Add ``prm`` and ``orm`` to the ``train`` command group."""
    config_command(
        train_app, "prm", PRMTrainConfig, help="Train a PRM (hard or soft step labels) on labelled solutions."
    )(_run)
    config_command(
        train_app,
        "orm",
        ORMTrainConfig,
        help="Train the ORM baseline: final-answer correctness at the last step.",
    )(_run)
