"""The settings of ``prmkit train prm`` and ``prmkit train orm``, apart from the trainer so that
reading them (``--help``, configs) imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from prmkit.data.encoding import StepFormat
from prmkit.devices import normalize_precision
from prmkit.train.label_kinds import LabelKind


@dataclass
class PRMTrainConfig:
    """PRM / ORM training.

    Data: ``data`` (+ ``data_format``) is read with ``prmkit.data.formats``; ``eval_data`` or, when
    absent, ``eval_fraction`` of the training problems is held out for step F1.
    """

    data: str = field(default="", metadata={"help": "labelled training data file"})
    data_format: str = field(
        default="jsonl",
        metadata={
            "help": "format of the data files: jsonl (prmkit records), math-shepherd, prm800k, trl-stepwise, processbench, ..."
        },
    )
    eval_data: str | None = field(
        default=None,
        metadata={
            "help": "held-out labelled data in the same format (default: split off eval_fraction of the problems)"
        },
    )
    eval_fraction: float = field(
        default=0.1, metadata={"help": "share of problems held out when no eval_data is given"}
    )
    model: str = field(
        default="", metadata={"help": "backbone: a local Hugging Face causal-LM folder or a .gguf file"}
    )
    output_dir: str = field(default="runs/prm", metadata={"help": "where the trained PRM is written"})
    objective: Literal["prm", "orm"] = field(
        default="prm",
        metadata={"help": "prm: a label per step; orm: final-answer correctness on the last step only"},
    )
    labels: Literal["hard", "soft"] = field(
        default="hard",
        metadata={"help": "hard: cross-entropy on 0/1; soft: binary cross-entropy on MC probabilities"},
    )
    hard_threshold: float | None = field(
        default=None,
        metadata={
            "help": "derive hard labels from soft ones: correct iff soft > threshold (0 is HE, Lessons' choice); "
            "unset: the stored hard labels"
        },
    )
    label_kind: LabelKind = field(
        default="value",
        metadata={
            "help": "value: the MC labels themselves; advantage: V_k - V_(k-1); progress: V_k / V_(k-1) "
            "(computed from the stored MC values, see prmkit.train.label_kinds)"
        },
    )
    progress_threshold: float = field(
        default=0.8,
        metadata={"help": "label kind progress, hard labels: a step is good iff V_k / V_(k-1) >= this"},
    )
    loss: Literal["cross-entropy", "mse", "none"] = field(
        default="cross-entropy",
        metadata={
            "help": "per-step loss: cross-entropy against [1 - y, y], mse of P(correct) against y (Lessons' "
            "soft labels), or none (the sibling-ranking or LM losses alone)"
        },
    )
    lm_weight: float = field(
        default=0.1,
        metadata={
            "help": "weight of a language-model loss on the tokens of the steps labelled right (an ORM: of "
            "the solutions whose answer is right), through the backbone's own output layer (0: off)"
        },
    )
    pairwise_weight: float = field(
        default=0.0,
        metadata={
            "help": "weight of the sibling-ranking loss: steps that continue the same prefix, ranked by their "
            "MC values (0: off; see prmkit.train.pairs)"
        },
    )
    head: Literal["linear", "likelihood"] = field(
        default="likelihood",
        metadata={
            "help": "likelihood: a head whose logit adds a learned multiple of the backbone's log-probability "
            "of the step, starting as that likelihood (saved as the causal LM with prm_head.* weights); "
            "linear: a 2-logit token-classification head (Math-Shepherd's and Qwen's format, a standard "
            "Hugging Face folder)"
        },
    )
    freeze_backbone: bool = field(
        default=False, metadata={"help": "train the head only; the backbone's weights stay as loaded"}
    )
    drop_after_error: bool = field(
        default=True,
        metadata={
            "help": "train on the steps up to the first wrong one only (Lessons); off: every step's own "
            "label (Math-Shepherd's release)"
        },
    )
    step_format: StepFormat = field(
        default_factory=StepFormat, metadata={"help": "the step-encoding contract, saved with the model"}
    )
    epochs: float = field(
        default=1.0, metadata={"help": "passes over the training data (ignored when max_steps > 0)"}
    )
    max_steps: int = field(
        default=-1,
        metadata={
            "help": "optimizer steps (overrides epochs when > 0); 0 trains nothing: the backbone with its fresh "
            "head is saved and evaluated, the untrained baseline"
        },
    )
    batch_size: int = field(default=8, metadata={"help": "solutions per device batch"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    lr: float = field(default=2e-5, metadata={"help": "peak learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    warmup_steps: float = field(
        default=0.05,
        metadata={"help": "learning-rate warm-up: optimizer steps, or a share of all steps when below 1"},
    )
    scheduler: str = field(
        default="cosine", metadata={"help": "learning-rate schedule: cosine, linear, constant, ..."}
    )
    eval_steps: int = field(
        default=100,
        metadata={"help": "evaluate held-out step F1 every N optimizer steps (0: only at the end)"},
    )
    save_steps: int = field(default=100, metadata={"help": "write a checkpoint every N optimizer steps"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept"})
    logging_steps: int = field(default=10, metadata={"help": "log every N optimizer steps"})
    resume: bool = field(
        default=True, metadata={"help": "resume from the latest checkpoint in output_dir/checkpoints"}
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "auto, float32, bfloat16 or float16; auto: bfloat16 (else float16) on cuda, float32 on cpu"
        },
    )
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={"help": "where to train"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory"})
    lora: bool = field(
        default=False,
        metadata={"help": "train LoRA adapters (peft) plus the head; merged into the saved model"},
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"], metadata={"help": "modules to adapt"}
    )
    seed: int = field(
        default=0, metadata={"help": "seed for data order, the eval split and the head's initialisation"}
    )

    def __post_init__(self) -> None:
        self.precision = normalize_precision(self.precision, ("auto", "float32", "bfloat16", "float16"))
        if self.objective == "orm" and self.labels == "soft":
            raise ValueError(
                "an ORM learns final-answer correctness; --labels soft does not apply (use --labels hard)"
            )
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ValueError(f"eval_fraction must lie in [0, 1), got {self.eval_fraction}")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("batch_size and grad_accum must be at least 1")
        if self.lr <= 0 or self.epochs <= 0 or self.max_steps < -1:
            raise ValueError(f"need lr > 0, epochs > 0 and max_steps >= -1 (got {self.lr}, {self.epochs}, {self.max_steps})")
        if min(self.save_steps, self.save_total_limit, self.logging_steps) < 1 or self.eval_steps < 0:
            raise ValueError("save_steps, save_total_limit and logging_steps must be at least 1, eval_steps at least 0")
        if self.objective == "orm" and self.label_kind != "value":
            raise ValueError("an ORM learns final-answer correctness; --label-kind applies to PRMs")
        if self.pairwise_weight < 0 or self.lm_weight < 0:
            raise ValueError("pairwise_weight and lm_weight must be >= 0")
        if self.loss == "none" and self.pairwise_weight == 0 and self.lm_weight == 0:
            raise ValueError("loss none trains on sibling pairs or the LM loss alone: set pairwise_weight or lm_weight > 0")
        if self.hard_threshold is not None and not 0.0 <= self.hard_threshold < 1.0:
            raise ValueError(f"hard_threshold must lie in [0, 1), got {self.hard_threshold}")


@dataclass
class ORMTrainConfig(PRMTrainConfig):
    """ORM baseline: the same backbone and head, trained on final-answer correctness at the last step."""

    objective: Literal["prm", "orm"] = field(
        default="orm",
        metadata={"help": "prm: a label per step; orm: final-answer correctness on the last step only"},
    )
    output_dir: str = field(default="runs/orm", metadata={"help": "where the trained ORM is written"})
