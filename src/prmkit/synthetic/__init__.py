"""The embedded arithmetic world: problems with exact structure, word-problem rendering, an exact
first-error checker, realistic injected mistakes, and a small tokenizer for a tiny policy."""

from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import CheckResult, check, first_error, truth_labels
from prmkit.synthetic.mistakes import MISTAKES, Mistake, inject_mistake
from prmkit.synthetic.render import solution_steps, solution_text
from prmkit.synthetic.world import WorldConfig, make_problem, make_problems

__all__ = [
    "MISTAKES",
    "Chain",
    "CheckResult",
    "Mistake",
    "WorldConfig",
    "check",
    "first_error",
    "inject_mistake",
    "make_problem",
    "make_problems",
    "solution_steps",
    "solution_text",
    "truth_labels",
]
