"""A problem's exact structure: a start value and the operations applied to it, stored in
``Problem.metadata`` so that the checker never parses the question text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prmkit.data.records import Problem


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
