"""Solutions with known truth for the annotation tests: correct ones and ones with one injected mistake."""

from __future__ import annotations

import random

from prmkit.annotate.mc import MCConfig
from prmkit.data.records import LabeledSolution, Solution
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.grading import extract_answer
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.mistakes import inject_mistake
from prmkit.synthetic.render import solution_steps, solution_text
from prmkit.synthetic.world import WorldConfig, make_problems

WORLD = WorldConfig(min_ops=2, max_ops=4, max_operand=99, max_factor=9, max_value=999)  # pinned: defaults move


def make_pairs(
    n: int, stream: str = "cases", mistake_rate: float = 0.5, seed: int = 0, kinds=("slip", "carry", "skip")
) -> list[LabeledSolution]:
    """One solution per problem: correct, or (with ``mistake_rate``) one injected mistake of ``kinds``."""
    rng = random.Random(seed)
    pairs = []
    for problem in make_problems(WORLD, n, stream):
        chain = Chain.from_problem(problem)
        steps = (
            inject_mistake(chain, rng, kinds).steps if rng.random() < mistake_rate else solution_steps(chain)
        )
        solution = Solution(
            id=f"{problem.id}-s0",
            problem_id=problem.id,
            steps=steps,
            final_answer=extract_answer(solution_text(steps)),
        )
        pairs.append(LabeledSolution(problem=problem, solution=solution))
    return pairs


def solver_mc(n: int = 8, model: str = "", seed: int | None = 0, **fields) -> MCConfig:
    """An MC config with the exact solver as completer (``slip_rate`` via ``model``), ``n`` rollouts per prefix."""
    fields.setdefault("progress", False)
    solver = GenerationConfig(backend="synthetic-solver", model=model)
    return MCConfig(solver, SamplingConfig(n=n, seed=seed), **fields)
