"""The arithmetic world: multi-step integer problems with difficulty knobs.

A problem starts from a value and applies a chain of operations ``(op, operand)``. Every intermediate
value stays a whole number in ``[1, max_value]`` (subtraction never reaches 0, division is exact). The
exact structure is stored in ``Problem.metadata`` so the checker never parses the question text.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from prmkit.data.records import Problem

OPERATORS: tuple[str, ...] = ("+", "-", "*", "/")
SOURCE = "synthetic"


@dataclass
class WorldConfig:
    """Difficulty knobs of the arithmetic world.

    The defaults (2-3 operations on one-digit operands, values below 100) are tuned so that the default
    policy of ``prmkit train policy`` samples right answers about half of the time.
    """

    min_ops: int = field(default=2, metadata={"help": "fewest operations per problem"})
    max_ops: int = field(default=3, metadata={"help": "most operations per problem"})
    min_operand: int = field(default=2, metadata={"help": "smallest start value and + / - operand"})
    max_operand: int = field(default=9, metadata={"help": "largest + / - operand"})
    max_start: int | None = field(default=None, metadata={"help": "largest start value (default: max_operand)"})
    max_factor: int = field(default=5, metadata={"help": "largest * / / operand (the smallest is 2)"})
    max_value: int = field(default=99, metadata={"help": "largest intermediate value"})
    operators: list[str] = field(
        default_factory=lambda: list(OPERATORS), metadata={"help": "allowed operators among + - * /"}
    )

    def __post_init__(self) -> None:
        if not 1 <= self.min_ops <= self.max_ops:
            raise ValueError(f"need 1 <= min_ops <= max_ops, got {self.min_ops}, {self.max_ops}")
        if not 1 <= self.min_operand <= self.max_operand:
            raise ValueError(f"need 1 <= min_operand <= max_operand, got {self.min_operand}, {self.max_operand}")
        if self.max_start is not None and not self.min_operand <= self.max_start <= self.max_value:
            raise ValueError(f"need min_operand <= max_start <= max_value, got {self.max_start}")
        if self.max_factor < 2:
            raise ValueError(f"max_factor must be at least 2, got {self.max_factor}")
        if self.max_value < self.max_operand + self.min_operand:
            raise ValueError(
                f"max_value must be at least max_operand + min_operand ({self.max_operand + self.min_operand}), "
                f"got {self.max_value}"
            )
        bad = sorted(set(self.operators) - set(OPERATORS))
        if bad or not self.operators:
            raise ValueError(f"operators must be a non-empty subset of {' '.join(OPERATORS)}, got {self.operators}")
        if not {"+", "-"} & set(self.operators):
            raise ValueError("operators need + or - (with only * and / most values have no exact next step)")
        self.operators = [op for op in OPERATORS if op in self.operators]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chain:
    """The exact structure of a problem: a start value and the operations applied to it."""

    start: int
    ops: tuple[tuple[str, int], ...]

    @property
    def values(self) -> list[int]:
        """The start value followed by the value after each operation."""
        out = [self.start]
        for op, b in self.ops:
            out.append(apply(out[-1], op, b))
        return out

    @property
    def answer(self) -> int:
        return self.values[-1]

    def to_metadata(self) -> dict[str, Any]:
        return {"start": self.start, "ops": [[op, b] for op, b in self.ops]}

    @classmethod
    def from_problem(cls, problem: Problem) -> Chain:
        """Read the structure back from ``problem.metadata`` (as written by ``make_problem``)."""
        meta = problem.metadata
        if "start" not in meta or "ops" not in meta:
            raise ValueError(f"problem {problem.id!r} has no synthetic structure (metadata.start / metadata.ops)")
        return cls(start=int(meta["start"]), ops=tuple((str(op), int(b)) for op, b in meta["ops"]))


def apply(a: int, op: str, b: int) -> int:
    """``a op b`` for whole numbers; ``/`` must divide exactly."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0 or a % b:
            raise ValueError(f"{a} / {b} is not exact")
        return a // b
    raise ValueError(f"unknown operator {op!r}")


def _operand_choices(cfg: WorldConfig, value: int, op: str) -> range | list[int]:
    """Operands that keep the next value a whole number in [1, max_value]."""
    if op == "+":
        return range(cfg.min_operand, min(cfg.max_operand, cfg.max_value - value) + 1)
    if op == "-":
        return range(cfg.min_operand, min(cfg.max_operand, value - 1) + 1)
    if op == "*":
        return range(2, min(cfg.max_factor, cfg.max_value // value) + 1)
    return [b for b in range(2, cfg.max_factor + 1) if value % b == 0]


def sample_chain(cfg: WorldConfig, rng: random.Random, tries: int = 1000) -> Chain:
    """Draw a start value and operations: each step picks a feasible operator uniformly, then an operand.

    A chain that runs out of feasible operations is redrawn (at most ``tries`` times).
    """
    for _ in range(tries):
        value = rng.randint(cfg.min_operand, cfg.max_operand if cfg.max_start is None else cfg.max_start)
        start, ops = value, []
        for _ in range(rng.randint(cfg.min_ops, cfg.max_ops)):
            options = {op: _operand_choices(cfg, value, op) for op in cfg.operators}
            feasible = [op for op, choices in options.items() if len(choices)]
            if not feasible:
                break
            op = rng.choice(feasible)
            b = rng.choice(options[op])
            ops.append((op, b))
            value = apply(value, op, b)
        else:
            return Chain(start=start, ops=tuple(ops))
    raise ValueError(f"no feasible chain in {tries} tries; raise max_value or allow more operators ({cfg})")


def make_problem(cfg: WorldConfig, seed: int | str, index: int) -> Problem:
    """Problem ``synth-{seed}-{index}``; it depends only on (cfg, seed, index), never on how many are made."""
    from prmkit.synthetic.render import render_question

    rng = random.Random(f"prmkit-synthetic:{seed}:{index}")
    chain = sample_chain(cfg, rng)
    return Problem(
        id=f"synth-{seed}-{index}",
        question=render_question(chain, rng),
        answer=str(chain.answer),
        source=SOURCE,
        metadata=chain.to_metadata(),
    )


def make_problems(cfg: WorldConfig, n: int, seed: int | str = 0, start: int = 0) -> list[Problem]:
    """Problems ``start .. start + n - 1`` of the stream for ``seed``."""
    return [make_problem(cfg, seed, i) for i in range(start, start + n)]
