"""The PRM loss (hard = cross-entropy, soft = binary cross-entropy, never cast to int) and the way
labelled solutions become step targets at the contract's step ends."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from prmkit.data.encoding import encode_steps
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.errors import DataError
from prmkit.grading.batch import final_correctness
from prmkit.metrics.steps import step_metrics
from prmkit.score import tiny
from prmkit.train.prm import step_loss
from prmkit.train.prm_config import PRMTrainConfig
from prmkit.train.prm_data import (
    IGNORE,
    build_dataset,
    split_by_problem,
    step_collator,
    step_targets,
)


def _example(pid: str, steps: list[str], answer: str = "5", **labels) -> LabeledSolution:
    problem = Problem(id=pid, question=f"Question {pid}: what is 2 + 3?", answer=answer)
    solution = Solution(id=f"{pid}/s", problem_id=pid, steps=steps)
    lab = StepLabels(solution_id=solution.id, num_steps=len(steps), **labels) if labels else None
    return LabeledSolution(problem=problem, solution=solution, labels=lab)


# --- loss --------------------------------------------------------------------------------------


def test_hard_loss_is_cross_entropy_and_soft_loss_is_bce_on_the_logit_difference():
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 2)
    labels = torch.full((3, 7), IGNORE)
    labels[0, 2], labels[1, 5], labels[2, 6] = 1.0, 0.0, 1.0
    mask = labels != IGNORE
    ce = F.cross_entropy(logits[mask], labels[mask].long())
    assert step_loss(logits, labels).item() == pytest.approx(ce.item(), rel=1e-6)

    soft = labels.clone()
    soft[0, 2], soft[1, 5], soft[2, 6] = 0.7, 0.125, 1.0
    diff = logits[..., 1] - logits[..., 0]
    bce = F.binary_cross_entropy_with_logits(diff[mask], soft[mask])
    assert step_loss(logits, soft).item() == pytest.approx(bce.item(), rel=1e-6)
    assert step_loss(logits, soft).item() != pytest.approx(step_loss(logits, soft.round()).item())


def test_soft_loss_is_smallest_at_the_soft_target():
    """A soft target of 0.7 pulls P(correct) to 0.7, not to 0 (TRL's int cast) or 1."""
    labels = torch.tensor([[0.7]])

    def loss_at(p: float) -> float:
        logit = torch.log(torch.tensor(p / (1 - p)))
        return step_loss(torch.stack([torch.zeros(()), logit]).reshape(1, 1, 2), labels).item()

    grid = [0.05 * k for k in range(1, 20)]
    assert min(grid, key=loss_at) == pytest.approx(0.7)


def test_loss_normalises_by_the_items_of_the_whole_accumulated_batch():
    logits = torch.randn(2, 4, 2)
    labels = torch.full((2, 4), IGNORE)
    labels[0, 1], labels[1, 3] = 1.0, 0.0
    mean = step_loss(logits, labels)
    assert step_loss(logits, labels, num_items_in_batch=torch.tensor(4)).item() == pytest.approx(
        mean.item() / 2
    )


# --- targets -----------------------------------------------------------------------------------


def test_hard_targets_prefer_hard_then_soft_then_first_error():
    hard = StepLabels(
        solution_id="s", num_steps=3, first_error=1, hard=[1, 0, 0], soft=[1.0, 0.5, 0.0], source="mc"
    )
    assert hard.hard_targets() == [1, 0, 0]
    assert hard.hard_targets(threshold=0.0) == [1, 1, 0]  # a given threshold always reads the soft labels
    assert hard.hard_targets(threshold=0.75) == [1, 0, 0]
    soft_only = StepLabels(solution_id="s", num_steps=3, first_error=2, soft=[0.5, 0.125, 0.0], source="mc")
    assert soft_only.hard_targets() == [1, 1, 0]  # threshold 0: correct if any rollout succeeded
    assert soft_only.hard_targets(threshold=0.25) == [1, 0, 0]
    judge = StepLabels(solution_id="s", num_steps=4, first_error=2, source="judge")
    assert judge.hard_targets() == [1, 1, 0, 0]


def test_steps_after_the_first_error_are_dropped_by_default():
    tok, fmt = tiny.byte_level_tokenizer(), PRMTrainConfig().step_format
    ex = _example("p", ["a", "b", "c"], first_error=1, hard=[1, 0, 1], soft=[0.5, 0.0, 0.25], source="mc")
    assert build_dataset([ex], tok, fmt)[0]["targets"] == [1.0, 0.0]
    assert build_dataset([ex], tok, fmt, drop_after_error=False)[0]["targets"] == [1.0, 0.0, 1.0]
    assert PRMTrainConfig().drop_after_error and PRMTrainConfig().hard_threshold is None


def test_step_targets_per_mode():
    ex = _example("p", ["a", "b", "c"], first_error=1, hard=[1, 0, 0], soft=[0.875, 0.25, 0.0], source="mc")
    assert step_targets(ex, "hard", "prm") == [1.0, 0.0, 0.0]
    assert step_targets(ex, "soft", "prm") == [0.875, 0.25, 0.0]
    assert step_targets(ex, "hard", "orm", correct=True) == [IGNORE, IGNORE, 1.0]
    no_soft = _example("q", ["a"], first_error=-1, hard=[1], source="human")
    with pytest.raises(DataError, match="no soft labels"):
        step_targets(no_soft, "soft", "prm")


def test_final_correctness_uses_recorded_truth_then_math_verify():
    recorded = _example(
        "a",
        ["x = 4", "The answer is \\boxed{4}."],
        first_error=-1,
        source="truth",
        metadata={"correct": False},
    )
    right = _example("b", ["2 + 3 = 5", "The answer is \\boxed{5}."], first_error=-1, source="human")
    wrong = _example("c", ["2 + 3 = 6", "The answer is \\boxed{6}."], first_error=0, source="human")
    assert final_correctness([recorded, right, wrong]) == [False, True, False]


def test_collated_targets_sit_exactly_at_step_ends():
    tok = tiny.byte_level_tokenizer()
    cfg = PRMTrainConfig()
    examples = [
        _example(
            "p1",
            ["Step 1: 2 + 3 = 5", "The answer is \\boxed{5}."],
            first_error=-1,
            hard=[1, 1],
            soft=[1.0, 0.75],
            source="mc",
        ),
        _example(
            "p2",
            ["Step 1: 2 + 3 = 6", "Step 2: 6 + 1 = 7", "x"],
            first_error=0,
            hard=[0, 0, 0],
            soft=[0.0, 0.0, 0.0],
            source="mc",
        ),
    ]
    data = build_dataset(examples, tok, cfg.step_format, labels="soft", drop_after_error=False)
    batch = step_collator(tok.pad_token_id)([data[0], data[1]])
    for row, ex in enumerate(examples):
        enc = encode_steps(tok, ex.problem.question, ex.solution.steps, cfg.step_format)
        labelled = (batch["labels"][row] != IGNORE).nonzero().flatten().tolist()
        assert labelled == enc.step_ends
        assert batch["labels"][row, enc.step_ends].tolist() == ex.labels.soft
    cut = build_dataset(examples, tok, cfg.step_format, labels="hard", drop_after_error=True)
    assert cut[1]["targets"] == [0.0] and len(cut[1]["step_ends"]) == 1
    orm = build_dataset(examples, tok, cfg.step_format, objective="orm")
    assert [x["targets"] for x in orm] == [[IGNORE, 1.0], [IGNORE, IGNORE, 0.0]]  # graded: 5 right, "x" wrong


def test_split_by_problem_keeps_a_problem_on_one_side():
    examples = [_example(f"p{i % 10}", ["a"], first_error=-1, source="truth") for i in range(40)]
    examples = [
        e.model_copy(update={"solution": e.solution.model_copy(update={"id": f"s{i}"})})
        for i, e in enumerate(examples)
    ]
    train, held = split_by_problem(examples, 0.2, seed=0)
    assert {e.problem.id for e in train}.isdisjoint({e.problem.id for e in held})
    assert len({e.problem.id for e in held}) == 2 and len(train) + len(held) == 40


def test_step_f1_treats_wrong_steps_as_positive():
    scores = [0.9, 0.2, 0.4, 0.8, float("nan")]
    truth = [1, 0, 1, 0, 0]
    m = step_metrics(scores, truth)
    # flagged: 0.2, 0.4, nan -> tp = 2 (0.2, nan), fp = 1 (0.4), fn = 1 (0.8)
    assert m["step_precision"] == pytest.approx(2 / 3) and m["step_recall"] == pytest.approx(2 / 3)
    assert m["step_f1"] == pytest.approx(2 / 3) and m["step_accuracy"] == pytest.approx(3 / 5)


def test_step_auroc_is_threshold_free():
    truth = [1, 1, 0, 0]
    assert step_metrics([0.9, 0.8, 0.1, 0.2], truth)["step_auroc"] == 1.0  # perfect ranking
    assert step_metrics([0.1, 0.2, 0.9, 0.8], truth)["step_auroc"] == 0.0
    assert step_metrics([0.5, 0.5, 0.5, 0.5], truth)["step_auroc"] == 0.5  # ties: knows nothing
    assert step_metrics([0.9, 0.3, 0.4, 0.1], truth)["step_auroc"] == pytest.approx(0.75)


def test_ranking_auroc_compares_solutions_of_one_problem_only():
    from prmkit.metrics.steps import ranking_auroc

    # p1: the right solution outscores both wrong ones; p2: the right one loses once, ties once.
    ids = ["p1", "p1", "p1", "p2", "p2", "p2", "p3"]
    correct = [True, False, False, True, False, False, True]
    scores = [0.9, 0.2, 0.5, 0.3, 0.6, 0.3, 0.0]  # p3 has no wrong solution: left out
    assert ranking_auroc(ids, correct, scores) == pytest.approx((1.0 + 0.25) / 2)
    # A verifier that only knows which problem is hard has step-level skill but ranks at chance.
    assert ranking_auroc(["a", "a", "b", "b"], [True, False, True, False], [0.9, 0.9, 0.1, 0.1]) == 0.5
    assert math.isnan(ranking_auroc(["a"], [True], [0.5]))


def test_label_kinds_on_hand_worked_rollout_counts():
    """Two solutions of one problem, 8 rollouts per prefix: one right (3 of 8, then 6 of 8, then its
    right answer), one wrong (5 of 8, then 0 of 8, then its wrong answer). The policy's pass rate on the
    problem, V_-1, is 1/2."""
    from prmkit.train.label_kinds import kind_targets, root_values

    right = _example("p", ["a", "b", "c"], first_error=-1, hard=[1, 1, 1], soft=[3 / 8, 6 / 8, 1.0],
                     source="mc", metadata={"final_answer_correct": True})  # fmt: skip
    wrong = _example("p", ["a", "d", "e"], first_error=1, hard=[1, 0, 0], soft=[5 / 8, 0.0, 0.0],
                     source="mc", metadata={"final_answer_correct": False})  # fmt: skip
    wrong = wrong.model_copy(update={"solution": wrong.solution.model_copy(update={"id": "p/s2"})})
    wrong = wrong.model_copy(update={"labels": wrong.labels.model_copy(update={"solution_id": "p/s2"})})
    roots = root_values([right, wrong], [True, False])
    assert roots == {"p": 0.5}
    # advantage A_k = V_k - V_(k-1): right 3/8-1/2, 6/8-3/8, 1-6/8; wrong 5/8-1/2, 0-5/8, 0-0
    assert kind_targets(right, 0.5, "advantage", "soft") == pytest.approx([(1 - 1 / 8) / 2, (1 + 3 / 8) / 2, (1 + 2 / 8) / 2])
    assert kind_targets(wrong, 0.5, "advantage", "soft") == pytest.approx([(1 + 1 / 8) / 2, (1 - 5 / 8) / 2, 0.5])
    assert kind_targets(right, 0.5, "advantage", "hard") == [0.0, 1.0, 1.0]  # the first step lost ground
    # relative progress R_k = V_k / V_(k-1): right 3/4, 2, 4/3; wrong 5/4, 0, (V_(k-1) = 0) 1
    assert kind_targets(right, 0.5, "progress", "hard") == [0.0, 1.0, 1.0]  # 0.75 < 0.8
    assert kind_targets(right, 0.5, "progress", "hard", tau=0.7) == [1.0, 1.0, 1.0]
    assert kind_targets(wrong, 0.5, "progress", "soft") == pytest.approx([1.0, 0.0, 1.0])
    tok = tiny.byte_level_tokenizer()
    data = build_dataset([right, wrong], tok, PRMTrainConfig().step_format, "hard", kind="progress")
    assert [x["targets"] for x in data] == [[0.0, 1.0, 1.0], [1.0, 0.0]]  # the wrong one cut after its error
    no_soft = _example("q", ["a"], first_error=-1, hard=[1], source="judge")
    with pytest.raises(DataError, match="no soft labels"):
        build_dataset([no_soft], tok, PRMTrainConfig().step_format, kind="advantage")


def test_mse_loss_fits_the_probability_itself():
    logits = torch.tensor([[[0.0, 2.0], [1.0, -1.0]]])
    labels = torch.tensor([[0.75, 0.25]])
    p = logits.softmax(-1)[0, :, 1]
    expected = ((p - labels[0]) ** 2).mean()
    assert step_loss(logits, labels, kind="mse").item() == pytest.approx(expected.item(), rel=1e-6)
    assert step_loss(logits, labels, kind="mse").item() != pytest.approx(step_loss(logits, labels).item())
