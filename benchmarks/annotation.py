"""Monte Carlo annotation cost: the ``first-error`` binary search against labelling every step (``all``).

A tiny policy samples one solution per held-out problem of its world; both strategies label the same
solutions with the same completer (that policy, ``--n`` rollouts per prefix, the same per-rollout
seeds). They are compared like for like: both trusting correct final answers (all-correct with no
rollouts, ``trust_correct_answers``) or neither. For each temperature and setting the script prints
rollouts, generated tokens and wall time per labelled solution, how often the two strategies give the
same first-error label, and how often each matches the exact truth.

    OMP_NUM_THREADS=1 python benchmarks/annotation.py --policy DIR [--problems 100] [--n 8] \\
        [--temperatures 0.7 1.0]

Without ``--policy`` it first trains one (800 steps on a small world: several minutes). Timings on a
shared machine are noisy; rollout counts are exact.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from prmkit.annotate.mc import MCConfig, label_stream
from prmkit.data.prompts import render_prompt, solution_from_text
from prmkit.data.records import LabeledSolution
from prmkit.generation import load_backend
from prmkit.grading import grade_batch
from prmkit.synthetic.checker import check
from prmkit.synthetic.world import WorldConfig, load_world, make_problems
from prmkit.train.policy import PolicyTrainConfig, max_new_tokens, train_policy


def policy_dir(path: str | None) -> Path:
    if path:
        return Path(path)
    out = Path(tempfile.mkdtemp(prefix="bench-policy-"))
    cfg = PolicyTrainConfig(
        world=WorldConfig(max_operand=9, max_value=99, max_factor=5), steps=800, batch_size=32
    )
    train_policy(cfg, out)
    return out


def sample_solutions(cfg: MCConfig, backend, problems, temperature: float) -> list[LabeledSolution]:
    results = backend.generate(
        [render_prompt(p) for p in problems],
        n=1,
        max_new_tokens=cfg.max_new_tokens,
        temperature=temperature,
        seed=12345,
    )
    return [
        LabeledSolution(problem=p, solution=solution_from_text(p, r[0].text, f"{p.id}-s0"))
        for p, r in zip(problems, results)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", help="policy directory (from `prmkit train policy`); trained here if absent"
    )
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--n", type=int, default=8, help="rollouts per prefix")
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[0.7, 1.0],
        help="temperatures of the solutions and the rollouts, one comparison each",
    )
    parser.add_argument(
        "--chunks",
        type=int,
        nargs="+",
        default=[2, 1, 0],
        help="first-error rollout_chunk values to compare (0: all n at once, no early stop)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    model = policy_dir(args.policy)
    world = load_world(model)
    from transformers import AutoTokenizer

    tokens = max_new_tokens(world, AutoTokenizer.from_pretrained(model))
    grade_batch([("1", "1")])  # start the grading pool outside the timings
    for temperature in args.temperatures:
        common = {"backend": "transformers", "model": str(model), "n": args.n, "temperature": temperature,
                  "max_new_tokens": tokens, "batch_size": 64, "progress": False}  # fmt: skip
        backend = load_backend(MCConfig(**common))
        problems = make_problems(world, args.problems, "bench-annotation")
        pairs = sample_solutions(MCConfig(**common), backend, problems, temperature)
        for trust in (False, True):
            compare(pairs, backend, {**common, "trust_correct_answers": trust}, args.chunks)


def compare(pairs: list[LabeledSolution], backend, common: dict, chunks: list[int]) -> None:
    """Label ``pairs`` with ``all`` and with ``first-error`` at each chunk; print one table."""
    truth = [check(p.problem, p.solution.steps).first_error for p in pairs]
    runs = {}
    for name, extra in [
        ("all", {}),
        *((f"first-error/{c}", {"strategy": "first-error", "rollout_chunk": c}) for c in chunks),
    ]:
        start = time.perf_counter()
        records = list(label_stream(MCConfig(**common, **extra), backend, pairs))
        runs[name] = (records, time.perf_counter() - start)

    n = len(pairs)
    steps = sum(len(p.solution.steps) for p in pairs) / n
    full, t_full = runs["all"]
    wrong = sum(not r.labels.metadata["final_answer_correct"] for r in full)
    monotone = sum(r.labels.metadata["monotone"] for r in full)
    trust = "trusting correct answers" if common["trust_correct_answers"] else "no shortcut"
    print(f"\n== T={common['temperature']}, {trust}: {n} solutions ({steps:.1f} steps on average, {wrong} with a "
          f"wrong or missing final answer, {sum(t != -1 for t in truth)} with a wrong step); N = {common['n']} "
          f"rollouts per prefix; 'all' is monotone on {monotone}")  # fmt: skip
    print(f"{'strategy':<15} {'rollouts/sol':>12} {'tokens/sol':>11} {'seconds/sol':>12} {'= truth':>8} "
          f"{'= all':>7} {'fewer rollouts':>15} {'less time':>10}")  # fmt: skip
    for name, (records, seconds) in runs.items():
        rollouts = sum(r.labels.metadata["rollouts"] for r in records)
        tokens = sum(r.labels.metadata["tokens"] for r in records) / n
        exact = sum(r.labels.first_error == t for r, t in zip(records, truth)) / n
        agree = sum(a.labels.first_error == b.labels.first_error for a, b in zip(full, records)) / n
        ratio = sum(r.labels.metadata["rollouts"] for r in full) / max(rollouts, 1)
        print(f"{name:<15} {rollouts / n:>12.2f} {tokens:>11.1f} {seconds / n:>12.4f} {exact:>8.1%} {agree:>7.1%} "
              f"{ratio:>14.2f}x {t_full / seconds:>9.2f}x")  # fmt: skip
    print("target: first-error >= 3x fewer rollouts than all, its '= truth' no lower")


if __name__ == "__main__":
    main()
