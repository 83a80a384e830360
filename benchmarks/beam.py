"""PRM cost of beam search: incremental step scoring (KV cache of the prefix) against rescoring the full
prefix for every new step.

Both runs do the same PRM-guided beam search (``prmkit.search``, method ``beam``) on the same
problems and must reach the same best scores (checked to 1e-5; exact ties may be broken differently). The script prints
PRM forward passes, tokens fed to the PRM, seconds spent scoring and total wall time.

Steps come from a policy: ``--policy DIR`` (a causal-LM folder, e.g. from ``prmkit train policy``), or
by default a step writer that continues arithmetic-world solutions (the next correct operation,
sometimes with an arithmetic slip), so long solutions cost no generation time and the comparison is
about the PRM. The PRM is ``--prm DIR``, or by default a random prmkit PRM built here (Llama, hidden
256, 4 layers; its scores are arbitrary, only its cost matters).

    OMP_NUM_THREADS=1 python benchmarks/beam.py [--problems 4] [--beam-width 4] [--expansions 4]
        [--min-ops 8] [--max-ops 10] [--prm DIR] [--policy DIR]

Timings on a shared machine are noisy; pass counts and token counts are exact.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from prmkit.data.prompts import render_prompt
from prmkit.data.records import Problem
from prmkit.data.steps import step_separator
from prmkit.generation.base import Completion, GenerationBackend
from prmkit.score import load_prm
from prmkit.search import SearchConfig, search
from prmkit.synthetic.chain import Chain, apply
from prmkit.synthetic.render import answer_text, step_text
from prmkit.synthetic.world import WorldConfig, make_problems

_RESULT = re.compile(r"=\s*(\d+)\s*$")


class StepWriter(GenerationBackend):
    """Continues a synthetic solution by one step: the next operation on the carried value, with an
    arithmetic slip in ``slip`` of the samples; after the last operation, the answer. Prompts hold the
    steps so far in the search's default step style (``paragraph``)."""

    name = "step-writer"

    def __init__(self, problems: Sequence[Problem], slip: float = 0.3) -> None:
        self.heads = {render_prompt(p): Chain.from_problem(p) for p in problems}
        self.slip = slip

    def generate(
        self,
        prompts,
        n=1,
        max_new_tokens=256,
        temperature=1.0,
        top_p=1.0,
        stop=None,
        seed=None,
        progress=False,
    ):
        seeds = seed if isinstance(seed, list) else [seed] * len(prompts)
        return [[self._step(p, random.Random(f"{s}:{i}")) for i in range(n)] for p, s in zip(prompts, seeds)]

    def _step(self, prompt: str, rng: random.Random) -> Completion:
        head = next(h for h in self.heads if prompt.startswith(h))
        chain, steps = self.heads[head], [s for s in prompt[len(head) :].split(step_separator()) if s]
        value = int(_RESULT.search(steps[-1]).group(1)) if steps else chain.start
        if len(steps) == len(chain.ops):
            return Completion(answer_text(value), 8, "stop")
        op, b = chain.ops[len(steps)]
        try:
            result = apply(value, op, b)
        except ValueError:  # a slipped value no longer divides exactly
            result = value // b
        if rng.random() < self.slip:
            result += rng.choice([-2, -1, 1, 2, 10])
        return Completion(step_text(len(steps) + 1, value, op, b, max(result, 0)), 10, "stop")


def build_prm(folder: Path) -> Path:
    from prmkit.score.tiny import make_prmkit_prm

    return make_prmkit_prm(folder, hidden=256, layers=4, heads=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--expansions", type=int, default=4)
    parser.add_argument("--min-ops", type=int, default=8)
    parser.add_argument("--max-ops", type=int, default=10)
    parser.add_argument("--prm", type=Path, default=None)
    parser.add_argument("--policy", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    world = WorldConfig(
        min_ops=args.min_ops, max_ops=args.max_ops, max_operand=20, max_value=999, operators=["+", "-"]
    )
    problems = make_problems(world, args.problems, seed="bench")
    with tempfile.TemporaryDirectory() as tmp:
        prm = load_prm(args.prm or build_prm(Path(tmp) / "prm"), device="cpu")
        if args.policy is not None:
            from prmkit.generation import GenerationConfig, load_backend

            backend = load_backend(GenerationConfig(model=str(args.policy), device="cpu"))
        else:
            backend = StepWriter(problems)
        sizes = {"beam_width": args.beam_width, "expansions": args.expansions, "max_depth": args.max_ops + 2}
        rows, chosen = [], {}
        for incremental in (True, False):
            began = time.perf_counter()
            results = search(
                problems,
                SearchConfig(method="beam", aggregation="min", incremental=incremental, **sizes),
                backend,
                prm,
            )
            wall = time.perf_counter() - began
            stats = results[0].stats
            rows.append(
                (
                    stats["scoring"],
                    stats["prm_forward_passes"],
                    stats["prm_tokens"],
                    stats["prm_seconds"],
                    wall,
                    stats["depth"],
                )
            )
            chosen[incremental] = results
    # Under "min" many candidates share their lowest (prefix) step, so their scores tie exactly up to
    # float rounding (~1e-8), and the two runs may break such ties differently: compare the scores.
    ties = 0
    for a, b in zip(chosen[True], chosen[False]):
        assert abs(a.score - b.score) < 1e-5, (a.score, b.score)
        ties += a.solution.steps != b.solution.steps
    steps = sum(len(r.solution.steps) for r in chosen[True]) / len(problems)
    print(f"beam search: {len(problems)} problems, beam width {args.beam_width}, {args.expansions} expansions, "
          f"{args.min_ops}-{args.max_ops} operations (chosen solutions: {steps:.1f} steps on average)")  # fmt: skip
    print(
        f"{'scoring':<12} {'forward passes':>15} {'PRM tokens':>11} {'PRM s':>8} {'wall s':>8} {'depth':>6}"
    )
    for mode, passes, tokens, prm_s, wall, depth in rows:
        print(f"{mode:<12} {passes:>15} {tokens:>11} {prm_s:>8.2f} {wall:>8.2f} {depth:>6}")
    inc, full = rows
    print(
        f"incremental / full-prefix: {inc[2] / full[2]:.3f}x tokens, {inc[3] / full[3]:.2f}x PRM time; chosen scores equal "
        f"to 1e-5 ({ties} of {len(problems)} problems chose another solution with a tied score)"
    )


if __name__ == "__main__":
    main()
