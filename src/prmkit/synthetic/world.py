"""The arithmetic world: multi-step integer problems with difficulty knobs.

A problem starts from a value and applies a chain of operations ``(op, operand)``. Every intermediate
value stays a whole number in ``[1, max_value]`` (subtraction never reaches 0, division is exact). The
exact structure is stored in ``Problem.metadata`` so the checker never parses the question text.

**Splits.** The world is small: the default one has 49,765 chains, sampled unevenly, so the 24,000
problems a policy trains on hold 10,565 of them, and streams told apart by seed alone share their
arithmetic (140 of the first 200 problems of another stream repeat one of those 10,565). A fixed
share of the chains (``held_out_share``, picked by a hash of the start value and operations) is
therefore reserved: streams of split ``held-out`` draw only those, streams of split ``train`` never
do, so an evaluation never repeats a training problem's arithmetic in other words.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from prmkit.config import from_dict
from prmkit.data.records import Problem
from prmkit.errors import ConfigError
from prmkit.synthetic.chain import Chain, apply
from prmkit.synthetic.render import render_question

OPERATORS: tuple[str, ...] = ("+", "-", "*", "/")
SOURCE = "synthetic"
WORLD_FILE = "world.json"  # in a policy's folder: the world it was trained on
Split = Literal["train", "held-out"]
SPLITS: tuple[str, ...] = get_args(Split)


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
    held_out_share: float = field(
        default=0.2,
        metadata={
            "help": "share of the chains (start value and operations) reserved for held-out streams, "
            "which training streams never draw (0: none reserved, streams may share arithmetic)"
        },
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
        if not 0.0 <= self.held_out_share < 1.0:
            raise ValueError(f"held_out_share must lie in [0, 1), got {self.held_out_share}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def chain_key(chain: Chain) -> str:
    """A chain's content: its start value and operations, whatever the wording."""
    return json.dumps([chain.start, [list(op) for op in chain.ops]])


def is_held_out(chain: Chain, share: float) -> bool:
    """Whether ``chain`` is among the ``share`` of chains reserved for held-out streams (a fixed hash)."""
    digest = hashlib.blake2b(chain_key(chain).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


def make_problem(cfg: WorldConfig, seed: int | str, index: int, split: Split = "train") -> Problem:
    """Problem ``synth-{seed}-{index}`` of ``split`` (see the module docstring); it depends only on
    (cfg, seed, index, split), never on how many are made."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    rng = random.Random(f"prmkit-synthetic:{seed}:{index}")
    chain = sample_chain(cfg, rng)
    while cfg.held_out_share and is_held_out(chain, cfg.held_out_share) != (split == "held-out"):
        chain = sample_chain(cfg, rng)
    return Problem(
        id=f"synth-{seed}-{index}",
        question=render_question(chain, rng),
        answer=str(chain.answer),
        source=SOURCE,
        metadata=chain.to_metadata(),
    )


def make_problems(
    cfg: WorldConfig, n: int, seed: int | str = 0, start: int = 0, split: Split = "train"
) -> list[Problem]:
    """Problems ``start .. start + n - 1`` of the stream for ``seed`` in ``split``."""
    return [make_problem(cfg, seed, i, split) for i in range(start, start + n)]


def save_world(cfg: WorldConfig, model_dir: str | Path) -> None:
    """Record in a policy's folder the world it was trained on."""
    (Path(model_dir) / WORLD_FILE).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")


def load_world(model_dir: str | Path) -> WorldConfig:
    """The world a saved policy was trained on."""
    path = Path(model_dir) / WORLD_FILE
    if not path.exists():
        raise ConfigError(f"{path}: not found; is {model_dir} a policy trained by `prmkit train policy`?")
    return from_dict(WorldConfig, json.loads(path.read_text(encoding="utf-8")), str(path))
