"""Bad answering habits: their rates in the training texts, and how the grader and checker see them."""

from __future__ import annotations

import math
import random

import pytest

from prmkit.data.steps import split_steps
from prmkit.grading import extract_answer, grade_batch, last_boxed
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import check
from prmkit.synthetic.habits import HabitsConfig, apply_habits, habit_stats, output_habits, stated_value
from prmkit.synthetic.render import solution_steps, solution_text
from prmkit.synthetic.world import WorldConfig, make_problems
from prmkit.train.policy import training_texts

WORLD = WorldConfig()


@pytest.fixture(scope="module")
def problems():
    return make_problems(WORLD, 2000, seed="habits")


def test_habits_appear_at_their_rates_in_the_training_texts(problems):
    cfg = HabitsConfig(no_answer=0.2, plain_answer=0.3, run_on=0.25)
    pairs = training_texts(problems, random.Random(0), 0.0, ["slip"], cfg)
    shown = [output_habits(p, text) for p, (_, text) in zip(problems, pairs)]
    n = len(problems)
    for habit, rate in [("no_answer", 0.2), ("plain_answer", 0.3), ("run_on", 0.25)]:
        share = sum(habit in s for s in shown) / n
        assert abs(share - rate) < 4 * math.sqrt(rate * (1 - rate) / n), (habit, share)  # 4 binomial sigmas
    assert not any("no_answer" in s and "plain_answer" in s for s in shown)  # the endings exclude each other
    both = sum("plain_answer" in s and "run_on" in s for s in shown) / n  # run_on is drawn independently
    assert abs(both - 0.3 * 0.25) < 4 * math.sqrt(0.075 * 0.925 / n)


def test_habits_off_leave_training_unchanged(problems):
    plain = training_texts(problems[:300], random.Random(1), 0.25, ["slip", "carry", "skip"])
    off = training_texts(problems[:300], random.Random(1), 0.25, ["slip", "carry", "skip"], HabitsConfig())
    assert off == plain  # no random number is drawn when every rate is 0


def test_habits_compose_with_injected_mistakes(problems):
    pairs = training_texts(
        problems[:400], random.Random(2), 1.0, ["slip", "carry", "skip"], HabitsConfig(plain_answer=1.0)
    )
    for p, (_, text) in zip(problems, pairs):
        last = split_steps(text)[-1]
        assert "\\boxed" not in text and last.endswith(".") and stated_value(last) is not None
        assert not check(p, split_steps(text)).correct  # the mistake is still there


def _habit_texts(problem, habit):
    steps, applied = apply_habits(
        problem, solution_steps(Chain.from_problem(problem)), random.Random(0), HabitsConfig(**{habit: 1.0})
    )
    assert applied == [habit]
    return solution_text(steps)


@pytest.mark.parametrize(
    "habit, graded_right, boxed, reason",
    [
        ("no_answer", False, False, ""),  # stops after its last computation: no final answer to grade
        ("plain_answer", False, False, "expected_answer"),  # "Mia has 17 pens." is no answer marker
        ("run_on", True, True, "expected_answer"),  # the redundant step is an error; the boxed answer stays
    ],
)
def test_grader_and_checker_read_each_habit_as_documented(problems, habit, graded_right, boxed, reason):
    sample = problems[:50]
    texts = [_habit_texts(p, habit) for p in sample]
    assert grade_batch([(extract_answer(t), p.answer) for p, t in zip(sample, texts)]) == [
        graded_right
    ] * len(sample)
    assert all(("\\boxed" in t) == boxed for t in texts)
    assert all(stated_value(t) == p.answer for p, t in zip(sample, texts))  # the arithmetic is right
    results = [check(p, split_steps(t)) for p, t in zip(sample, texts)]
    assert all(not r.correct and r.reason == reason for r in results)


def test_run_on_can_run_past_the_generation_budget(problems):
    from prmkit.synthetic.tokenizer import build_tokenizer
    from prmkit.train.policy import max_new_tokens

    tokenizer = build_tokenizer()
    budget = max_new_tokens(WORLD, tokenizer)
    cfg = HabitsConfig(run_on=1.0, run_on_steps=6)
    texts = [
        solution_text(apply_habits(p, solution_steps(Chain.from_problem(p)), random.Random(i), cfg)[0])
        for i, p in enumerate(problems[:300])
    ]
    cut = [tokenizer.decode(tokenizer(t, add_special_tokens=False)["input_ids"][:budget]) for t in texts]
    cut_off = [t != c for t, c in zip(texts, cut)]
    no_answer_line = [gone and "answer is" not in c for gone, c in zip(cut_off, cut)]
    assert 0 < sum(no_answer_line) and sum(cut_off) < len(texts)  # some run-ons no longer fit
    graded = grade_batch([(extract_answer(c), p.answer) for p, c in zip(problems, cut)])
    assert not any(g for g, lost in zip(graded, no_answer_line) if lost)  # those lose their answer
    assert all(g for g, gone in zip(graded, cut_off) if not gone)
    # cut inside the answer line ("The answer is \boxed{30"), the box is unclosed: no format, though
    # the grader's "the answer is" fallback still reads 30
    assert all(last_boxed(c) is None for c, gone in zip(cut, cut_off) if gone)


def test_habit_stats_on_hand_written_outputs(problems):
    p = problems[0]
    texts = [_habit_texts(p, h) for h in ("no_answer", "plain_answer", "run_on")] + [
        solution_text(solution_steps(Chain.from_problem(p)))
    ]
    stats = habit_stats([p] * 4, texts, [10, 20, 68, 30], budget=68)
    assert stats == {
        "accuracy": 0.5, "value_accuracy": 1.0, "boxed": 0.5, "truncated": 0.25,
        "no_answer": 0.25, "plain_answer": 0.25, "run_on": 0.25, "tokens": 32.0,
    }  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [{"no_answer": 1.5}, {"run_on": -0.1}, {"no_answer": 0.6, "plain_answer": 0.5}, {"run_on_steps": 0}],
)
def test_habits_config_refuses_bad_rates(kwargs):
    with pytest.raises(ValueError):
        HabitsConfig(**kwargs)
