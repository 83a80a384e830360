"""Monte Carlo process annotation: Math-Shepherd's hard (HE) and soft (SE) estimation.

The prefix of step ``i`` is steps ``0..i``. A completer backend continues
``render_prompt(problem) + join(prefix) + separator`` ``sampling.n`` times; the final answer of each rollout
(the last answer in prefix + completion, so a prefix that already boxed an answer keeps it) is
graded against the gold answer with ``prmkit.grading``. ``HE_i`` is 1 when any rollout is correct,
``SE_i`` the fraction that are; both go into ``StepLabels`` (source ``"mc"``), with the raw counts
per step in ``metadata``: ``counts`` (correct rollouts, None where none was drawn) and ``drawn``.

**The last step.** Its prefix is the whole solution, so when the solution states a final answer the
last step's label is that answer's correctness, without rollouts (``metadata
["final_answer_correct"]``). A solution that stops without an answer has its last prefix rolled out.

**Strategies** (``MC_STRATEGIES``):

- ``all`` rolls out every step (Math-Shepherd). ``first_error`` is the first step with HE 0; later
  steps keep their own estimate, so HE need not be monotone (``metadata["monotone"]`` says).
- ``first-error`` assumes monotonicity (once a prefix cannot reach the gold answer, no longer prefix
  can: the error is carried forward) and binary-searches the first prefix with HE 0 among the prefixes
  before the last; a wrong final answer makes the last step's HE 0 known. The middle prefix is rolled
  out ``rollout_chunk`` samples per round and stops at its first correct rollout (HE 1 is then
  certain); HE 0 takes all ``n``. Hard labels are 1 before the found step and 0 from it on ("after an
  error"), the last step keeping its own answer's correctness. Its records carry soft labels only where
  every step was measured, which is rare: a prefix stopped at its first correct rollout, or never
  rolled out, has no measured SE. The raw ``counts`` and ``drawn`` stay in ``metadata``; training on
  soft labels, a ``hard_threshold`` above 0 or a label kind computed from MC values refuses such a
  record.

**Trusting correct answers** (``trust_correct_answers``, off by default). A correct final answer is
then taken as proof that every step is right: all 1, no rollouts. That is not HE (a step with a
mistake that the solution later recovers from can have HE 0), so MC cannot flag a right-answer,
wrong-process solution, the first of Lessons' BoN biases. It saves most rollouts of strong policies;
both strategies honour it, so they can be compared like for like. A trusted record has no soft labels.

**Batching.** Solutions move in lock-step rounds: each round gathers the pending prefixes of every
active solution, topped up from the queue until it asks for ``rollouts_per_call`` completions, and
makes one grading call and one generate call per distinct number of samples asked (usually one).

**Seeds and resuming.** Prefix ``i`` of solution ``s`` has base seed ``stable_seed(seed, s.id, i)``
(sample ``j``: ``+ j``), so no label depends on the batch that computed it. Records are appended to
an ``AppendLog`` in input order, so after a kill the same command skips what is done and ends with the
file an uninterrupted run writes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from prmkit.annotate.io import solution_key
from prmkit.annotate.scale import ray_stream
from prmkit.config import moved_into, refuse_changed_settings, save_config
from prmkit.data.jsonl import AppendLog
from prmkit.data.prompts import DEFAULT_PROMPT, render_prompt
from prmkit.data.records import LabeledSolution, StepLabels
from prmkit.data.steps import StepStyle, join_steps, step_separator
from prmkit.errors import ConfigError, DataError
from prmkit.generation.base import EXECUTION_FIELDS as GENERATION_EXECUTION_FIELDS
from prmkit.generation.base import (
    GenerationBackend,
    GenerationConfig,
    SamplingConfig,
    load_backend,
    stable_seed,
    without_api_key,
)
from prmkit.grading import extract_answer, grade_batch_status, readable_gold, solution_prediction
from prmkit.progress import progress_bar
from prmkit.registry import Registry

# Fields that change how a run is executed, not which labels it produces (safe to change on resume).
EXECUTION_FIELDS = GENERATION_EXECUTION_FIELDS | {
    "ray", "ray_address", "ray_workers", "ray_chunk", "rollouts_per_call", "grade_workers",
}  # fmt: skip


MAX_STEPS = 256  # steps per solution; prefix prompts of a longer one would take quadratic memory


@dataclass
class MCConfig:
    """``prmkit annotate mc``: the completer backend, the rollouts and the search strategy."""

    RENAMED: ClassVar[dict[str, str]] = {
        **moved_into("generation", GenerationConfig),
        **moved_into("sampling", SamplingConfig),
    }

    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "the completer: the backend and model that roll out"}
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=8),
        metadata={"help": "the rollouts: sampling.n per step prefix (N; Math-Shepherd and Qwen use 8)"},
    )
    strategy: str = field(
        default="all",
        metadata={
            "help": "all: roll out every step (Math-Shepherd); first-error: binary search for the first bad prefix"
        },
    )
    prompt_template: str = field(
        default=DEFAULT_PROMPT,
        metadata={"help": "prompt format; {question} is replaced by the problem's question"},
    )
    step_style: StepStyle = field(
        default="paragraph", metadata={"help": "how steps are joined into the prefix text"}
    )
    trust_correct_answers: bool = field(
        default=False,
        metadata={"help": "label a solution with a correct final answer all-correct without rollouts "
                  "(not HE: hides right-answer, wrong-process solutions)"},
    )  # fmt: skip
    rollout_chunk: int = field(
        default=2,
        metadata={"help": "first-error: rollouts per prefix per round; a prefix stops at its first correct rollout, "
                  "where HE = 1 is certain (0: all sampling.n at once)"},
    )  # fmt: skip
    rollouts_per_call: int = field(
        default=256, metadata={"help": "completions asked per generate call (rounds are topped up to this)"}
    )
    grade_timeout: float = field(
        default=5.0, metadata={"help": "seconds per answer before grading gives up (wrong)"}
    )
    grade_workers: int = field(default=0, metadata={"help": "grading processes (0: one per CPU)"})
    ray: bool = field(
        default=False, metadata={"help": "spread solutions over a Ray cluster (pip install prmkit[ray])"}
    )
    ray_address: str = field(
        default="", metadata={"help": "Ray cluster address ('' : $RAY_ADDRESS or a local instance)"}
    )
    ray_workers: int = field(
        default=0,
        metadata={"help": "Ray tasks at once, each worker process keeping its backend (0: one per cluster CPU)"},
    )
    ray_chunk: int = field(default=32, metadata={"help": "solutions per Ray task"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self) -> None:
        if self.strategy not in MC_STRATEGIES:
            raise ConfigError(
                f"unknown strategy {self.strategy!r}; known: {', '.join(MC_STRATEGIES.names())}"
            )
        if self.sampling.seed is None:
            raise ConfigError("MC annotation needs sampling.seed: resuming relies on per-rollout seeds")
        if (
            self.rollouts_per_call < 1
            or self.ray_chunk < 1
            or self.grade_timeout <= 0
            or self.rollout_chunk < 0
        ):
            raise ConfigError(
                "rollouts_per_call and ray_chunk must be >= 1, rollout_chunk >= 0 and grade_timeout > 0"
            )

    @property
    def separator(self) -> str:
        return step_separator(self.step_style)


Request = tuple[int, int, int]  # (step, first sample, number of samples)


class Estimate:
    """The rollout state of one solution: which rollouts to draw next, and the labels at the end."""

    def __init__(
        self, num_steps: int, n: int, final_correct: bool | None, chunk: int = 0, trust_correct: bool = False
    ) -> None:
        self.num_steps, self.n, self.final_correct = num_steps, n, final_correct
        self.chunk = chunk or n
        self.trusted = bool(trust_correct and final_correct)
        self.correct: list[int] = [0] * num_steps
        self.drawn: list[int] = [0] * num_steps
        self.tokens = self.timeouts = 0

    def pending(self) -> list[Request]:
        """Rollouts to draw in the next round; empty when done."""
        raise NotImplementedError

    def hard(self) -> list[int]:
        raise NotImplementedError

    def record(self, step: int, correct: int, drawn: int, tokens: int = 0, timeouts: int = 0) -> None:
        self.correct[step] += correct
        self.drawn[step] += drawn
        self.tokens += tokens
        self.timeouts += timeouts

    @property
    def counts(self) -> list[int | None]:
        """Correct rollouts per step, None where none was drawn."""
        return [c if d else None for c, d in zip(self.correct, self.drawn)]

    @property
    def rollouts(self) -> int:
        return sum(self.drawn)

    def known_last(self) -> bool:
        return self.final_correct is not None

    def soft(self) -> list[float] | None:
        """SE per step when every step was measured: all ``n`` rollouts drawn, or the last step's own
        answer graded. None otherwise (a prefix the search stopped at its first correct rollout, or one
        a trusted answer spared, has no measured share, and a stand-in would read as certain)."""
        last = self.num_steps - 1
        soft: list[float] = []
        for i, (c, d) in enumerate(zip(self.correct, self.drawn)):
            if i == last and self.known_last():
                soft.append(float(bool(self.final_correct)))
            elif d == self.n:
                soft.append(c / self.n)
            else:
                return None
        return soft


MC_STRATEGIES: Registry[type[Estimate]] = Registry("MC strategy")


@MC_STRATEGIES.register("all")
class AllSteps(Estimate):
    """Every step rolled out ``n`` times in one round (the last one only when the solution has no answer)."""

    def pending(self) -> list[Request]:
        if self.trusted:
            return []
        last = self.num_steps - 1
        return [
            (i, 0, self.n)
            for i, d in enumerate(self.drawn)
            if not d and not (i == last and self.known_last())
        ]

    def hard(self) -> list[int]:
        return [int(c > 0) if d else int(bool(self.final_correct)) for c, d in zip(self.correct, self.drawn)]


@MC_STRATEGIES.register("first-error")
class FirstErrorSearch(Estimate):
    """Binary search for the first prefix with HE 0 below ``end`` (the last step when the solution
    states an answer, whose label is then known; else ``num_steps``): steps before ``lo`` reach the
    answer, ``hi`` does not, or is ``end`` with no failing prefix found. The middle prefix is rolled
    out ``chunk`` samples at a time until one is correct (HE 1 is then certain) or all ``n`` failed."""

    def __init__(
        self, num_steps: int, n: int, final_correct: bool | None, chunk: int = 0, trust_correct: bool = False
    ) -> None:
        super().__init__(num_steps, n, final_correct, chunk, trust_correct)
        self.end = num_steps - 1 if self.known_last() else num_steps
        self.lo = self.end if self.trusted else 0
        self.hi = self.end

    def pending(self) -> list[Request]:
        if self.lo >= self.hi:
            return []
        mid = (self.lo + self.hi) // 2
        return [(mid, self.drawn[mid], min(self.chunk, self.n - self.drawn[mid]))]

    def record(self, step: int, correct: int, drawn: int, tokens: int = 0, timeouts: int = 0) -> None:
        super().record(step, correct, drawn, tokens, timeouts)
        if self.correct[step] > 0:
            self.lo = step + 1
        elif self.drawn[step] >= self.n:
            self.hi = step

    def hard(self) -> list[int]:
        first = self.lo if self.lo < self.end or self.final_correct is False else self.num_steps
        hard = [1] * first + [0] * (self.num_steps - first)
        if self.known_last():
            hard[-1] = int(bool(self.final_correct))
        return hard


def prefix_text(pair: LabeledSolution, step: int, cfg: MCConfig) -> str:
    return join_steps(pair.solution.steps[: step + 1], cfg.step_style)


def stated_answer_correct(pairs: Sequence[LabeledSolution], cfg: MCConfig) -> list[bool | None]:
    """Whether each solution's own final answer is right (None when it states none)."""
    predictions = [solution_prediction(p.solution) for p in pairs]
    todo = [k for k, pred in enumerate(predictions) if pred is not None]
    statuses = grade_batch_status(
        [(predictions[k], pairs[k].problem.answer) for k in todo],
        cfg.grade_timeout,
        cfg.grade_workers or None,
    )
    out: list[bool | None] = [None] * len(pairs)
    for k, status in zip(todo, statuses):
        out[k] = status == "correct"
    return out


def roll_out(
    backend: GenerationBackend,
    cfg: MCConfig,
    pairs: Sequence[LabeledSolution],
    requests: list[tuple[int, Request]],
) -> list[tuple[int, int, int]]:
    """(correct rollouts, generated tokens, grading timeouts) for each (solution, (step, first, count)).

    Sample ``j`` of a prefix has seed ``base + j``, so drawing samples ``first .. first + count - 1``
    now gives what one call for all ``n`` would have; requests are grouped by ``count`` (one
    generate call per group, usually one).
    """
    out: list[tuple[int, int, int]] = [(0, 0, 0)] * len(requests)
    for count in sorted({req[2] for _, req in requests}):
        group = [r for r, (_, req) in enumerate(requests) if req[2] == count]
        prompts, seeds, prefixes = [], [], []
        for r in group:
            k, (step, first, _) = requests[r]
            prefixes.append(prefix_text(pairs[k], step, cfg) + cfg.separator)
            prompts.append(render_prompt(pairs[k].problem, cfg.prompt_template) + prefixes[-1])
            seeds.append(stable_seed(cfg.sampling.seed, pairs[k].solution.id, step) + first)
        results = backend.generate(prompts, **{**cfg.sampling.sampling_kwargs(), "n": count}, seed=seeds)
        graded = [
            (extract_answer(prefix + c.text), pairs[requests[r][0]].problem.answer)
            for r, prefix, completions in zip(group, prefixes, results)
            for c in completions
        ]
        statuses = grade_batch_status(graded, cfg.grade_timeout, cfg.grade_workers or None)
        for g, (r, completions) in enumerate(zip(group, results)):
            chunk = statuses[g * count : (g + 1) * count]
            out[r] = (chunk.count("correct"), sum(c.num_tokens for c in completions), chunk.count("timeout"))
    return out


def mc_record(pair: LabeledSolution, est: Estimate, cfg: MCConfig) -> LabeledSolution:
    hard = est.hard()
    meta: dict[str, Any] = {
        "strategy": cfg.strategy,
        "n": cfg.sampling.n,
        "counts": est.counts,
        "drawn": est.drawn,
        "rollouts": est.rollouts,
        "tokens": est.tokens,
        "timeouts": est.timeouts,
        "final_answer_correct": est.final_correct,
        "monotone": hard == sorted(hard, reverse=True),
    }
    labels = StepLabels(
        solution_id=pair.solution.id,
        num_steps=len(hard),
        first_error=hard.index(0) if 0 in hard else -1,
        hard=hard,
        soft=est.soft(),
        source="mc",
        metadata=meta,
    )
    return LabeledSolution(problem=pair.problem, solution=pair.solution, labels=labels)


def label_stream(
    cfg: MCConfig, backend: GenerationBackend, pairs: Sequence[LabeledSolution]
) -> Iterator[LabeledSolution]:
    """Label ``pairs`` in lock-step rounds; yield the records in input order."""
    finals = stated_answer_correct(pairs, cfg)
    strategy = MC_STRATEGIES.get(cfg.strategy)
    queue = deque(range(len(pairs)))
    active: dict[int, Estimate] = {}
    finished: dict[int, LabeledSolution] = {}
    next_out = 0
    while queue or active:
        rows = sum(req[2] for est in active.values() for req in est.pending())
        while queue and rows < cfg.rollouts_per_call:
            k = queue.popleft()
            active[k] = strategy(
                len(pairs[k].solution.steps), cfg.sampling.n, finals[k], cfg.rollout_chunk, cfg.trust_correct_answers
            )
            rows += sum(req[2] for req in active[k].pending())
        requests = [(k, req) for k, est in active.items() for req in est.pending()]
        if requests:
            for (k, (step, _, count)), (correct, tokens, timeouts) in zip(
                requests, roll_out(backend, cfg, pairs, requests)
            ):
                active[k].record(step, correct, count, tokens, timeouts)
        for k in [k for k, est in active.items() if not est.pending()]:
            finished[k] = mc_record(pairs[k], active.pop(k), cfg)
        while next_out in finished:
            yield finished.pop(next_out)
            next_out += 1


def _local_stream(cfg: MCConfig, pairs: Sequence[LabeledSolution]) -> Iterator[LabeledSolution]:
    with load_backend(cfg.generation) as backend:
        yield from label_stream(cfg, backend, pairs)


def annotate_mc(cfg: MCConfig, pairs: Sequence[LabeledSolution], output: str | Path) -> dict[str, Any]:
    """Append MC labels for the solutions of ``pairs`` not yet in ``output``; return a summary."""
    output = Path(output)
    readable: dict[str, bool] = {}
    for pair in pairs:  # every step prefix becomes a prompt: the cost grows with the square of the steps
        gold = pair.problem.answer
        if gold not in readable:
            readable[gold] = bool(gold.strip()) and readable_gold(gold)
        if not readable[gold]:
            what = "has no gold answer" if not gold.strip() else f"has a gold answer math-verify cannot read ({gold!r})"
            raise DataError(
                f"problem {pair.problem.id!r} {what}; MC annotation grades every rollout against it",
                field="answer",
            )
        if len(pair.solution.steps) > MAX_STEPS:
            raise DataError(
                f"solution {pair.solution.id!r} has {len(pair.solution.steps)} steps; MC annotation labels at most "
                f"{MAX_STEPS} (split it into fewer, larger steps)",
                field="steps",
            )
    config_path = output.with_suffix(".config.yaml")
    start = time.perf_counter()
    written = rollouts = 0
    with AppendLog(output, key=solution_key) as log:
        if log.done:
            refuse_changed_settings(cfg, config_path, EXECUTION_FIELDS)
        save_config(without_api_key(cfg), config_path)
        todo = [p for p in pairs if p.solution.id not in log]
        if todo:
            stream = ray_stream(label_stream, cfg, todo) if cfg.ray else _local_stream(cfg, todo)
            with progress_bar("MC rollouts", len(todo), cfg.progress) as advance:
                for record in stream:
                    log.append(record)
                    written += 1
                    rollouts += record.labels.metadata["rollouts"]  # type: ignore[union-attr]
                    advance(f"{rollouts / written:.1f} rollouts/solution")
    return {
        "written": written,
        "skipped": len(pairs) - len(todo),
        "rollouts": rollouts,
        "rollouts_per_solution": rollouts / written if written else 0.0,
        "seconds": time.perf_counter() - start,
    }
