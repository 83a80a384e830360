"""LLM-as-judge annotation: a critic names the earliest wrong step of each solution.

The prompt and the parser are ProcessBench's (``prmkit.evaluate.critic``): steps are listed as
``<paragraph_i>`` blocks indexed from 0, and the answer is the index of the earliest wrong one, or
-1, in ``\\boxed{}``. ``sampling.n`` answers per solution are sampled (seed ``stable_seed(sampling.seed,
solution id) + i``) and voted on by ProcessBench's rule: answers without a box do not vote, the most common
boxed answer wins, ties go to the answer given first. When nothing votes, or the winner is not an
index in ``-1 .. n-1``, the verdict is *unparsable*: no labels, and the reason in
``Judgement.unparsable``, never a silent -1.

Any generation backend can judge: an instruct LLM on an OpenAI-compatible server (``mode: chat``),
a local transformers model (``chat_template: true`` for instruct models), or the synthetic critic
(``prmkit annotate train-critic``), whose directory names its own prompt template and training
problem stream (and a token budget for its answers); problems from that stream are refused, so the
critic never labels what it saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from prmkit.annotate.critic_config import critic_info
from prmkit.annotate.io import Judgement, solution_key
from prmkit.config import moved_into, refuse_changed_settings, save_config
from prmkit.data.jsonl import AppendLog
from prmkit.data.records import LabeledSolution, StepLabels
from prmkit.errors import ConfigError, DataError
from prmkit.evaluate.critic import CRITIQUE_TEMPLATE, CriticVerdict, critique_prompt, parse_critique
from prmkit.generation.base import (
    EXECUTION_FIELDS,
    GenerationBackend,
    GenerationConfig,
    SamplingConfig,
    load_backend,
    stable_seed,
    without_api_key,
)
from prmkit.grading import last_boxed
from prmkit.progress import progress_bar

TEMPLATES = {"processbench": CRITIQUE_TEMPLATE}
_NEGATIVE = re.compile(r"\s*-\d+\s*")


@dataclass
class JudgeConfig:
    """``prmkit annotate judge``: the critic backend, its prompt and the votes."""

    RENAMED: ClassVar[dict[str, str]] = {
        **moved_into("generation", GenerationConfig),
        **moved_into("sampling", SamplingConfig, {"votes": "n", "max_new_tokens": "max_new_tokens",
                                                  "temperature": "temperature", "top_p": "top_p", "seed": "seed"}),
    }  # fmt: skip

    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "the critic: the backend and model that judge"}
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=1, max_new_tokens=1024, temperature=0.0),
        metadata={
            "help": "the critiques: sampling.n per solution, the majority wins, ties to the answer given first "
            "(ProcessBench: n 8, temperature 1.0, top_p 0.9); n > 1 needs temperature > 0"
        },
    )
    template: str = field(
        default="auto",
        metadata={"help": "critique prompt: auto (the critic directory's own, else processbench), processbench, "
                  "or a template with {problem} and {tagged_response}"},
    )  # fmt: skip
    prompts_per_call: int = field(default=32, metadata={"help": "solutions per generate call"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self) -> None:
        if self.prompts_per_call < 1:
            raise ConfigError("prompts_per_call must be >= 1")
        if self.sampling.seed is None:
            raise ConfigError("judging needs sampling.seed: resuming relies on per-solution seeds")
        if self.sampling.n > 1 and self.sampling.temperature == 0:
            raise ConfigError(
                f"{self.sampling.n} greedy critiques would all agree; set sampling.temperature > 0 "
                "(ProcessBench: 1.0) or sampling.n 1"
            )
        if self.template not in ("auto", *TEMPLATES) and "{tagged_response}" not in self.template:
            raise ConfigError(f"template must be auto, {', '.join(TEMPLATES)} or contain {{tagged_response}}")


@dataclass(frozen=True)
class CriticSpec:
    """How to prompt a critic: its template, answer budget, and (synthetic critic) training stream."""

    template: str
    max_new_tokens: int
    stream: str | None = None


def critic_spec(cfg: JudgeConfig) -> CriticSpec:
    """The config's settings, with a synthetic critic directory's own template and budget under ``auto``."""
    model = cfg.generation.model
    info = (critic_info(model) if model and Path(model).is_dir() else None) or {}
    if cfg.template == "auto":
        template = info.get("template", CRITIQUE_TEMPLATE)
    else:
        template = TEMPLATES.get(cfg.template, cfg.template)
    budget = min(cfg.sampling.max_new_tokens, info.get("max_new_tokens", cfg.sampling.max_new_tokens))
    return CriticSpec(template, budget, info.get("problem_stream"))


def unparsable_reason(text: str, num_steps: int) -> str:
    """Why one answer does not parse to a step index."""
    boxed = last_boxed(text)
    if boxed is None:
        return "no \\boxed{} answer"
    if parse_critique(text, 1 << 62) is not None or _NEGATIVE.fullmatch(boxed):
        return f"index {boxed.strip()} outside -1..{num_steps - 1}"
    return f"\\boxed{{{boxed[:40]}}} is not a step index"


def judgement(pair: LabeledSolution, outputs: list[str], votes: int) -> Judgement:
    """The verdict of ``outputs`` on one solution."""
    num_steps = len(pair.solution.steps)
    verdict = CriticVerdict.from_outputs(outputs, num_steps)
    common: dict[str, Any] = {
        "problem": pair.problem,
        "solution": pair.solution,
        "outputs": outputs,
        "votes": verdict.parsed,
    }
    if verdict.prediction is None:
        reasons = sorted({unparsable_reason(text, num_steps) for text in outputs})
        return Judgement(**common, unparsable="; ".join(reasons))
    labels = StepLabels(
        solution_id=pair.solution.id,
        num_steps=num_steps,
        first_error=verdict.prediction,
        source="judge",
        metadata={"votes": verdict.parsed, "k": votes, "unparsable_votes": verdict.unparsable},
    )
    return Judgement(**common, labels=labels)


def judge_stream(
    cfg: JudgeConfig, backend: GenerationBackend, pairs: Sequence[LabeledSolution], spec: CriticSpec
) -> Iterator[Judgement]:
    """Judge ``pairs`` in calls of ``prompts_per_call`` solutions; yield the verdicts in input order."""
    sampling = {**cfg.sampling.sampling_kwargs(), "max_new_tokens": spec.max_new_tokens}
    for start in range(0, len(pairs), cfg.prompts_per_call):
        chunk = pairs[start : start + cfg.prompts_per_call]
        results = backend.generate(
            [critique_prompt(p.problem.question, p.solution.steps, spec.template) for p in chunk],
            **sampling,
            seed=[stable_seed(cfg.sampling.seed, p.solution.id) for p in chunk],
        )
        for pair, completions in zip(chunk, results):
            yield judgement(pair, [c.text for c in completions], cfg.sampling.n)


def refuse_training_problems(pairs: Sequence[LabeledSolution], stream: str | None) -> None:
    """A critic must not label problems from the stream it was trained on."""
    if stream is None:
        return
    prefix = f"synth-{stream}-"
    for pair in pairs:
        if pair.problem.id.startswith(prefix):
            raise DataError(
                f"problem {pair.problem.id!r} comes from the critic's training stream {stream!r}; label other problems"
            )


def annotate_judge(cfg: JudgeConfig, pairs: Sequence[LabeledSolution], output: str | Path) -> dict[str, Any]:
    """Append verdicts for the solutions of ``pairs`` not yet in ``output``; return a summary."""
    output = Path(output)
    spec = critic_spec(cfg)
    refuse_training_problems(pairs, spec.stream)
    written = unparsable = 0
    with AppendLog(output, key=solution_key) as log:
        if log.done:
            refuse_changed_settings(cfg, output.with_suffix(".config.yaml"), EXECUTION_FIELDS)
        save_config(without_api_key(cfg), output.with_suffix(".config.yaml"))
        todo = [p for p in pairs if p.solution.id not in log]
        if todo:
            with (
                load_backend(cfg.generation) as backend,
                progress_bar("judge", len(todo), cfg.progress) as advance,
            ):
                for record in judge_stream(cfg, backend, todo, spec):
                    log.append(record)
                    written += 1
                    unparsable += record.labels is None
                    advance(f"{unparsable} unparsable")
    return {"written": written, "skipped": len(pairs) - len(todo), "unparsable": unparsable}
