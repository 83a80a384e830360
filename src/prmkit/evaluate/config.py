"""The settings of ``prmkit eval bon`` and ``prmkit eval processbench``, apart from the code that runs
them so that reading them (``--help``, configs) imports no torch, numpy or matplotlib."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from prmkit.config import moved_into
from prmkit.data.prompts import DEFAULT_PROMPT
from prmkit.data.steps import StepStyle
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.score.aggregate import check_aggregation
from prmkit.score.config import ServedPRMConfig

SUBSETS = ["gsm8k", "math", "olympiadbench", "omnimath"]


@dataclass
class BonEvalConfig:
    """The best-of-N harness.

    Problems: ``problems`` (+ ``split``, ``limit``, ``problem_seed``). Sampling: ``generation`` (the
    backend), ``sampling`` (``n`` is N's maximum: N runs 1, 2, 4, ... up to it; ``seed`` must be set),
    ``prompt_template``. Verifiers: ``prm``, ``orm``, ``likelihood``. Analysis: ``aggregations``,
    ``weighted_aggregation``, ``repeats``, ``bootstrap``, ``ci_level``, ``seed``.
    """

    RENAMED: ClassVar[dict[str, str]] = moved_into(
        "sampling",
        SamplingConfig,
        {"n_max": "n", "temperature": "temperature", "top_p": "top_p", "max_new_tokens": "max_new_tokens",
         "sample_seed": "seed"},
    )  # fmt: skip

    run_dir: str = field(
        default="runs/eval",
        metadata={"help": "run directory; results go to <run_dir>/bon (and diagnostics/)"},
    )
    problems: str = field(
        default="synthetic",
        metadata={
            "help": "synthetic (the arithmetic world), a dataset name (gsm8k, math500, ...) or a Problem JSONL file"
        },
    )
    split: str | None = field(
        default=None, metadata={"help": "dataset split (default: the dataset's first, e.g. test)"}
    )
    limit: int | None = field(
        default=100,
        metadata={"help": "number of problems (synthetic: how many to make; datasets: the first ones)"},
    )
    problem_seed: int = field(
        default=1,
        metadata={
            "help": "synthetic problem stream (ids synth-{seed}-{i}); keep it apart from training streams"
        },
    )
    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "the policy's generation backend"}
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=16, max_new_tokens=256, temperature=0.7, top_p=1.0, seed=0),
        metadata={
            "help": "the candidates: n per problem (N runs 1, 2, 4, ... up to it); seed is the base seed "
            "(per problem: stable_seed(seed, id) + k)"
        },
    )
    prompt_template: str = field(
        default=DEFAULT_PROMPT, metadata={"help": "prompt format; {question} is replaced by the question"}
    )
    step_style: StepStyle = field(
        default="paragraph", metadata={"help": "how generated text is split into steps"}
    )
    greedy: bool = field(
        default=True, metadata={"help": "also decode one greedy answer per problem (the greedy baseline)"}
    )
    prm: str = field(default="", metadata={"help": "PRM folder (BoN-PRM, weighted vote, diagnostics)"})
    orm: str = field(default="", metadata={"help": "ORM folder (BoN-ORM); optional"})
    likelihood: str = field(
        default="",
        metadata={
            "help": "causal LM whose step probabilities verify with no training (BoN-likelihood, the baseline "
            "a PRM must beat): 'policy' (the generation model's folder) or a folder; optional"
        },
    )
    prm_batch_size: int = field(default=16, metadata={"help": "sequences per PRM forward pass (served: per request)"})
    prm_device: str = field(default="auto", metadata={"help": "device of the PRM/ORM: auto, cpu, cuda, ..."})
    served: ServedPRMConfig = field(
        default_factory=ServedPRMConfig,
        metadata={"help": "how a verifier given as a URL is reached (prmkit serve, or vLLM with --served.api vllm)"},
    )
    aggregations: list[str] = field(
        default_factory=lambda: ["min", "product", "last"],
        metadata={"help": "step aggregations for BoN-PRM (one curve each)"},
    )
    weighted_aggregation: str = field(
        default="min", metadata={"help": "aggregation whose scores weight the PRM-weighted vote"}
    )
    repeats: int = field(default=100, metadata={"help": "random subsets per problem and N"})
    bootstrap: int = field(
        default=1000, metadata={"help": "bootstrap resamples of the problems for the confidence intervals"}
    )
    ci_level: float = field(default=0.95, metadata={"help": "confidence level of the intervals"})
    seed: int = field(default=0, metadata={"help": "seed of the subsampling and the bootstrap"})
    chunk_size: int = field(
        default=16, metadata={"help": "problems sampled, graded and scored per round (each round is saved)"}
    )
    grade_timeout: float = field(default=5.0, metadata={"help": "seconds per answer comparison"})
    diagnostics: bool = field(default=True, metadata={"help": "write the BoN-bias diagnostics (needs a PRM)"})

    def __post_init__(self) -> None:
        check_aggregation(*self.aggregations, self.weighted_aggregation)
        for name in ("repeats", "bootstrap", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.sampling.seed is None:
            raise ValueError("sampling.seed must be set: the stored candidates must be reproducible")
        if not 0 < self.ci_level < 1:
            raise ValueError(f"ci_level must lie in (0, 1), got {self.ci_level}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")

    def verifier_folders(self) -> dict[str, str]:
        """Each verifier's model folder: ``prm``, ``orm`` and ``likelihood`` ('policy' resolved)."""
        likelihood = self.generation.model if self.likelihood == "policy" else self.likelihood
        folders = {"prm": self.prm, "orm": self.orm, "likelihood": likelihood}
        return {name: path for name, path in folders.items() if path}

    def identity(self) -> dict[str, Any]:
        """The settings that decide what the stored candidates are (everything but the analysis),
        with a fingerprint of each local model's weights (a model retrained in place changes it)."""
        generation = dataclasses.asdict(dataclasses.replace(self.generation, api_key=None))
        sampling = dataclasses.asdict(self.sampling)
        keys = ("problems", "split", "problem_seed", "prompt_template", "step_style", "greedy", "prm", "orm",
                "likelihood")  # fmt: skip
        from prmkit.score.served import model_fingerprint

        weights = {
            name: model_fingerprint(path, self.served)
            for name, path in (("policy", self.generation.model), *self.verifier_folders().items())
        }
        rest = {k: getattr(self, k) for k in keys}
        return {"generation": generation, "sampling": sampling, **rest, "weights": weights}


@dataclass
class ProcessBenchConfig:
    """ProcessBench evaluation; the mode follows from which of ``prm``, ``generation.model`` /
    ``generation.base_url`` (the critic) and ``predictions`` is given (exactly one)."""

    RENAMED: ClassVar[dict[str, str]] = {
        "critic": "generation",
        **moved_into(
            "sampling",
            SamplingConfig,
            {"critic_samples": "n", "critic_temperature": "temperature", "critic_top_p": "top_p",
             "critic_max_new_tokens": "max_new_tokens", "critic_seed": "seed"},
        ),
    }  # fmt: skip

    run_dir: str = field(
        default="runs/eval", metadata={"help": "run directory; results go to <run_dir>/processbench"}
    )
    data: str = field(
        default="processbench",
        metadata={"help": "processbench (the official subsets) or a JSONL of labelled solutions"},
    )
    subsets: list[str] = field(
        default_factory=lambda: list(SUBSETS),
        metadata={"help": "subsets to evaluate (official data; labelled files use all their sources)"},
    )
    limit: int | None = field(
        default=None,
        metadata={
            "help": "N solutions of each subset, the first erroneous and correct ones half and half "
            "(smoke runs; not the official metric)"
        },
    )
    prm: str = field(default="", metadata={"help": "PRM folder (prm mode)"})
    prm_format: str = field(
        default="auto",
        metadata={"help": "the PRM's format (see prmkit score --format); likelihood reads any causal LM"},
    )
    threshold: float | None = field(
        default=None,
        metadata={"help": "fixed step threshold; default: 0.5 for two-class heads, else tuned on threshold_subset"},
    )
    tune_threshold: bool = field(
        default=False,
        metadata={"help": "tune the threshold on threshold_subset for two-class heads too (not ProcessBench's rule)"},
    )
    threshold_subset: str = field(
        default="gsm8k", metadata={"help": "subset a tuned threshold is chosen on, then applied to all"}
    )
    prm_batch_size: int = field(default=16, metadata={"help": "sequences per PRM forward pass (served: per request)"})
    prm_device: str = field(default="auto", metadata={"help": "device of the PRM"})
    served: ServedPRMConfig = field(
        default_factory=ServedPRMConfig,
        metadata={"help": "how a PRM given as a URL is reached (prmkit serve, or vLLM with --served.api vllm)"},
    )
    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "the critic LLM's backend (critic mode)"}
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=8, max_new_tokens=4096, temperature=1.0, top_p=0.9, seed=0),
        metadata={
            "help": "the critic's answers: n per solution, majority vote (ProcessBench: 8 at temperature 1.0, "
            "top_p 0.9); per solution seed stable_seed(seed, id) + k"
        },
    )
    predictions: str = field(
        default="", metadata={"help": "JSONL of {id, prediction} to score (predictions mode)"}
    )

    def __post_init__(self) -> None:
        given = [
            m
            for m, on in (
                ("prm", self.prm),
                ("generation.model/base_url", self.generation.model or self.generation.base_url),
                ("predictions", self.predictions),
            )
            if on
        ]
        if len(given) != 1:
            raise ValueError(
                "name exactly one of --prm, --generation.model/--generation.base-url (a critic), --predictions "
                f"(got {given or 'none'})"
            )

    @property
    def mode(self) -> str:
        return "prm" if self.prm else "predictions" if self.predictions else "critic"
