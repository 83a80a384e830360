"""Grading the quickstart's samples: answer correctness, and on the synthetic world the process truth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from prmkit.data.records import Problem


def grade_file(problems: list[Problem], path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one row per solution, summary) for the solutions in ``path``."""
    from prmkit.evaluate.candidates import has_truth
    from prmkit.grading import grade_solutions
    from prmkit.grading.files import read_solutions
    from prmkit.synthetic.checker import truth_labels

    by_id = {p.id: p for p in problems}
    solutions = read_solutions(path, problems)
    rows = []
    for solution, result in zip(solutions, grade_solutions(problems, solutions)):
        problem = by_id[solution.problem_id]
        truth = truth_labels(problem, solution).first_error if has_truth(problem) else None
        rows.append(
            {
                "solution_id": solution.id,
                "problem_id": solution.problem_id,
                "prediction": result.prediction,
                "correct": result.correct,
                "status": result.status,
                "first_error": truth,
            }
        )
    return rows, summarize(rows)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Answer accuracy, pass@n, and (with process truth) how often a right answer hides a wrong process."""
    by_problem: dict[str, list[bool]] = {}
    for row in rows:
        by_problem.setdefault(row["problem_id"], []).append(row["correct"])
    out: dict[str, Any] = {
        "solutions": len(rows),
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "pass_at_n": sum(any(v) for v in by_problem.values()) / len(by_problem),
        "timeouts": sum(r["status"] == "timeout" for r in rows),
    }
    if all(r["first_error"] is not None for r in rows):
        right = [r for r in rows if r["correct"]]
        out["process_correct"] = sum(r["first_error"] == -1 for r in rows) / len(rows)
        out["right_answer_wrong_process"] = sum(r["first_error"] != -1 for r in right) / max(len(right), 1)
        wrong = [r["first_error"] for r in rows if r["first_error"] != -1]
        out["first_error_histogram"] = dict(sorted(Counter(wrong).items()))
    return out
