"""Test helper: hand-built BoN candidate stores (what ``prmkit eval bon`` writes), without sampling."""

from __future__ import annotations

from prmkit.data.records import Problem, Solution, StepLabels
from prmkit.evaluate.candidates import Candidate, ProblemCandidates


def candidate(
    pid: str, k: int, correct: bool, cluster: int, scores: list[float], first_error: int | None = None
) -> Candidate:
    """A candidate with ``len(scores)`` steps; ``first_error`` (None: no truth) gives exact step truth."""
    sid = f"{pid}-s{k}"
    steps = [f"step {i}" for i in range(len(scores))]
    truth = (
        None
        if first_error is None
        else StepLabels.from_first_error(sid, len(steps), first_error, source="truth")
    )
    return Candidate(
        solution=Solution(id=sid, problem_id=pid, steps=steps),
        prediction=None if cluster < 0 else str(cluster), correct=correct, status="correct" if correct else "wrong",
        cluster=cluster, scores={"prm": scores, "orm": [0.0] * (len(scores) - 1) + [scores[0]]}, truth=truth,
    )  # fmt: skip


def store(rows: list[list[tuple]], greedy: list[bool] | None = None) -> list[ProblemCandidates]:
    """``rows[p]`` lists ``(correct, cluster, scores[, first_error])`` per candidate of problem p."""
    out = []
    for p, row in enumerate(rows):
        pid = f"q{p}"
        cands = [candidate(pid, k, *spec) for k, spec in enumerate(row)]
        g = None if greedy is None else candidate(pid, 99, greedy[p], -1, [0.5])
        out.append(
            ProblemCandidates(
                problem=Problem(id=pid, question=f"question {p}", answer="0"), candidates=cands, greedy=g
            )
        )
    return out
