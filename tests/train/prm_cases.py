"""Labelled toy data that PRM tests share."""

from __future__ import annotations

import random

from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.score import tiny


def rule_data(n: int, seed: str) -> list[LabeledSolution]:
    """Toy labels with a rule a tiny model learns in seconds: a subtraction step is "wrong".

    ``soft`` is 0.1 for those steps and 0.9 for the others, so a soft-trained PRM should predict
    about 0.1 and 0.9, and a hard-trained one (threshold 0.5) about 0 and 1. Every step carries its
    own label, with no error carried forward, so training keeps the steps after the first wrong one.
    """
    rng = random.Random(seed)
    out = []
    for i in range(n):
        question, steps = tiny.sample_problem(rng)
        soft = [0.1 if " - " in s else 0.9 for s in steps]
        hard = [int(p > 0.5) for p in soft]
        problem = Problem(id=f"{seed}-{i}", question=question, answer=steps[-1])
        solution = Solution(id=f"{seed}-{i}/s", problem_id=problem.id, steps=steps)
        labels = StepLabels(
            solution_id=solution.id, num_steps=len(steps), first_error=hard.index(0) if 0 in hard else -1,
            hard=hard, soft=soft, source="mc", metadata={"correct": 0 not in hard},
        )  # fmt: skip
        out.append(LabeledSolution(problem=problem, solution=solution, labels=labels))
    return out


def paired_rule_data(n: int, seed: str) -> list[LabeledSolution]:
    """``rule_data`` with two solutions per problem id, so the within-problem ranking AUROC is defined."""
    out = []
    for i, record in enumerate(rule_data(n, seed)):
        problem = record.problem.model_copy(update={"id": f"{seed}-{i // 2}"})
        solution = record.solution.model_copy(update={"problem_id": problem.id})
        out.append(record.model_copy(update={"problem": problem, "solution": solution}))
    return out
