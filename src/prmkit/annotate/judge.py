"""LLM-as-judge annotation: a critic names the earliest wrong step of each solution.

The prompt and the parser are ProcessBench's (``prmkit.evaluate.critic``): steps are listed as
``<paragraph_i>`` blocks indexed from 0, and the answer is the index of the earliest wrong one, or
-1, in ``\\boxed{}``. ``votes`` answers per solution are sampled (seed ``stable_seed(seed, solution
id) + i``) and voted on by ProcessBench's rule: answers without a box do not vote, the most common
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

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmkit.annotate.critic_config import critic_info
from prmkit.annotate.io import Judgement, solution_key
from prmkit.config import refuse_changed_settings, save_config
from prmkit.data.jsonl import AppendLog
from prmkit.data.records import LabeledSolution, StepLabels
from prmkit.errors import ConfigError, DataError
from prmkit.evaluate.critic import CRITIQUE_TEMPLATE, CriticVerdict, critique_prompt, parse_critique
from prmkit.generation.base import (
    EXECUTION_FIELDS,
    GenerationBackend,
    GenerationConfig,
    load_backend,
    stable_seed,
)
from prmkit.grading import last_boxed
from prmkit.progress import progress_bar

TEMPLATES = {"processbench": CRITIQUE_TEMPLATE}
_NEGATIVE = re.compile(r"\s*-\d+\s*")


@dataclass
class JudgeConfig(GenerationConfig):
    """``prmkit annotate judge``: the critic backend, its prompt and the votes."""

    votes: int = field(
        default=1,
        metadata={"help": "answers per solution (k); the majority wins, ties to the answer given first (ProcessBench)"},
    )
    max_new_tokens: int = field(default=1024, metadata={"help": "most tokens per critique"})
    temperature: float = field(
        default=0.0, metadata={"help": "sampling temperature (0: greedy; votes > 1 needs > 0)"}
    )
    top_p: float = field(
        default=1.0, metadata={"help": "nucleus sampling mass (ProcessBench samples with 0.9)"}
    )
    seed: int = field(default=0, metadata={"help": "base seed of the answers"})
    template: str = field(
        default="auto",
        metadata={"help": "critique prompt: auto (the critic directory's own, else processbench), processbench, "
                  "or a template with {problem} and {tagged_response}"},
    )  # fmt: skip
    prompts_per_call: int = field(default=32, metadata={"help": "solutions per generate call"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.votes < 1 or self.prompts_per_call < 1 or self.max_new_tokens < 1:
            raise ConfigError("votes, prompts_per_call and max_new_tokens must be >= 1")
        if self.votes > 1 and self.temperature == 0:
            raise ConfigError(
                f"{self.votes} greedy votes would all agree; set temperature > 0 (ProcessBench: 1.0) or votes 1"
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
    info = (critic_info(cfg.model) if cfg.model and Path(cfg.model).is_dir() else None) or {}
    if cfg.template == "auto":
        template = info.get("template", CRITIQUE_TEMPLATE)
    else:
        template = TEMPLATES.get(cfg.template, cfg.template)
    budget = min(cfg.max_new_tokens, info.get("max_new_tokens", cfg.max_new_tokens))
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
    for start in range(0, len(pairs), cfg.prompts_per_call):
        chunk = pairs[start : start + cfg.prompts_per_call]
        results = backend.generate(
            [critique_prompt(p.problem.question, p.solution.steps, spec.template) for p in chunk],
            n=cfg.votes,
            max_new_tokens=spec.max_new_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            seed=[stable_seed(cfg.seed, p.solution.id) for p in chunk],
        )
        for pair, completions in zip(chunk, results):
            yield judgement(pair, [c.text for c in completions], cfg.votes)


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
        save_config(dataclasses.replace(cfg, api_key=None), output.with_suffix(".config.yaml"))
        todo = [p for p in pairs if p.solution.id not in log]
        if todo:
            with (
                load_backend(cfg) as backend,
                progress_bar("judge", len(todo), cfg.progress) as advance,
            ):
                for record in judge_stream(cfg, backend, todo, spec):
                    log.append(record)
                    written += 1
                    unparsable += record.labels is None
                    advance(f"{unparsable} unparsable")
    return {"written": written, "skipped": len(pairs) - len(todo), "unparsable": unparsable}
