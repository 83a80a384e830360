"""Batch grading with hard per-item timeouts, and grading of prmkit Solution records."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prmkit.data.answers import extract_answer
from prmkit.errors import DataError
from prmkit.grading.compare import Status, as_answer, trivial_status
from prmkit.grading.pool import shared_pool

if TYPE_CHECKING:  # importing prmkit.data pulls in torch, which grading workers must not pay for
    from prmkit.data.records import LabeledSolution, Problem, Solution

Progress = Callable[[int], None]


def default_workers() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def grade_batch_status(
    pairs: Iterable[tuple[str | None, str | None]],
    timeout: float = 5.0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[Status]:
    """One status per ``(prediction, gold)`` pair: ``correct``, ``wrong``, ``timeout`` or ``error``.

    Pairs are graded by ``grade_status`` in a shared pool of ``workers`` processes (default: the CPU
    count), started on first use and reused by later calls. An item that runs longer than ``timeout``
    seconds has its worker killed (SIGKILL) and counts as ``timeout``; the rest of the batch goes on.
    ``error`` means math-verify raised, or the worker died. Safe to call from several threads at once,
    and from Ray tasks or multiprocessing workers (grading workers are plain subprocesses).
    ``progress(done)`` is called in the caller's thread with the number of pairs finished so far.
    """
    pairs = list(pairs)
    statuses: list[Status | None] = [trivial_status(pred, gold) for pred, gold in pairs]
    todo = [i for i, status in enumerate(statuses) if status is None]
    job = shared_pool(workers or default_workers()).submit([pairs[i] for i in todo], timeout)  # type: ignore[misc]
    try:
        while not job.wait(0.2 if progress is not None else None):
            progress(len(pairs) - len(todo) + job.finished)  # type: ignore[misc]
    except BaseException:
        job.cancel()
        raise
    for i, status in zip(todo, job.result()):
        statuses[i] = status
    if progress is not None:
        progress(len(pairs))
    return statuses  # type: ignore[return-value]


def grade_batch(
    pairs: Iterable[tuple[str | None, str | None]], timeout: float = 5.0, workers: int | None = None
) -> list[bool]:
    """True per ``(prediction, gold)`` pair that is equivalent; timeouts and errors are False.

    See ``grade_batch_status`` for the process pool and the per-item status (to count timeouts).
    """
    return [status == "correct" for status in grade_batch_status(pairs, timeout, workers)]


@dataclass(frozen=True)
class SolutionGrade:
    """The grade of one Solution against its Problem's gold answer."""

    solution_id: str
    problem_id: str
    prediction: str | None
    correct: bool
    status: Status


def solution_prediction(solution: Solution) -> str | None:
    """``final_answer`` (its boxed/marked part if any), else the answer extracted from the steps."""
    if solution.final_answer is not None and solution.final_answer.strip():
        return as_answer(solution.final_answer)
    return extract_answer(solution.text)


def grade_solutions(
    problems: Iterable[Problem],
    solutions: Sequence[Solution],
    timeout: float = 5.0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[SolutionGrade]:
    """Grade each solution's prediction against ``Problem.answer``, in the order of ``solutions``.

    Raises DataError when a solution names a problem id that is not in ``problems``.
    """
    gold = {problem.id: problem.answer for problem in problems}
    for index, solution in enumerate(solutions, start=1):
        if solution.problem_id not in gold:
            raise DataError(f"unknown problem id {solution.problem_id!r}", line=index, field="problem_id")
    predictions = [solution_prediction(solution) for solution in solutions]
    pairs = [(pred, gold[sol.problem_id]) for pred, sol in zip(predictions, solutions)]
    statuses = grade_batch_status(pairs, timeout, workers, progress)
    return [
        SolutionGrade(sol.id, sol.problem_id, pred, status == "correct", status)
        for sol, pred, status in zip(solutions, predictions, statuses)
    ]


def known_correctness(example: LabeledSolution) -> bool | None:
    """Final-answer correctness recorded with the labels (synthetic truth, ProcessBench, MC), if any;
    ``correct`` is read only where no ``final_answer_correct`` is recorded (the synthetic truth's
    ``correct`` also needs a right process)."""
    meta = example.labels.metadata if example.labels is not None else {}
    for key in ("final_answer_correct", "correct"):
        if isinstance(meta.get(key), bool):
            return meta[key]
    return None


def final_correctness(examples: Sequence[LabeledSolution]) -> list[bool]:
    """Whether each solution's final answer matches its problem's gold answer.

    Recorded correctness is used where present; the rest is graded with math-verify in one batch.
    """
    known = [known_correctness(e) for e in examples]
    todo = [i for i, k in enumerate(known) if k is None]
    if todo:
        grades = grade_solutions([examples[i].problem for i in todo], [examples[i].solution for i in todo])
        for i, grade in zip(todo, grades):
            known[i] = grade.correct
    return [bool(k) for k in known]
