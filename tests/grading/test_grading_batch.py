"""grade_solutions: predictions from Solution records against Problem answers."""

from __future__ import annotations

import pytest

from prmkit.data.records import Problem, Solution
from prmkit.errors import DataError
from prmkit.grading import grade_solutions, solution_prediction

PROBLEMS = [
    Problem(id="half", question="Half of one?", answer="\\frac{1}{2}"),
    Problem(id="sum", question="1000 + 1125?", answer="2,125"),
]


@pytest.mark.parametrize(
    ("steps", "final_answer", "prediction"),
    [
        (["x", "The answer is 2125."], None, "2125"),  # extracted from the joined steps
        (["x", "The answer is 2125."], "7", "7"),  # final_answer wins over the steps
        (["x"], "so \\boxed{7}", "7"),  # the boxed part of final_answer
        (["x"], "  ", None),  # a blank final_answer falls back to the steps, which have none
        (["\\boxed{1}", "\\boxed{2}"], None, "2"),  # the last box across steps
    ],
)
def test_solution_prediction(steps: list[str], final_answer: str | None, prediction: str | None) -> None:
    solution = Solution(id="s", problem_id="sum", steps=steps, final_answer=final_answer)
    assert solution_prediction(solution) == prediction


def test_grade_solutions_in_order_with_status() -> None:
    solutions = [
        Solution(id="a", problem_id="sum", steps=["1000+1125=2125", "#### 2,125"]),
        Solution(id="b", problem_id="half", steps=["it is 0.5"], final_answer="0.5"),
        Solution(id="c", problem_id="half", steps=["no answer here"]),
        Solution(id="d", problem_id="sum", steps=["The answer is 2124."]),
    ]
    grades = grade_solutions(PROBLEMS, solutions, timeout=5.0)
    assert [(g.solution_id, g.problem_id, g.prediction, g.correct, g.status) for g in grades] == [
        ("a", "sum", "2125", True, "correct"),
        ("b", "half", "0.5", True, "correct"),
        ("c", "half", None, False, "wrong"),
        ("d", "sum", "2124", False, "wrong"),
    ]


def test_unknown_problem_id_is_a_data_error() -> None:
    with pytest.raises(DataError, match="problem_id.*'nope'"):
        grade_solutions(PROBLEMS, [Solution(id="a", problem_id="nope", steps=["1"])])
