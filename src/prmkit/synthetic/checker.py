"""The exact step checker: the true first wrong step of any solution to a synthetic problem.

Rules. Let the problem apply operations ``o_1 .. o_n`` (``o_j = (op_j, b_j)``) to the start value
``v_0``, giving ``v_j = v_{j-1} op_j b_j``. Steps are read in order, with a cursor ``j`` (operations
done so far, initially 0). Each step is one of:

- a **computation step** ``Step k: a op b = c`` (whole numbers, operators ``+ - * /``, any spacing,
  an optional final period; the step number ``k`` is ignored);
- an **answer step**: any other step containing ``\\boxed{...}`` (its value is the last boxed content);
- anything else is **unparsable**.

While operations remain (``j < n``), step i is correct iff it is a computation step stating
``v_j op_{j+1} b_{j+1} = v_{j+1}``; for ``+`` and ``*`` the commuted ``b_{j+1} op v_j`` is accepted too.
A correct step advances the cursor. Once all operations are done (``j = n``), the next step is correct
iff it is an answer step whose boxed value equals ``v_n`` as a whole number. The first step that
breaks these rules is the first error, with one of these reasons:

- ``unparsable``: neither kind of step;
- ``wrong_operation``: another operator or operand than the next operation, e.g. a skipped operation;
- ``wrong_carry``: the right operator and operand applied to another value than the carried ``v_j``
  (when a step reads both ways, e.g. ``3 * 2`` for ``3 * 3`` with ``v_j = 3``, the written order wins);
- ``wrong_result``: the right operation on the right values with a wrong result (an arithmetic slip);
- ``premature_answer``: an answer step while operations remain (whatever it boxes);
- ``expected_answer``: a computation or unparsable step after all operations were done (an extra step);
- ``wrong_answer``: an answer step at the right place boxing another value;
- ``after_answer``: any step after a correct answer step (trailing extra text).

A solution with no wrong step has ``first_error == -1``; it is ``correct`` only if it also reached a
correct answer step. A solution that stops early (missing answer step, or operations left undone)
therefore has ``first_error == -1`` but ``correct == False``: every step it wrote was right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prmkit.data.answers import last_boxed
from prmkit.data.jsonl import read_records
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.errors import DataError
from prmkit.synthetic.chain import Chain, apply

_COMPUTATION = re.compile(r"Step\s*\d+\s*:\s*(\d+)\s*([-+*/])\s*(\d+)\s*=\s*(\d+)\s*\.?")
_INTEGER = re.compile(r"\s*(\d+)\s*")


@dataclass(frozen=True)
class CheckResult:
    """Outcome of checking one solution."""

    first_error: int  # 0-based index of the first wrong step, -1 when none
    num_steps: int
    correct: bool  # no wrong step and a correct answer step
    reason: str = ""  # why the first error is wrong (see the module docstring); "" when none

    @property
    def hard(self) -> list[int]:
        """Per-step truth: 1 before the first error, 0 from it on."""
        if self.first_error < 0:
            return [1] * self.num_steps
        return [1] * self.first_error + [0] * (self.num_steps - self.first_error)


def parse_computation(step: str) -> tuple[int, str, int, int] | None:
    """``(a, op, b, c)`` of a ``Step k: a op b = c`` step, or None."""
    m = _COMPUTATION.fullmatch(step.strip())
    return None if m is None else (int(m[1]), m[2], int(m[3]), int(m[4]))


def parse_answer(step: str) -> int | None | str:
    """The boxed whole number of an answer step, "" when the box holds something else, None if no box."""
    boxed = last_boxed(step)
    if boxed is None:
        return None
    m = _INTEGER.fullmatch(boxed)
    return int(m[1]) if m else ""


def _judge_computation(parsed: tuple[int, str, int, int], carried: int, op: str, b: int) -> str:
    """Why ``parsed`` is wrong as the step ``carried op b``; an empty string when it is right."""
    pa, pop, pb, pc = parsed
    if pop != op:
        return "wrong_operation"
    orders = [(pa, pb), (pb, pa)] if op in "+*" else [(pa, pb)]
    if (carried, b) in orders:
        return "" if pc == apply(carried, op, b) else "wrong_result"
    for first, second in orders:  # the written order first, then the commuted one
        if second == b:
            return "wrong_carry"
        if first == carried:
            return "wrong_operation"
    return "wrong_operation"


def check(problem: Problem | Chain, steps: list[str]) -> CheckResult:
    """Check ``steps`` against the problem's exact structure (see the module docstring for the rules)."""
    chain = problem if isinstance(problem, Chain) else Chain.from_problem(problem)
    values = chain.values
    done = 0
    answered = False
    for i, step in enumerate(steps):
        if answered:
            return CheckResult(i, len(steps), False, "after_answer")
        parsed = parse_computation(step)
        boxed = None if parsed is not None else parse_answer(step)
        if done < len(chain.ops):
            if parsed is None:
                return CheckResult(i, len(steps), False, "unparsable" if boxed is None else "premature_answer")
            op, b = chain.ops[done]
            reason = _judge_computation(parsed, values[done], op, b)
            if reason:
                return CheckResult(i, len(steps), False, reason)
            done += 1
        elif boxed is None:
            return CheckResult(i, len(steps), False, "expected_answer")
        elif boxed != chain.answer:
            return CheckResult(i, len(steps), False, "wrong_answer")
        else:
            answered = True
    return CheckResult(-1, len(steps), answered)


def first_error(problem: Problem | Chain, steps: list[str]) -> int:
    """0-based index of the true first wrong step, or -1 when no step is wrong."""
    return check(problem, steps).first_error


def truth_labels(problem: Problem, solution: Solution) -> StepLabels:
    """Exact hard labels for a solution (``source="truth"``); ``metadata`` holds ``correct`` (no wrong
    step and the right answer), ``final_answer_correct`` (the last step boxes the right answer, however
    it got there) and ``reason``."""
    result = check(problem, solution.steps)
    stated = parse_answer(solution.steps[-1]) if solution.steps else None
    return StepLabels(
        solution_id=solution.id,
        num_steps=result.num_steps,
        first_error=result.first_error,
        hard=result.hard,
        source="truth",
        metadata={
            "correct": result.correct,
            "final_answer_correct": stated == Chain.from_problem(problem).answer,
            "reason": result.reason,
        },
    )


def label_files(problems: Path, solutions: Path) -> list[LabeledSolution]:
    """Every solution of a Solution JSONL with its problem (from a Problem JSONL) and its exact labels."""
    by_id = {p.id: p for p in read_records(problems, Problem)}
    out = []
    for line, solution in enumerate(read_records(solutions, Solution), start=1):
        if solution.problem_id not in by_id:
            message = f"unknown problem {solution.problem_id!r} (not in {problems})"
            raise DataError(message, path=solutions, line=line, field="problem_id")
        problem = by_id[solution.problem_id]
        out.append(LabeledSolution(problem=problem, solution=solution, labels=truth_labels(problem, solution)))
    return out
