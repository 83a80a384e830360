"""An exact solver that continues arithmetic-world prompts: an oracle completer for Monte Carlo tests.

``SyntheticSolverBackend`` (generation backend ``"synthetic-solver"``) reads the word problem in a
prompt (any text around it is ignored), then the solution steps written after it, and continues the
way a careful model would: it takes the last stated result as the current value, finds which
operation of the problem that step performed (the first later operation with the step's operator
and operand; an unknown step counts as the next operation), applies the remaining operations in
exact rational arithmetic and boxes the result. A prefix that already boxes an answer is continued
with nothing (the solution has ended).

So, with ``slip_rate = 0``, from a correct prefix it always reaches the gold answer, and from a
prefix with a wrong value (slip, wrong carry) or a skipped operation it never does: each operation
is injective over the rationals, so a wrong value or a missing operation stays wrong to the end.
With ``slip_rate > 0`` each written step is, with that probability, off by a plausible amount
(``prmkit.synthetic.mistakes.near_misses``), so from a correct prefix with ``r`` operations left the
chance of reaching the gold answer is ``(1 - slip_rate) ** r``.

Sample ``i`` of a prompt with base seed ``s`` draws its slips from ``random.Random(s + i)``, so
results follow the seed contract of ``prmkit.generation.base``. ``temperature`` and ``top_p`` are
ignored; ``max_new_tokens`` counts whitespace-separated words. Configure the slip rate with
``GenerationConfig(backend="synthetic-solver", model="slip_rate=0.1")`` (empty model: 0).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from fractions import Fraction

from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation.base import (
    BACKENDS,
    Completion,
    FinishReason,
    GenerationBackend,
    GenerationConfig,
    check_sampling,
    cut_at_stop,
    prompt_seeds,
    sample_seed,
)
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import parse_answer, parse_computation
from prmkit.synthetic.mistakes import near_misses
from prmkit.synthetic.render import ANSWER, CONNECTORS, STEP, TEMPLATES

_START = re.compile(r"([A-Z][a-z]+) has (\d+) ([a-z]+)\.")
_QUESTION = re.compile(r" How many ([a-z]+) does ([A-Z][a-z]+) have now\?")
_CONNECTOR = "(?:" + "|".join(re.escape(c) for c in CONNECTORS) + ") "


def _sentence(template: str) -> str:
    """A regex for one operation sentence: ``{p}`` is a pronoun and ``{b}`` the captured operand."""
    out = []
    for part in re.split(r"(\{p\}|\{b\})", template):
        out.append(r"(?:[Hh]e|[Ss]he)" if part == "{p}" else r"(\d+)" if part == "{b}" else re.escape(part))
    return "".join(out)


_OPERATIONS = [
    (op, re.compile(rf" (?:{_CONNECTOR})?{_sentence(t)}")) for op, ts in TEMPLATES.items() for t in ts
]


def parse_prompt(prompt: str) -> tuple[Chain, list[str]]:
    """The problem's chain and the steps written after the question, from a prompt."""
    start = _START.search(prompt)
    if start is None:
        raise PrmkitError(f"synthetic-solver: no arithmetic-world problem in the prompt {prompt[:80]!r}")
    pos, ops = start.end(), []
    while True:
        question = _QUESTION.match(prompt, pos)
        if question is not None:
            break
        for op, pattern in _OPERATIONS:
            m = pattern.match(prompt, pos)
            if m is not None:
                ops.append((op, int(m[1])))
                pos = m.end()
                break
        else:
            raise PrmkitError(
                f"synthetic-solver: cannot read the problem sentence at {prompt[pos : pos + 60]!r}"
            )
    steps = [s.strip() for s in re.split(r"\n[ \t]*\n", prompt[question.end() :]) if s.strip()]
    return Chain(start=int(start[2]), ops=tuple(ops)), steps


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _apply(value: Fraction, op: str, b: int) -> Fraction:
    return {"+": value + b, "-": value - b, "*": value * b, "/": value / b}[op]


def continue_steps(chain: Chain, steps: list[str], rng: random.Random, slip_rate: float = 0.0) -> list[str]:
    """The steps that finish a solution whose first steps are ``steps`` (empty when it already ended)."""
    cursor, value = 0, Fraction(chain.start)
    for step in steps:
        parsed = parse_computation(step)
        if parsed is None:
            if parse_answer(step) is not None:
                return []
            continue
        a, op, b, c = parsed
        # "a op b" may also be written "b op a" for + and *; the first later match is the operation done
        done = {(op, b), (op, a)} if op in "+*" else {(op, b)}
        match = next((k for k in range(cursor, len(chain.ops)) if chain.ops[k] in done), cursor)
        cursor = match + 1
        value = Fraction(c)
    out = []
    for op, b in chain.ops[cursor:]:
        result = _apply(value, op, b)
        if rng.random() < slip_rate and result.denominator == 1 and result >= 0:
            result = Fraction(rng.choice(near_misses(int(result))))
        out.append(STEP.format(k=len(steps) + len(out) + 1, a=_number(value), op=op, b=b, c=_number(result)))
        value = result
    return [*out, ANSWER.format(v=_number(value))]


def parse_slip_rate(spec: str) -> float:
    """``""`` -> 0, ``"slip_rate=0.1"`` (or just ``"0.1"``) -> 0.1."""
    text = spec.strip().removeprefix("slip_rate=")
    try:
        rate = float(text) if text else 0.0
    except ValueError:
        raise ConfigError(f"synthetic-solver: model must be 'slip_rate=<float>', got {spec!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"synthetic-solver: slip_rate must lie in [0, 1], got {rate}")
    return rate


@BACKENDS.register("synthetic-solver")
class SyntheticSolverBackend(GenerationBackend):
    """The exact completer described in the module docstring."""

    name = "synthetic-solver"

    def __init__(self, cfg: GenerationConfig | None = None, slip_rate: float | None = None) -> None:
        self.slip_rate = slip_rate if slip_rate is not None else parse_slip_rate(cfg.model if cfg else "")

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | Sequence[int | None] | None = None,
        progress: bool = False,
    ) -> list[list[Completion]]:
        check_sampling(prompts, n, max_new_tokens, temperature, top_p)
        seeds = prompt_seeds(seed, len(prompts))
        results = []
        for prompt, base in zip(prompts, seeds):
            chain, steps = parse_prompt(prompt)
            samples = []
            for i in range(n):
                rng = random.Random(sample_seed(base, i))
                text = "\n\n".join(continue_steps(chain, steps, rng, self.slip_rate))
                words = list(re.finditer(r"\S+", text))
                finish: FinishReason = "stop"
                if len(words) > max_new_tokens:
                    text, finish = text[: words[max_new_tokens - 1].end()], "length"
                text, stopped = cut_at_stop(text, list(stop or []))
                samples.append(
                    Completion(text, min(len(words), max_new_tokens), "stop" if stopped else finish)
                )
            results.append(samples)
        return results
