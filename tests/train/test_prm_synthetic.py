"""Slow: PRMs trained on the synthetic arithmetic world beat an untrained baseline against the truth.

The backbone is a tiny policy trained on the world (``prmkit.train.policy``), as Math-Shepherd starts
its PRM from the policy. Solutions are the world's correct solutions, half of them with one injected
mistake carried forward; truth labels come from the exact checker.

Until the MC annotation stage exists, MC labels are *simulated*: from a step before the first error,
each of 8 rollouts reaches the right answer with probability ``0.85 ** (steps left)``; from a wrong
step none does. Soft label = share of successful rollouts, hard label = any rollout succeeded
(threshold 0, as Qwen's "Lessons" recommend). Both are scored against the checker's truth.

Run with ``pytest -m slow tests/train/test_prm_synthetic.py -s`` to see the figures.
"""

from __future__ import annotations

import random

import pytest

from prmkit.data.records import LabeledSolution, Solution, StepLabels
from prmkit.metrics.steps import solution_step_metrics
from prmkit.score import load_prm
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import truth_labels
from prmkit.synthetic.mistakes import inject_mistake
from prmkit.synthetic.render import solution_steps
from prmkit.synthetic.world import WorldConfig, make_problems
from prmkit.train.policy import PolicyTrainConfig, train_policy
from prmkit.train.prm import init_prm, train_prm
from prmkit.train.prm_config import PRMTrainConfig

WORLD = WorldConfig(max_ops=3, max_operand=20, max_value=99, operators=["+", "-"])


def simulated_mc(
    truth: list[int], rng: random.Random, rollouts: int = 8, per_step: float = 0.85
) -> list[float]:
    """Share of ``rollouts`` that reach the right answer from each step (see the module docstring)."""
    n = len(truth)
    return [
        sum(rng.random() < per_step ** (n - 1 - k) for _ in range(rollouts)) / rollouts if ok else 0.0
        for k, ok in enumerate(truth)
    ]


def labelled_world(
    n: int, seed: str, mistake_rate: float = 0.5
) -> tuple[list[LabeledSolution], list[list[int]]]:
    rng = random.Random(seed)
    examples, truths = [], []
    for problem in make_problems(WORLD, n, seed=seed):
        steps = solution_steps(Chain.from_problem(problem))
        if rng.random() < mistake_rate:
            steps = inject_mistake(problem, rng).steps
        solution = Solution(id=f"{problem.id}/s", problem_id=problem.id, steps=steps)
        truth = truth_labels(problem, solution)
        soft = simulated_mc(truth.hard, rng)
        hard = [int(p > 0) for p in soft]
        labels = StepLabels(
            solution_id=solution.id, num_steps=len(steps), first_error=hard.index(0) if 0 in hard else -1,
            hard=hard, soft=soft, source="mc", metadata=truth.metadata,
        )  # fmt: skip
        examples.append(LabeledSolution(problem=problem, solution=solution, labels=labels))
        truths.append(truth.hard)
    return examples, truths


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a policy and two PRMs: many minutes on a shared 2-core machine
def test_trained_prms_beat_the_untrained_baseline(tmp_path):
    policy = train_policy(PolicyTrainConfig(world=WORLD, steps=600), tmp_path / "policy", progress=False)
    train, _ = labelled_world(5000, "prm-train")
    test, truth = labelled_world(400, "prm-test")

    def evaluate(folder) -> dict[str, float]:
        prm = load_prm(folder)
        return solution_step_metrics(prm.score([e.problem for e in test], [e.solution for e in test]), truth)

    def config(name: str, **kw) -> PRMTrainConfig:
        base = {
            "model": str(policy.output_dir),
            "output_dir": str(tmp_path / name),
            "batch_size": 16,
            "lr": 1e-4,
        }
        return PRMTrainConfig(**{**base, "max_steps": 1000, "eval_steps": 250, "save_steps": 10_000, **kw})

    results = {"untrained": evaluate(init_prm(config("untrained")).output_dir)}
    for labels in ("hard", "soft"):
        results[labels] = evaluate(train_prm(train, config(labels, labels=labels), test[:100]).output_dir)
    wrong = sum(1 - v for row in truth for v in row) / sum(len(row) for row in truth)
    print(
        f"\nheld-out steps: {results['hard']['steps']:.0f}, wrong: {wrong:.3f}, flag-all F1: {2 * wrong / (1 + wrong):.3f}"
    )
    for name, m in results.items():
        print(
            f"{name:9} "
            + " ".join(f"{k.removeprefix('step_')}={v:.3f}" for k, v in m.items() if k != "steps")
        )
    for labels in ("hard", "soft"):
        assert results[labels]["step_f1"] > results["untrained"]["step_f1"]
        assert results[labels]["step_auroc"] > results["untrained"]["step_auroc"]
