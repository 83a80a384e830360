"""An LLM as a step critic, in the ProcessBench critique style (shared by evaluation and annotation).

The prompt lists the solution's steps as ``<paragraph_i>`` blocks indexed from 0 and asks for the
index of the earliest wrong paragraph, or -1, in ``\\boxed{}`` (ProcessBench's
``critique_template.txt``). ``parse_critique`` reads the last ``\\boxed{}`` of an answer; anything
else (no box, a non-integer, an index outside -1..n-1) is *unparsable* (None), never a silent -1.
With k samples per solution, ``prmkit.metrics.processbench.vote`` applies ProcessBench's majority rule to the boxed
answers: the most common wins, ties go to the answer given first, and a winner that is not a step
index is unparsable.

    prompt = critique_prompt(question, steps)
    index = parse_critique(completion_text, len(steps))   # int in -1..n-1, or None
    verdicts = critique(backend, [(question, steps)], samples=8)  # k answers each, parsed and voted
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prmkit.grading import last_boxed
from prmkit.metrics.processbench import Ballot, Prediction, vote

if TYPE_CHECKING:
    from prmkit.generation.base import GenerationBackend

CRITIQUE_TEMPLATE = (
    "The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed from 0):\n\n"
    "[Math Problem]\n\n{problem}\n\n[Solution]\n\n{tagged_response}\n\n"
    "Your task is to review and critique the solution paragraph by paragraph. Once you identify an error in a "
    "paragraph, return the index of the paragraph where the earliest error occurs. Otherwise, return the index "
    'of -1 (which typically denotes "not found").\n\n'
    "Please put your final answer (i.e., the index) in \\boxed{{}}."
)
_INDEX = re.compile(r"\s*(?:\\text\{\s*)?(-?\d+)(?:\s*\})?\s*\.?\s*")


def tagged_steps(steps: Sequence[str]) -> str:
    """``<paragraph_0>\\n...\\n</paragraph_0>`` blocks, one per step, separated by blank lines."""
    return "\n\n".join(f"<paragraph_{i}>\n{step}\n</paragraph_{i}>" for i, step in enumerate(steps))


def critique_prompt(problem: str, steps: Sequence[str], template: str = CRITIQUE_TEMPLATE) -> str:
    """The critic's user message for one solution."""
    return template.format(problem=problem, tagged_response=tagged_steps(steps))


def ballot(text: str) -> Ballot:
    """What one answer votes for: its boxed index, its other boxed text (stripped), or None (no box)."""
    boxed = last_boxed(text)
    if boxed is None:
        return None
    match = _INDEX.fullmatch(boxed)
    return int(match.group(1)) if match else boxed.strip()


def parse_critique(text: str, num_steps: int) -> Prediction:
    """The boxed index of the earliest wrong step (-1: none), or None when it is missing or invalid."""
    boxed = last_boxed(text)
    if boxed is None:
        return None
    match = _INDEX.fullmatch(boxed)
    if match is None:
        return None
    index = int(match.group(1))
    return index if -1 <= index < num_steps else None


@dataclass
class CriticVerdict:
    """k critic answers for one solution, what each parsed to, and their vote."""

    outputs: list[str]
    parsed: list[Prediction] = field(default_factory=list)
    prediction: Prediction = None

    @classmethod
    def from_outputs(cls, outputs: list[str], num_steps: int) -> CriticVerdict:
        parsed = [parse_critique(text, num_steps) for text in outputs]
        return cls(outputs=outputs, parsed=parsed, prediction=vote([ballot(t) for t in outputs], num_steps))

    @property
    def unparsable(self) -> int:
        return sum(p is None for p in self.parsed)


def critique(
    backend: GenerationBackend,
    items: Sequence[tuple[str, Sequence[str]]],
    samples: int = 1,
    max_new_tokens: int = 4096,
    temperature: float = 1.0,
    top_p: float = 0.9,
    seeds: Sequence[int | None] | int | None = None,
    stop: Sequence[str] | None = None,
) -> list[CriticVerdict]:
    """``samples`` critic answers for each (question, steps) item, parsed and voted."""
    results = backend.generate(
        [critique_prompt(question, steps) for question, steps in items],
        n=samples,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        seed=seeds,
    )
    return [
        CriticVerdict.from_outputs([c.text for c in completions], len(steps))
        for (_, steps), completions in zip(items, results)
    ]
