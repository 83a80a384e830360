"""Word problems and step-by-step solutions for the arithmetic world.

Solutions use prmkit's default step style: steps separated by a blank line, one ``Step k: a op b = c``
per operation, then ``The answer is \\boxed{v}.`` (found by ``prmkit.grading.extract_answer``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from prmkit.data.steps import join_steps
from prmkit.synthetic.chain import Chain

NAMES: dict[str, str] = {
    "Mia": "she", "Ana": "she", "Lena": "she", "Zoe": "she", "Emma": "she", "Sara": "she",
    "Tom": "he", "Leo": "he", "Sam": "he", "Max": "he", "Ben": "he", "Omar": "he",
}  # fmt: skip
ITEMS: tuple[str, ...] = (
    "pens", "apples", "stamps", "cards", "coins", "marbles", "books", "shells", "stickers", "beads",
)  # fmt: skip
START = "{name} has {a} {items}."
TEMPLATES: dict[str, tuple[str, ...]] = {
    "+": ("{p} buys {b} more.", "{p} finds {b} more.", "{p} gets {b} more from a friend."),
    "-": ("{p} gives away {b}.", "{p} loses {b}.", "{p} sells {b} of them."),
    "*": ("{p} ends up with {b} times as many.", "{p} makes the pile {b} times as big."),
    "/": ("{p} splits them into {b} equal groups and keeps one.", "{p} keeps only one in every {b}."),
}
CONNECTORS: tuple[str, ...] = ("Then", "Next,")
QUESTION = "How many {items} does {name} have now?"
STEP = "Step {k}: {a} {op} {b} = {c}"
ANSWER = "The answer is \\boxed{{{v}}}."


def render_question(chain: Chain, rng: random.Random) -> str:
    """A short word problem for ``chain``: one sentence per operation, then the question."""
    name = rng.choice(sorted(NAMES))
    items = rng.choice(ITEMS)
    pronoun = NAMES[name]
    sentences = [START.format(name=name, a=chain.start, items=items)]
    for i, (op, b) in enumerate(chain.ops):
        template = rng.choice(TEMPLATES[op])
        if i == 0:
            sentences.append(template.format(p=pronoun.capitalize(), b=b))
        else:
            sentences.append(f"{rng.choice(CONNECTORS)} {template.format(p=pronoun, b=b)}")
    sentences.append(QUESTION.format(items=items, name=name))
    return " ".join(sentences)


def step_text(k: int, a: int, op: str, b: int, c: int) -> str:
    """Step ``k`` (1-based) stating ``a op b = c``."""
    return STEP.format(k=k, a=a, op=op, b=b, c=c)


def answer_text(value: int) -> str:
    return ANSWER.format(v=value)


def solution_steps(chain: Chain) -> list[str]:
    """The correct solution: one step per operation, then the answer step."""
    values = chain.values
    steps = [step_text(k + 1, values[k], op, b, values[k + 1]) for k, (op, b) in enumerate(chain.ops)]
    return [*steps, answer_text(chain.answer)]


def solution_text(steps: list[str]) -> str:
    return join_steps(steps)


def lexicon_texts() -> Iterator[str]:
    """Every phrase the world writes, with 1 for each number (to build a vocabulary that covers it)."""
    for name, items in itertools.product(NAMES, ITEMS):
        yield START.format(name=name, a=1, items=items)
        yield QUESTION.format(name=name, items=items)
    for pronoun, template in itertools.product(set(NAMES.values()), itertools.chain(*TEMPLATES.values())):
        yield template.format(p=pronoun, b=1)
        yield template.format(p=pronoun.capitalize(), b=1)
    yield from CONNECTORS
    for op in TEMPLATES:
        yield step_text(1, 1, op, 1, 1)
    yield answer_text(1)
    yield "0123456789\n\n"
