"""The quickstart's configuration: one dataclass per stage, nested, with sizes that fit 10 minutes on 2 cores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from prmkit.annotate.critic_config import CriticTrainConfig
from prmkit.data.prompts import DEFAULT_PROMPT
from prmkit.errors import ConfigError
from prmkit.generation.base import GenerationConfig
from prmkit.train.policy_config import PolicyTrainConfig


@dataclass
class QuickstartConfig:
    """``prmkit quickstart``: the run directory, the data, the models and the size of each stage.

    Synthetic mode (the default) trains a tiny policy and a critic from scratch on the arithmetic
    world, where every step's truth is known. Real mode (``data: gsm8k`` or ``math500`` plus a
    ``generation`` backend) samples from an existing model instead; ``serve_gguf`` starts a llama.cpp server
    for it on 127.0.0.1 and stops it at the end.
    """

    RENAMED: ClassVar[dict[str, str]] = {"generator": "generation", "n_max": "n", "annotate_samples": "annotate_n"}

    runs_dir: str = field(default="runs", metadata={"help": "folder that holds one sub-folder per run"})
    run_dir: str | None = field(
        default=None,
        metadata={
            "help": "run folder to use (default: resume the newest unfinished run in runs_dir, else start one)"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed of the problems, sampling, annotation and training"})
    data: str = field(
        default="synthetic",
        metadata={"help": "synthetic (the arithmetic world), gsm8k or math500 (from the shared data folder)"},
    )
    problems: int = field(
        default=200, metadata={"help": "held-out problems for best-of-N and the RL evaluation"}
    )
    annotate_problems: int = field(
        default=250,
        metadata={"help": "other problems whose sampled solutions are annotated to train the PRM"},
    )
    annotate_n: int = field(default=4, metadata={"help": "sampled solutions per annotation problem"})
    n: int = field(
        default=16, metadata={"help": "best-of-N: candidates per held-out problem (N runs 1, 2, 4, ... up to it)"}
    )
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature of the policy"})
    rollouts: int = field(default=8, metadata={"help": "Monte Carlo rollouts per step prefix"})
    prm_labels: str = field(
        default="mc",
        metadata={
            "help": "labels the PRM trains on: mc (hard), mc-soft or consensus (fewer solutions, more accurate labels)"
        },
    )
    prm_steps: int = field(default=300, metadata={"help": "PRM training steps"})
    prm_lr: float = field(default=3e-5, metadata={"help": "PRM (and ORM) learning rate"})
    prm_head: str = field(
        default="likelihood",
        metadata={
            "help": "PRM head: likelihood (a linear head plus a learned multiple of the backbone's step "
            "log-likelihood) or linear (a token-classification head alone)"
        },
    )
    prm_freeze_backbone: bool = field(
        default=False,
        metadata={"help": "train the PRM's head only (default: train prm's recipe, the backbone trained too)"},
    )
    processbench_limit: int = field(
        default=0,
        metadata={
            "help": "real mode: ProcessBench gsm8k solutions to score, erroneous and correct half and half (0: all 400)"
        },
    )
    rl_steps: int = field(default=30, metadata={"help": "step-by-step PPO updates (0: skip RL)"})
    rl_batch_size: int = field(default=16, metadata={"help": "prompts per PPO step (2 samples each)"})
    rl_lr: float = field(default=1e-5, metadata={"help": "step-by-step PPO learning rate"})
    policy: PolicyTrainConfig = field(
        default_factory=PolicyTrainConfig, metadata={"help": "the tiny policy (synthetic mode)"}
    )
    critic: CriticTrainConfig = field(
        default_factory=lambda: CriticTrainConfig(steps=600),
        metadata={"help": "the synthetic judge stand-in (synthetic mode)"},
    )
    verifier: PolicyTrainConfig = field(
        default_factory=lambda: PolicyTrainConfig(mistake_rate=0.0),
        metadata={
            "help": "synthetic mode: the PRM's backbone, the same world learned with no injected mistakes: a "
            "stronger model than the policy, as real PRMs start from one (not trained when prm_backbone is set)"
        },
    )
    generation: GenerationConfig = field(
        default_factory=lambda: GenerationConfig(model=""),
        metadata={"help": "real mode: the policy's backend and model (empty model: train the tiny policy)"},
    )
    serve_gguf: str = field(
        default="",
        metadata={"help": "real mode: a .gguf file (or 'smollm2') to serve with llama.cpp as the policy's backend"},
    )
    serve_threads: int = field(
        default=1,
        metadata={
            "help": "llama.cpp threads (0: its default; one thread stays fast when the cores are shared)"
        },
    )
    prm_backbone: str = field(
        default="",
        metadata={
            "help": "PRM backbone: an HF folder or .gguf file, or 'policy' (the policy's own model); default: "
            "the verifier model in synthetic mode, the policy in real mode"
        },
    )
    max_new_tokens: int = field(default=0, metadata={"help": "tokens per sample (0: the world's budget)"})
    prompt_template: str = field(
        default=DEFAULT_PROMPT,
        metadata={
            "help": "prompt the policy continues ({question}); real mode: include the model's chat markup"
        },
    )
    judge_max_new_tokens: int = field(
        default=512,
        metadata={"help": "tokens per judge critique (the synthetic critic uses its own, smaller budget)"},
    )

    def __post_init__(self) -> None:
        for name in ("problems", "annotate_problems", "annotate_n", "n", "rollouts", "prm_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.prm_head not in ("likelihood", "linear"):
            raise ConfigError(f"prm_head must be likelihood or linear, got {self.prm_head!r}")
        if self.prm_labels not in ("consensus", "mc", "mc-soft"):
            raise ConfigError(f"prm_labels must be consensus, mc or mc-soft, got {self.prm_labels!r}")
        if self.data not in ("synthetic", "gsm8k", "math500"):
            raise ConfigError(f"data must be synthetic, gsm8k or math500, got {self.data!r}")
        if self.data != "synthetic" and not (
            self.generation.model or self.serve_gguf or self.generation.base_url
        ):
            raise ConfigError(
                f"data {self.data!r} needs the policy's backend (generation.model, generation.base_url or serve_gguf)"
            )

    @property
    def synthetic(self) -> bool:
        return self.data == "synthetic"

    def skipped_stages(self) -> set[str]:
        """Stages this configuration does not run."""
        skipped = set()
        if not self.synthetic or self.generation.model or self.generation.base_url or self.serve_gguf:
            skipped.add("policy")
        if not self.synthetic:
            skipped.add("critic")
        if not self.synthetic or self.prm_backbone:
            skipped.add("verifier")
        if self.rl_steps == 0:
            skipped.add("rl")
        return skipped
