"""The settings of ``prmkit synthetic make`` and ``prmkit synthetic eval``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from prmkit.synthetic.world import Split, WorldConfig


@dataclass
class MakeConfig:
    """``prmkit synthetic make``."""

    RENAMED: ClassVar[dict[str, str]] = {"n": "count"}

    count: int = field(default=200, metadata={"help": "number of problems"})
    seed: int = field(default=0, metadata={"help": "problem stream (ids are synth-{seed}-{i})"})
    split: Split = field(
        default="held-out",
        metadata={
            "help": "held-out (chains no training stream draws: for evaluation) or train (to annotate or "
            "train on)"
        },
    )
    world: WorldConfig = field(default_factory=WorldConfig, metadata={"help": "difficulty knobs"})


@dataclass
class EvalConfig:
    """``prmkit synthetic eval``."""

    RENAMED: ClassVar[dict[str, str]] = {"n": "count"}

    count: int = field(default=200, metadata={"help": "held-out problems drawn from the policy's world"})
    seed: int = field(default=1, metadata={"help": "problem stream (training uses train-{seed}, never an integer)"})
    temperatures: list[float] = field(
        default_factory=lambda: [0.0, 0.7, 1.0], metadata={"help": "sampling temperatures (0 = greedy)"}
    )
    sample_seed: int = field(default=0, metadata={"help": "torch seed for sampling"})
    batch_size: int = field(default=64, metadata={"help": "prompts per generate call"})
    device: str = field(default="auto", metadata={"help": "auto (cuda when available), cpu, cuda, ..."})
