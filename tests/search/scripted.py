"""Test helper: a real ``GenerationBackend`` whose continuations come from a table, so search tests
control exactly which candidates exist (a random tiny model cannot write steps)."""

from __future__ import annotations

from collections.abc import Sequence

from prmkit.data.prompts import render_prompt
from prmkit.data.records import Problem
from prmkit.generation.base import Completion, GenerationBackend

QUESTION = "Mia has 3 pens. She buys 4 more. Then she gets 5 more. How many pens does Mia have now?"
# steps so far -> the candidate next steps (a step with \boxed{} ends a solution)
TREE: dict[tuple[str, ...], list[str]] = {
    (): ["Step 1: 3 + 4 = 7", "Step 1: 3 + 4 = 8", "Step 1: 3 * 4 = 12"],
    ("Step 1: 3 + 4 = 7",): ["Step 2: 7 + 5 = 12", "Step 2: 7 + 5 = 13"],
    ("Step 1: 3 + 4 = 8",): ["Step 2: 8 + 5 = 13", "The answer is \\boxed{8}."],
    ("Step 1: 3 * 4 = 12",): ["Step 2: 12 + 5 = 17"],
    ("Step 1: 3 + 4 = 7", "Step 2: 7 + 5 = 12"): ["The answer is \\boxed{12}.", "The answer is \\boxed{13}."],
    ("Step 1: 3 + 4 = 7", "Step 2: 7 + 5 = 13"): ["The answer is \\boxed{13}."],
    ("Step 1: 3 + 4 = 8", "Step 2: 8 + 5 = 13"): ["The answer is \\boxed{13}."],
    ("Step 1: 3 * 4 = 12", "Step 2: 12 + 5 = 17"): [
        "The answer is \\boxed{17}.",
        "The answer is \\boxed{12}.",
    ],
}


def leaves(tree: dict[tuple[str, ...], list[str]] = TREE) -> list[tuple[str, ...]]:
    """Every complete solution of the tree."""
    out = []
    for prefix, nexts in tree.items():
        out += [(*prefix, s) for s in nexts if "boxed" in s]
    return out


class ScriptedBackend(GenerationBackend):
    """Continues ``render_prompt(problem) + steps`` with the next steps of ``TREE`` (sample i takes
    candidate i modulo their number); without a stop string it writes a whole solution (leaf i)."""

    name = "scripted"

    def __init__(self, problem: Problem, tree: dict[tuple[str, ...], list[str]] = TREE) -> None:
        self.head = render_prompt(problem)
        self.tree = tree
        self.calls = 0

    def generate(self, prompts: Sequence[str], n: int = 1, max_new_tokens: int = 256, temperature: float = 1.0,
                 top_p: float = 1.0, stop: Sequence[str] | None = None, seed=None, progress: bool = False) -> list[list[Completion]]:  # fmt: skip
        self.calls += 1
        out = []
        for prompt in prompts:
            assert prompt.startswith(self.head)
            if not stop:
                texts = ["\n\n".join(leaf) for leaf in leaves(self.tree)]
            else:
                steps = tuple(s for s in prompt[len(self.head) :].split(stop[0]) if s)
                texts = self.tree.get(steps, [""])
            out.append([Completion(texts[i % len(texts)], 5, "stop") for i in range(n)])
        return out
