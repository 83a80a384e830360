"""The tiny policy's training settings, apart from the trainer so that reading them (``--help``, configs)
imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from prmkit.synthetic.habits import HabitsConfig
from prmkit.synthetic.mistakes import DEFAULT_KINDS, MISTAKES
from prmkit.synthetic.world import WorldConfig


@dataclass
class PolicyTrainConfig:
    """Training a tiny policy from scratch.

    Parameters that control the data: ``world``, ``mistake_rate``, ``mistake_kinds``, ``habits``.
    Parameters that control the model: ``hidden_size``, ``num_layers``, ``num_heads``, ``intermediate_size``,
    ``max_length``. Parameters that control optimisation: ``steps``, ``batch_size``, ``lr``,
    ``warmup_steps``, ``weight_decay``, ``seed``.
    """

    world: WorldConfig = field(default_factory=WorldConfig, metadata={"help": "the arithmetic world to train on"})
    mistake_rate: float = field(default=0.25, metadata={"help": "share of training solutions with one injected mistake"})
    mistake_kinds: list[str] = field(
        default_factory=lambda: list(DEFAULT_KINDS), metadata={"help": "kinds of injected mistakes (slip, carry, skip, operand)"}
    )
    habits: HabitsConfig = field(
        default_factory=HabitsConfig, metadata={"help": "bad answering habits, all off by default (prmkit.synthetic.habits)"}
    )
    steps: int = field(default=750, metadata={"help": "optimizer steps (the training length is fixed in steps, not time)"})
    batch_size: int = field(default=32, metadata={"help": "problems per step (each drawn fresh)"})
    lr: float = field(default=3e-3, metadata={"help": "peak AdamW learning rate"})
    warmup_steps: int = field(default=30, metadata={"help": "linear warm-up steps before the cosine decay"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    hidden_size: int = field(default=128, metadata={"help": "model width"})
    num_layers: int = field(default=2, metadata={"help": "transformer layers"})
    num_heads: int = field(default=4, metadata={"help": "attention heads"})
    intermediate_size: int = field(default=256, metadata={"help": "MLP width"})
    max_length: int = field(default=256, metadata={"help": "longest sequence the model accepts; training packs sequences into rows this long"})
    seed: int = field(default=0, metadata={"help": "seed for the model init and the training problems"})
    device: str = field(default="auto", metadata={"help": "auto (cuda when available), cpu, cuda, cuda:1, ..."})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: leave torch's setting)"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.mistake_rate <= 1.0:
            raise ValueError(f"mistake_rate must lie in [0, 1], got {self.mistake_rate}")
        unknown = [k for k in self.mistake_kinds if k not in MISTAKES]
        if unknown or not self.mistake_kinds:
            raise ValueError(f"mistake_kinds {self.mistake_kinds}: use some of {', '.join(MISTAKES.names())}")
        for name in ("steps", "batch_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be a multiple of num_heads {self.num_heads}")
        if not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"warmup_steps must lie in [0, steps), got {self.warmup_steps}")
