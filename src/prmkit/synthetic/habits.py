"""Bad answering habits for the synthetic policy: the Format-Length paper's setting in miniature.

Format-Length (Xin et al., 2025) explains its label-free gains by a capable base model with poor
answering habits. A policy trained on solutions with these habits computes as well as the normal one
but often fails the grader, which reads the final answer from ``\\boxed{}`` first
(``prmkit.grading.extract_answer``: last box, then ``####``, then "the answer is" / "answer:"):

- ``no_answer``: the answer step is dropped and the solution ends after its last computation. The
  grader finds no final answer (wrong); there is no box (format 0).
- ``plain_answer``: the answer step states the value in the question's own words, ``Mia has 17 pens.``,
  with no box and no answer phrase, so again no final answer (wrong) and format 0. (A phrase such as
  ``The answer is 17.`` would still be graded right by the phrase fallback, so it is not used.)
- ``run_on``: after its last computation the solution adds 1 to ``run_on_steps`` redundant steps
  that restate the result (``Step 4: 30 + 0 = 30``) before its ending. A boxed answer stays last, so a
  complete response is still right, but it is longer and can run past the generation budget
  (``max_new_tokens``, sized for 1.5 times the longest normal solution), which cuts the answer off
  (cut inside the answer line, ``The answer is \\boxed{30``, the box is unclosed: no format, though
  the grader's "the answer is" fallback still reads 30).
  (Restating the whole chain instead broke the carry pattern every step relies on, and the policy
  trained on it lost half its arithmetic accuracy.)

``no_answer`` and ``plain_answer`` replace the answer step and exclude each other; ``run_on`` is drawn
independently. With every rate at 0 (the default) no random number is drawn, so training is unchanged.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from prmkit.data.answers import last_boxed
from prmkit.data.records import Problem
from prmkit.data.steps import split_steps
from prmkit.grading import extract_answer, grade_batch
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import parse_computation
from prmkit.synthetic.render import QUESTION, START, step_text

HABITS: tuple[str, ...] = ("no_answer", "plain_answer", "run_on")
_QUESTION = re.compile(
    re.escape(QUESTION).replace(r"\{items\}", r"(?P<items>\w+)").replace(r"\{name\}", r"(?P<name>\w+)")
)
_PLAIN = re.compile(
    re.escape(START).replace(r"\{name\}", r"\w+").replace(r"\{a\}", r"\d+").replace(r"\{items\}", r"\w+")
)


@dataclass
class HabitsConfig:
    """How often training solutions show each bad answering habit (see ``prmkit.synthetic.habits``)."""

    no_answer: float = field(
        default=0.0, metadata={"help": "share of solutions that end without an answer step"}
    )
    plain_answer: float = field(
        default=0.0,
        metadata={"help": "share whose answer step states the value in words, unboxed ('Mia has 17 pens.')"},
    )
    run_on: float = field(
        default=0.0, metadata={"help": "share that add redundant steps restating the result"}
    )
    run_on_steps: int = field(
        default=3, metadata={"help": "most redundant steps a run-on solution adds (1 to this)"}
    )

    def __post_init__(self) -> None:
        for name in HABITS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"habits.{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.no_answer + self.plain_answer > 1.0:
            raise ValueError(
                f"habits.no_answer + habits.plain_answer must be at most 1, got {self.no_answer + self.plain_answer}"
            )
        if self.run_on_steps < 1:
            raise ValueError(f"habits.run_on_steps must be at least 1, got {self.run_on_steps}")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) > 0 for name in HABITS)


def plain_answer(problem: Problem, value: str) -> str:
    """``{name} has {value} {items}.`` with the name and items of the problem's question."""
    m = _QUESTION.search(problem.question)
    if m is None:
        raise ValueError(f"problem {problem.id!r}: not a synthetic question ({QUESTION!r} not found)")
    return START.format(name=m["name"], a=value, items=m["items"])


def redundant_steps(steps: list[str], count: int) -> list[str]:
    """``count`` steps restating the last computed value ``v`` as ``v + 0 = v``, numbered on."""
    last = next((c for c in map(parse_computation, reversed(steps)) if c is not None), None)
    if last is None:
        return []
    return [step_text(len(steps) + 1 + k, last[3], "+", 0, last[3]) for k in range(count)]


def apply_habits(
    problem: Problem, steps: list[str], rng: random.Random, cfg: HabitsConfig
) -> tuple[list[str], list[str]]:
    """``steps`` rewritten with habits drawn at ``cfg``'s rates, and the names of the habits applied.

    The answer step is the last step when it holds a box; a solution without one keeps its ending.
    """
    if not cfg.active:
        return steps, []
    body, ending = (steps[:-1], steps[-1]) if steps and last_boxed(steps[-1]) is not None else (steps, None)
    applied = []
    u = rng.random()
    if ending is not None and u < cfg.no_answer:
        ending, applied = None, ["no_answer"]
    elif ending is not None and u < cfg.no_answer + cfg.plain_answer:
        ending, applied = plain_answer(problem, str(last_boxed(ending))), ["plain_answer"]
    if rng.random() < cfg.run_on:
        body, applied = (
            [*body, *redundant_steps(body, rng.randint(1, cfg.run_on_steps))],
            [*applied, "run_on"],
        )
    return [*body, *([ending] if ending is not None else [])], applied


def stated_value(text: str) -> str | None:
    """The last whole number in ``text``: the value a response ends on, however it states it."""
    numbers = re.findall(r"\d+", text)
    return numbers[-1] if numbers else None


def output_habits(problem: Problem, text: str) -> list[str]:
    """The habits a generated solution shows: its ending (``no_answer``: no box and a computation
    last; ``plain_answer``: a ``Mia has 17 pens.`` line last) and ``run_on`` (more computation steps
    than the problem has operations)."""
    steps = split_steps(text)
    habits = []
    if steps and last_boxed(text) is None:
        if parse_computation(steps[-1]) is not None:
            habits.append("no_answer")
        elif _PLAIN.fullmatch(steps[-1]):
            habits.append("plain_answer")
    if sum(parse_computation(s) is not None for s in steps) > len(Chain.from_problem(problem).ops):
        habits.append("run_on")
    return habits


def habit_stats(
    problems: Sequence[Problem], texts: Sequence[str], num_tokens: Sequence[int], budget: int
) -> dict[str, float]:
    """Shares over generated solutions: ``accuracy`` (graded by ``prmkit.grading``, which needs a final
    answer marker), ``value_accuracy`` (the last number equals the gold answer, however it is stated:
    arithmetic alone), ``boxed`` (a last ``\\boxed{}`` is present), ``truncated`` (``budget`` tokens, no
    end), each habit of ``output_habits``; and ``tokens``, the mean length."""
    n = len(texts)
    graded = grade_batch([(extract_answer(t), p.answer) for p, t in zip(problems, texts)])
    shown = [output_habits(p, t) for p, t in zip(problems, texts)]
    return {
        "accuracy": sum(graded) / n,
        "value_accuracy": sum(stated_value(t) == p.answer for p, t in zip(problems, texts)) / n,
        "boxed": sum(last_boxed(t) is not None for t in texts) / n,
        "truncated": sum(k >= budget for k in num_tokens) / n,
        **{habit: sum(habit in h for h in shown) / n for habit in HABITS},
        "tokens": sum(num_tokens) / n,
    }
