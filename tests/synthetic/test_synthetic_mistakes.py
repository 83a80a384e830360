import random
from collections import Counter

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prmkit.synthetic.chain import Chain, apply
from prmkit.synthetic.checker import check, parse_answer, parse_computation
from prmkit.synthetic.mistakes import CRITIC_KINDS, DEFAULT_KINDS, MISTAKES, inject_mistake, near_misses
from prmkit.synthetic.world import WorldConfig, make_problem

WORLDS = [
    WorldConfig(),
    WorldConfig(min_ops=1, max_ops=6, max_operand=20, max_value=60, max_factor=5),
    WorldConfig(max_ops=4, max_operand=99, max_value=999, max_factor=9),
    WorldConfig(operators=["+", "-"], min_ops=4, max_ops=4),
    WorldConfig(operators=["-", "/", "*"], max_factor=3, max_value=200),
]


REASONS = {
    "slip": {"wrong_result"},
    "carry": {"wrong_carry"},
    "skip": {"wrong_operation", "premature_answer"},
    "operand": {"wrong_operation"},
}


def assert_carried_forward(steps: list[str], index: int) -> None:
    """From the wrong step on, each computation starts from the previous result and is done right, and
    the answer boxes the last result (as a model that believes its mistake would write)."""
    parsed = parse_computation(steps[index])
    if parsed is None:  # a skipped last operation: the wrong step is the (early) answer itself
        assert index == len(steps) - 1
        return
    value = parsed[3]
    for step in steps[index + 1 : -1]:
        a, op, b, c = parse_computation(step)
        assert (a, c) == (value, apply(a, op, b))
        value = c
    assert parse_answer(steps[-1]) == value


@settings(max_examples=400, deadline=None)
@given(
    world=st.sampled_from(WORLDS),
    seed=st.integers(0, 2**32 - 1),
    index=st.integers(0, 10_000),
    kind=st.sampled_from(CRITIC_KINDS),
)
def test_injected_error_is_the_first_error(world, seed, index, kind):
    problem = make_problem(world, seed, index)
    if kind == "operand":  # it needs another number or operator that keeps every value whole and >= 0
        chain = Chain.from_problem(problem)
        assume(any(MISTAKES.get(kind)(chain, i, random.Random(0)) for i in range(len(chain.ops))))
    mistake = inject_mistake(problem, random.Random(seed), kinds=[kind])
    result = check(problem, mistake.steps)
    assert result.first_error == mistake.index
    assert not result.correct
    assert mistake.kind == kind
    assert result.reason in REASONS[kind]
    assert_carried_forward(mistake.steps, mistake.index)


@settings(max_examples=300, deadline=None)
@given(world=st.sampled_from(WORLDS), seed=st.integers(0, 2**32 - 1), index=st.integers(0, 10_000))
def test_operand_copies_a_number_or_operator_of_the_problem(world, seed, index):
    chain = Chain.from_problem(make_problem(world, seed, index))
    numbers, operators = {chain.start} | {x for _, x in chain.ops}, {o for o, _ in chain.ops}
    for position in range(len(chain.ops)):
        steps = MISTAKES.get("operand")(chain, position, random.Random(seed))
        if steps is None:
            continue
        a, op, b, c = parse_computation(steps[position])
        true_op, true_b = chain.ops[position]
        assert a == chain.values[position] and c == apply(a, op, b)  # the right value, computed right
        assert (op, b) != (true_op, true_b)
        assert (op == true_op and b in numbers) or (b == true_b and op in operators)
        assert check(chain, steps).first_error == position


def test_operand_is_refused_when_the_problem_offers_nothing_else():
    assert MISTAKES.get("operand")(Chain(start=3, ops=(("+", 3),)), 0, random.Random(0)) is None
    # 4 - 4 would be fine, 4 * 4 too: both are copied from the problem
    steps = MISTAKES.get("operand")(Chain(start=4, ops=(("+", 4), ("*", 2))), 0, random.Random(0))
    assert steps is not None and steps[0] in {"Step 1: 4 + 2 = 6", "Step 1: 4 * 4 = 16"}


def test_kinds_and_positions_vary():
    world = WorldConfig(min_ops=4, max_ops=4)
    rng = random.Random(0)
    drawn = [inject_mistake(make_problem(world, 0, i), rng) for i in range(300)]
    assert set(Counter(m.kind for m in drawn)) == set(DEFAULT_KINDS)
    assert set(Counter(m.index for m in drawn)) == {0, 1, 2, 3}
    reasons = Counter(check(make_problem(world, 0, i), m.steps).reason for i, m in enumerate(drawn))
    assert {"wrong_result", "wrong_carry", "wrong_operation", "premature_answer"} <= set(reasons)


def test_skip_is_refused_when_it_would_look_right():
    chain = Chain(start=5, ops=(("+", 3), ("+", 3)))
    assert MISTAKES.get("skip")(chain, 0, random.Random(0)) is None
    assert MISTAKES.get("skip")(chain, 1, random.Random(0)) == ["Step 1: 5 + 3 = 8", "The answer is \\boxed{8}."]


def test_near_misses():
    assert 45 not in near_misses(45)
    assert {44, 46, 35, 55, 54, 43, 47} <= set(near_misses(45))
    assert all(v >= 0 for v in near_misses(1))
