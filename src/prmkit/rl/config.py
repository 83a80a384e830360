"""The RL settings: what every trainer shares (``RLConfig``), and ``GRPOConfig`` and ``PPOConfig``,
apart from the trainers so that reading them (``--help``, configs) imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import yaml

from prmkit.config import moved_into
from prmkit.data.prompts import DEFAULT_PROMPT
from prmkit.devices import normalize_precision
from prmkit.errors import ConfigError
from prmkit.generation.base import SamplingConfig
from prmkit.rl.rewards import RewardSpec

ScaleRewards = Literal["group", "batch", "none"]
LossType = Literal["grpo", "bnpo", "dr_grpo"]
KLEstimator = Literal["k1", "k3"]
StepTransform = Literal["centered", "raw", "delta"]

# Changing these between a run and its resumption is allowed; any other change is refused, the
# ``sampling`` block's included. Dotted names, as ``refuse_changed_settings`` compares them (all top-level).
RESUMABLE_FIELDS = ("steps", "checkpoint_every", "resume", "threads", "device", "eval_every")


@dataclass
class RLConfig:
    """Common RL settings.

    Parameters that pick the model and data: ``policy``, ``output_dir``, ``problems``,
    ``prompt_template``, ``chat_template``, ``rewards``. Rollouts: ``batch_size`` prompts per step,
    each sampled as ``sampling`` says (``sampling.n`` completions each: the group, ``max_new_tokens``,
    ``temperature``, ``top_p``, ``seed``). Optimisation:
    ``steps``, ``lr``, ``lr_schedule``, ``warmup_steps``, ``weight_decay``, ``max_grad_norm``,
    ``epochs`` x ``minibatches`` updates per rollout, ``clip_eps``, ``share_prompt``. Running: ``seed``, ``device``,
    ``precision``, ``threads``, ``checkpoint_every``, ``resume``. Held-out evaluation: ``eval_problems``,
    ``eval_every``.
    """

    RENAMED: ClassVar[dict[str, str]] = moved_into(
        "sampling",
        SamplingConfig,
        {"group_size": "n", "max_new_tokens": "max_new_tokens", "temperature": "temperature", "top_p": "top_p"},
    )

    policy: str = field(default="", metadata={"help": "policy to train: a Hugging Face causal-LM folder"})
    output_dir: str = field(
        default="",
        metadata={"help": "run folder: log, checkpoint, metrics.json, plots, final policy (e.g. RUN/rl)"},
    )
    problems: str = field(
        default="",
        metadata={
            "help": "Problem JSONL to train on; empty: a fresh synthetic stream from the policy's world.json"
        },
    )
    prompt_template: str = field(
        default=DEFAULT_PROMPT, metadata={"help": "prompt text with a {question} slot"}
    )
    chat_template: bool = field(
        default=False,
        metadata={"help": "wrap the prompt as a user message with the tokenizer's chat template"},
    )
    rewards: list[RewardSpec] = field(
        default_factory=lambda: [RewardSpec("correctness")],
        metadata={
            "help": "weighted rewards (YAML list of {name, weight, options}; CLI: --reward name[:weight])"
        },
    )
    steps: int = field(default=100, metadata={"help": "training steps (one rollout each)"})
    batch_size: int = field(default=8, metadata={"help": "prompts per step"})
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=4, max_new_tokens=256, temperature=0.7, top_p=1.0, seed=0),
        metadata={
            "help": "how rollouts are sampled: sampling.n completions per prompt (the group), temperature > 0, "
            "a seed (resumption replays rollouts), no stop strings"
        },
    )
    lr: float = field(default=1e-6, metadata={"help": "AdamW learning rate"})
    lr_schedule: Literal["constant", "cosine"] = field(
        default="constant", metadata={"help": "after warm-up: constant, or cosine decay to 0"}
    )
    warmup_steps: int = field(default=0, metadata={"help": "linear warm-up, in optimizer updates"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0: off)"})
    epochs: int = field(default=1, metadata={"help": "passes over each rollout (1: on-policy)"})
    minibatches: int = field(default=1, metadata={"help": "optimizer updates per pass over a rollout"})
    clip_eps: float = field(default=0.2, metadata={"help": "PPO ratio clip: rho in [1 - eps, 1 + eps]"})
    share_prompt: bool = field(
        default=True,
        metadata={
            "help": "full-batch forward passes run each prompt once and reuse its KV cache for its group "
            "(same numbers, less compute; off for models whose cache cannot repeat rows)"
        },
    )
    seed: int = field(
        default=0,
        metadata={"help": "seed for problem order, minibatches and model init (rollouts: sampling.seed)"},
    )
    device: str = field(
        default="auto", metadata={"help": "auto (cuda when available), cpu, cuda, cuda:1, ..."}
    )
    precision: str = field(
        default="float32",
        metadata={"help": "float32 or bfloat16: autocast forward passes on CUDA (weights stay float32)"},
    )
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: leave torch's setting)"})
    checkpoint_every: int = field(default=10, metadata={"help": "save a resumable checkpoint every k steps"})
    eval_problems: str = field(
        default="",
        metadata={
            "help": "held-out Problem JSONL: greedy accuracy, boxed rate and length before, during, after"
        },
    )
    eval_every: int = field(
        default=0, metadata={"help": "evaluate on eval_problems every k steps (0: start and end)"}
    )
    resume: bool = field(
        default=True,
        metadata={"help": "continue from output_dir's checkpoint when there is one; false starts over"},
    )

    def __post_init__(self) -> None:
        if not self.policy or not self.output_dir:
            raise ConfigError("name the policy folder (--policy) and the run folder (--output-dir)")
        for name in ("steps", "batch_size", "epochs", "minibatches", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.warmup_steps < 0 or self.eval_every < 0:
            raise ConfigError("warmup_steps and eval_every must be >= 0")
        s = self.sampling
        if s.temperature <= 0 or not 0 < s.top_p <= 1:
            raise ConfigError(
                "RL samples: need sampling.temperature > 0 and 0 < sampling.top_p <= 1 "
                f"(got {s.temperature}, {s.top_p})"
            )
        if s.seed is None:
            raise ConfigError("sampling.seed: RL resumption needs seeded rollouts; give an integer")
        if s.stop:
            raise ConfigError(f"sampling.stop: RL rollouts do not support stop strings (got {s.stop})")
        if self.minibatches > self.batch_size * s.n:
            raise ConfigError(f"minibatches {self.minibatches} > {self.batch_size * s.n} completions per step")
        self.precision = normalize_precision(self.precision, ("float32", "bfloat16"))
        if "{question}" not in self.prompt_template:
            raise ConfigError("prompt_template needs a {question} slot")

    @property
    def updates_per_step(self) -> int:
        return self.epochs * self.minibatches


def parse_reward(text: str) -> RewardSpec:
    """``name[:weight][,key=value...]`` -> RewardSpec, e.g. ``format_length:0.5,variant=code``.

    The name may be a ``module:attr`` path; a last ``:`` part that is a number is the weight.
    """
    head, *pairs = [part.strip() for part in text.split(",")]
    name, _, weight = head.rpartition(":")
    try:
        value = float(weight) if name else 1.0
    except ValueError:
        value = 1.0
        name = head
    options = {}
    for pair in pairs:
        key, eq, raw = pair.partition("=")
        if not eq or not key:
            raise ConfigError(f"--reward {text!r}: options are key=value pairs after the name")
        options[key] = yaml.safe_load(raw)
    try:
        return RewardSpec(name=name or head, weight=value, options=options)
    except ValueError as exc:
        raise ConfigError(f"--reward {text!r}: {exc}") from None


@dataclass
class GRPOConfig(RLConfig):
    """GRPO settings (see ``RLConfig`` for the shared ones)."""

    beta: float = field(
        default=0.04, metadata={"help": "weight of the k3 KL to the reference (0: no reference model)"}
    )
    scale_rewards: ScaleRewards = field(
        default="group",
        metadata={"help": "divide advantages by the group std, the batch std, or none (Dr. GRPO)"},
    )
    loss_type: LossType = field(
        default="grpo",
        metadata={
            "help": "token reduction: grpo (sequence mean), bnpo (token mean), dr_grpo (sum / N*max_new_tokens)"
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sampling.n < 2:
            raise ConfigError(
                f"GRPO compares completions within a group: sampling.n must be >= 2, got {self.sampling.n}"
            )
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0, got {self.beta}")


@dataclass
class PPOConfig(RLConfig):
    """PPO settings (see ``RLConfig`` for the shared ones)."""

    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=1, max_new_tokens=256, temperature=0.7, top_p=1.0, seed=0),
        metadata={
            "help": "how rollouts are sampled: sampling.n completions per prompt, temperature > 0, a seed "
            "(resumption replays rollouts), no stop strings"
        },
    )
    mode: Literal["outcome", "step"] = field(
        default="outcome",
        metadata={"help": "outcome: reward on the last token; step: PRM score on each step's last token"},
    )
    prm: str = field(
        default="",
        metadata={"help": "mode step: a PRM folder (any format prmkit score loads) or a `prmkit serve` URL"},
    )
    step_transform: StepTransform = field(
        default="raw",
        metadata={
            "help": "step reward from the PRM's step probability p_k: raw p_k (Math-Shepherd's literal reward); "
            "delta p_k - p_(k-1), which sums to the last step's score (PPO on the final PRM score plus "
            "shaping); centered 2 p_k - 1"
        },
    )
    add_outcome: bool = field(
        default=False, metadata={"help": "mode step: also put the outcome rewards on the last token"}
    )
    kl_coef: float = field(
        default=0.04, metadata={"help": "per-token KL penalty folded into the reward (Math-Shepherd: 0.04)"}
    )
    kl_estimator: KLEstimator = field(
        default="k1", metadata={"help": "per-token KL estimate in the penalty: k1 or k3"}
    )
    gamma: float = field(default=1.0, metadata={"help": "GAE discount"})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda"})
    vf_coef: float = field(default=0.1, metadata={"help": "weight of the value loss"})
    value_clip: float = field(default=0.2, metadata={"help": "value clip: V in V_old +- value_clip"})
    value_trains_trunk: bool = field(
        default=False,
        metadata={
            "help": "let the value loss train the policy network too (default: only the head, on detached states)"
        },
    )
    whiten_advantages: bool = field(
        default=True, metadata={"help": "normalise advantages over the batch's tokens"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode == "step" and not self.prm:
            raise ConfigError("mode step needs a PRM: give --prm DIR")
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1) or self.kl_coef < 0:
            raise ConfigError("need 0 <= gamma, lam <= 1 and kl_coef >= 0")
