"""Where training prompts come from: a JSONL of Problems, or a fresh synthetic stream.

The synthetic stream ``rl-{seed}`` draws problems from the world the policy was trained on
(``world.json`` in the policy folder). Its ids (``synth-rl-{seed}-{i}``) differ from those of
``prmkit synthetic make`` (integer seeds, the eval sets) and of policy training (``train-{seed}``),
so RL never trains on an eval problem's id; equal arithmetic under another id can occur by chance,
as between any two draws from a small world.

Step ``s`` (1-based) takes problems ``(s - 1) * batch_size ..``: a resumed run sees the same prompts.
A JSONL source is cycled in a seeded random order, reshuffled each epoch.
"""

from __future__ import annotations

import random
from pathlib import Path

from prmkit.data.jsonl import read_records
from prmkit.data.records import Problem
from prmkit.errors import ConfigError
from prmkit.synthetic.world import WORLD_FILE, WorldConfig, load_world, make_problems


class ProblemSource:
    """Problems for each training step, reproducible from ``(source, seed, step)``."""

    def __init__(self, problems: str, policy: str, seed: int) -> None:
        self.seed = seed
        self.world: WorldConfig | None = None
        self.fixed: list[Problem] = []
        self._orders: dict[int, list[int]] = {}
        if problems:
            self.fixed = read_records(problems, Problem)
            if not self.fixed:
                raise ConfigError(f"{problems}: no problems")
        elif (Path(policy) / WORLD_FILE).is_file():
            self.world = load_world(policy)
        else:
            raise ConfigError(
                f"no training problems: give --problems FILE.jsonl, or a policy folder with {WORLD_FILE} "
                f"(from `prmkit train policy`) to draw synthetic ones; {policy} has none"
            )

    def batch(self, step: int, size: int) -> list[Problem]:
        """The ``size`` problems of training step ``step`` (1-based)."""
        start = (step - 1) * size
        if self.world is not None:
            return make_problems(self.world, size, seed=f"rl-{self.seed}", start=start)
        return [self._fixed(i) for i in range(start, start + size)]

    def _fixed(self, index: int) -> Problem:
        epoch, offset = divmod(index, len(self.fixed))
        if epoch not in self._orders:
            order = list(range(len(self.fixed)))
            random.Random(f"prmkit-rl:{self.seed}:{epoch}").shuffle(order)
            self._orders[epoch] = order
        return self.fixed[self._orders[epoch][offset]]
