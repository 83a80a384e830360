"""How a problem becomes a generation prompt and a completion becomes a Solution."""

from __future__ import annotations

from typing import Any

from prmkit.data.records import Problem, Solution
from prmkit.data.steps import StepStyle, split_steps

DEFAULT_PROMPT = "{question}\n\n"
EMPTY_STEP = "(empty)"


def render_prompt(problem: Problem, template: str = DEFAULT_PROMPT) -> str:
    """The text a policy continues: by default the question followed by a blank line."""
    return template.format(question=problem.question)


def solution_from_text(
    problem: Problem,
    text: str,
    solution_id: str,
    style: StepStyle = "paragraph",
    generator: dict[str, Any] | None = None,
) -> Solution:
    """Split generated text into steps and extract its final answer.

    An empty completion becomes a single placeholder step so that it can still be graded (as wrong).
    """
    from prmkit.data.answers import extract_answer

    steps = split_steps(text, style) or [EMPTY_STEP]
    return Solution(
        id=solution_id,
        problem_id=problem.id,
        steps=steps,
        final_answer=extract_answer(text),
        generator=generator or {},
    )
