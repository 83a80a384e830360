"""Answer extraction and equivalence grading (math-verify), with hard timeouts in a process pool.

``extract_answer`` finds the final answer in a solution text; ``grade`` compares one pair in-process;
``grade_batch`` / ``grade_batch_status`` grade many pairs in a persistent process pool with a hard
per-item deadline; ``grade_solutions`` grades prmkit Solution records against their Problems.
"""

from prmkit.data.answers import extract_answer, last_boxed
from prmkit.grading.batch import (
    SolutionGrade,
    default_workers,
    grade_batch,
    grade_batch_status,
    grade_solutions,
    solution_prediction,
)
from prmkit.grading.compare import Status, as_answer, grade, grade_status, readable_gold
from prmkit.grading.pool import GradingJob, GradingPool, close_pools, shared_pool

__all__ = [
    "GradingJob",
    "GradingPool",
    "SolutionGrade",
    "Status",
    "as_answer",
    "close_pools",
    "default_workers",
    "extract_answer",
    "grade",
    "grade_batch",
    "grade_batch_status",
    "grade_solutions",
    "grade_status",
    "last_boxed",
    "readable_gold",
    "shared_pool",
    "solution_prediction",
]
