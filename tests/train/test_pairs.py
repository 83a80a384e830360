"""Sibling-ranking supervision: pairs found by hand, the Bradley-Terry loss by hand, batches by problem."""

from __future__ import annotations

import math

import pytest
import torch

from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.score import tiny
from prmkit.train.pairs import ProblemGroupedSampler, pairwise_loss, prefix_keys, sibling_pairs
from prmkit.train.prm_config import PRMTrainConfig
from prmkit.train.prm_data import build_dataset, step_collator


def _row(problem: str, steps: list[str], values: list[float]) -> dict:
    return {"problem": problem, "keys": prefix_keys(steps), "values": values}


def test_sibling_pairs_by_hand():
    rows = [
        _row("p", ["a", "b", "c"], [0.5, 0.75, 1.0]),  # 0
        _row("p", ["a", "x", "y"], [0.5, 0.0, 0.0]),  # 1: parts from 0 at step 1, worse
        _row("p", ["z", "b"], [0.25, 0.5]),  # 2: parts from 0 and 1 at step 0
        _row("p", ["a", "b"], [0.5, 0.75]),  # 3: a prefix of 0: no step where they part
        _row("q", ["a", "x"], [0.5, 1.0]),  # 4: another problem
        _row("p", ["a", "w"], [0.5, 0.0]),  # 5: parts from 1 at step 1 with the same value: no pair
    ]
    pairs = sibling_pairs(rows)
    assert set(pairs) == {(0, 1, 1, 1), (0, 0, 2, 0), (1, 0, 2, 0), (0, 1, 5, 1), (3, 0, 2, 0), (3, 1, 1, 1),
                          (3, 1, 5, 1), (5, 0, 2, 0)}  # fmt: skip
    assert all(rows[b]["values"][k] > rows[w]["values"][j] for b, k, w, j in pairs)


def test_pairwise_loss_on_a_hand_built_pair():
    logits = torch.zeros(2, 3, 2)
    logits[0, 2] = torch.tensor([0.0, 2.0])  # better step: margin 2
    logits[1, 1] = torch.tensor([1.0, 0.5])  # worse step: margin -0.5
    pairs = torch.tensor([[0, 2, 1, 1]])
    assert pairwise_loss(logits, pairs).item() == pytest.approx(math.log1p(math.exp(-2.5)))
    swapped = torch.tensor([[1, 1, 0, 2]])
    assert pairwise_loss(logits, swapped).item() == pytest.approx(math.log1p(math.exp(2.5)))
    assert pairwise_loss(logits, torch.zeros(0, 4, dtype=torch.long)).item() == 0.0


def _solution(pid: str, sid: str, steps: list[str], soft: list[float]) -> LabeledSolution:
    hard = [int(v > 0) for v in soft]
    first = hard.index(0) if 0 in hard else -1
    return LabeledSolution(
        problem=Problem(id=pid, question=f"Question {pid}?", answer="5"),
        solution=Solution(id=sid, problem_id=pid, steps=steps),
        labels=StepLabels(
            solution_id=sid, num_steps=len(steps), first_error=first, hard=hard, soft=soft, source="mc"
        ),
    )


def test_the_collator_pairs_sibling_steps_at_their_step_ends():
    examples = [
        _solution("p", "s1", ["2 + 3 = 5", "5 * 2 = 10"], [0.75, 1.0]),
        _solution("p", "s2", ["2 + 3 = 5", "5 * 2 = 12"], [0.75, 0.0]),
        _solution("q", "s3", ["1 + 1 = 2"], [1.0]),
    ]
    tok = tiny.byte_level_tokenizer()
    data = build_dataset(examples, tok, PRMTrainConfig().step_format, "soft", siblings=True)
    batch = step_collator(tok.pad_token_id)([data[i] for i in range(len(data))])
    assert batch["pairs"].tolist() == [[0, data[0]["step_ends"][1], 1, data[1]["step_ends"][1]]]
    assert "pairs" not in step_collator(tok.pad_token_id)(
        [x for x in build_dataset(examples, tok, PRMTrainConfig().step_format)]
    )


def test_batches_keep_a_problem_together_in_a_seeded_order():
    sampler = ProblemGroupedSampler(["a", "b", "a", "c", "b"], seed=3)
    order = list(sampler)
    assert sorted(order) == [0, 1, 2, 3, 4]
    positions = {i: order.index(i) for i in range(5)}
    assert abs(positions[0] - positions[2]) == 1 and abs(positions[1] - positions[4]) == 1
    assert list(ProblemGroupedSampler(["a", "b", "a", "c", "b"], seed=3)) == order
    sampler.set_epoch(1)
    assert sorted(sampler) == [0, 1, 2, 3, 4]
