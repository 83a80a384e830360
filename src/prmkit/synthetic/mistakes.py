"""Realistic mistakes injected into correct solutions, carried forward the way a model would.

Each kind is a function ``(chain, position, rng) -> steps | None`` registered in ``MISTAKES``: it puts
one error at step ``position`` (0-based), then continues the remaining operations correctly on the
wrong value and boxes the wrong final value. It returns None when the kind cannot be placed there
(e.g. a later exact division would break). Built-in kinds:

- ``slip``: an arithmetic slip, the result off by 1, 2 or 10, or one digit changed or two swapped;
- ``carry``: the right operation applied to a wrong carried value (a digit error or an older value);
- ``skip``: an operation left out (the next one is applied instead, or the answer comes early);
- ``operand``: a number or an operator copied from elsewhere in the problem (the start value or another
  operation's operand with the right operator, or another operation's operator with the right
  operand), computed correctly: the tiny policy's own commonest non-arithmetic error.

``DEFAULT_KINDS`` (what ``prmkit train policy`` injects) leaves ``operand`` out, so the policy's
confusions stay its own; the synthetic critic trains on every kind (``CRITIC_KINDS``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from prmkit.data.records import Problem
from prmkit.registry import Registry
from prmkit.synthetic.chain import Chain, apply
from prmkit.synthetic.render import answer_text, solution_steps, step_text

T = TypeVar("T")
MistakeFn = Callable[[Chain, int, random.Random], "list[str] | None"]
MISTAKES: Registry[MistakeFn] = Registry("mistake kind")
DEFAULT_KINDS: tuple[str, ...] = ("slip", "carry", "skip")
CRITIC_KINDS: tuple[str, ...] = (*DEFAULT_KINDS, "operand")


@dataclass(frozen=True)
class Mistake:
    steps: list[str]
    index: int  # 0-based index of the injected (first) wrong step
    kind: str


def near_misses(value: int) -> list[int]:
    """Plausible wrong versions of ``value`` (non-negative, never ``value`` itself), sorted."""
    out = {value + d for d in (-10, -2, -1, 1, 2, 10)}
    digits = str(value)
    for i, ch in enumerate(digits):
        out.update(int(digits[:i] + d + digits[i + 1 :]) for d in "0123456789" if d != ch)
        if i + 1 < len(digits):
            out.add(int(digits[:i] + digits[i + 1] + ch + digits[i + 2 :]))
    return sorted(v for v in out if v >= 0 and v != value and len(str(v)) <= len(digits) + 1)


def _continue(chain: Chain, steps: list[str], next_op: int, value: int) -> list[str] | None:
    """Append the operations from ``next_op`` on, applied to ``value``, and the answer step."""
    steps = list(steps)
    for op, b in chain.ops[next_op:]:
        try:
            result = apply(value, op, b)
        except ValueError:
            return None
        if result < 0:
            return None
        steps.append(step_text(len(steps) + 1, value, op, b, result))
        value = result
    return [*steps, answer_text(value)]


def _first_feasible(candidates: list[T], rng: random.Random, build: Callable[[T], list[str] | None]) -> list[str] | None:
    rng.shuffle(candidates)
    for candidate in candidates:
        steps = build(candidate)
        if steps is not None:
            return steps
    return None


@MISTAKES.register("slip")
def slip(chain: Chain, position: int, rng: random.Random) -> list[str] | None:
    values = chain.values
    op, b = chain.ops[position]
    prefix = solution_steps(chain)[:position]
    return _first_feasible(
        near_misses(values[position + 1]),
        rng,
        lambda wrong: _continue(chain, [*prefix, step_text(position + 1, values[position], op, b, wrong)], position + 1, wrong),
    )


@MISTAKES.register("carry")
def carry(chain: Chain, position: int, rng: random.Random) -> list[str] | None:
    values = chain.values
    op, b = chain.ops[position]
    prefix = solution_steps(chain)[:position]
    older = values[position - 1 : position] if position > 0 else []
    candidates = sorted(set(near_misses(values[position]) + older) - {values[position]})

    def build(wrong: int) -> list[str] | None:
        try:
            result = apply(wrong, op, b)
        except ValueError:
            return None
        if result < 0:
            return None
        return _continue(chain, [*prefix, step_text(position + 1, wrong, op, b, result)], position + 1, result)

    return _first_feasible(candidates, rng, build)


@MISTAKES.register("skip")
def skip(chain: Chain, position: int, rng: random.Random) -> list[str] | None:
    # Skipping an operation identical to the next one would look right here and fail only later.
    if position + 1 < len(chain.ops) and chain.ops[position + 1] == chain.ops[position]:
        return None
    return _continue(chain, solution_steps(chain)[:position], position + 1, chain.values[position])


@MISTAKES.register("operand")
def operand(chain: Chain, position: int, rng: random.Random) -> list[str] | None:
    values = chain.values
    op, b = chain.ops[position]
    prefix = solution_steps(chain)[:position]
    numbers = {chain.start} | {x for _, x in chain.ops}
    operators = {o for o, _ in chain.ops}
    swaps = sorted(({(op, x) for x in numbers} | {(o, b) for o in operators}) - {(op, b)})

    def build(swap: tuple[str, int]) -> list[str] | None:
        wrong_op, wrong_b = swap
        try:
            result = apply(values[position], wrong_op, wrong_b)
        except ValueError:
            return None
        if result < 0:
            return None
        step = step_text(position + 1, values[position], wrong_op, wrong_b, result)
        return _continue(chain, [*prefix, step], position + 1, result)

    return _first_feasible(swaps, rng, build)


def inject_mistake(problem: Problem | Chain, rng: random.Random, kinds: Sequence[str] = DEFAULT_KINDS) -> Mistake:
    """One mistake at a random (kind, step) among those that fit this chain."""
    chain = problem if isinstance(problem, Chain) else Chain.from_problem(problem)
    choices = [(kind, position) for kind in kinds for position in range(len(chain.ops))]
    rng.shuffle(choices)
    for kind, position in choices:
        steps = MISTAKES.get(kind)(chain, position, rng)
        if steps is not None:
            return Mistake(steps=steps, index=position, kind=kind)
    raise ValueError(f"no mistake of kinds {list(kinds)} fits {chain}")
