"""The synthetic critic's training settings, apart from the trainer so that reading them (``--help``,
configs) imports no torch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmkit.synthetic.mistakes import CRITIC_KINDS
from prmkit.train.policy_config import PolicyTrainConfig

CRITIC_FILE = "prmkit_critic.json"  # in a critic's folder: its template, budget and training stream


@dataclass
class CriticTrainConfig(PolicyTrainConfig):
    """Training the synthetic critic (the policy's fields, with critic defaults)."""

    mistake_kinds: list[str] = field(
        default_factory=lambda: list(CRITIC_KINDS),
        metadata={"help": "kinds of injected mistakes (default: all, operand included: the policy's own commonest error)"},
    )
    mistake_rate: float = field(
        default=0.75,
        metadata={
            "help": "share of training solutions with one injected mistake (more: fewer all-correct reviews to copy)"
        },
    )
    steps: int = field(
        default=1200,
        metadata={"help": "optimizer steps (brief on purpose: the critic should stay imperfect)"},
    )
    batch_size: int = field(default=32, metadata={"help": "solutions per step (each problem drawn fresh)"})
    eval_problems: int = field(
        default=200, metadata={"help": "held-out problems (stream critic-eval-{seed}) to score the critic on"}
    )


def critic_info(model: str | Path) -> dict[str, Any] | None:
    """The ``prmkit_critic.json`` of a critic directory, or None for any other model."""
    path = Path(model) / CRITIC_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
