import re

import pytest

from prmkit.data.prompts import render_prompt
from prmkit.data.steps import split_steps
from prmkit.errors import ConfigError
from prmkit.grading import extract_answer
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import check
from prmkit.synthetic.render import solution_steps, solution_text
from prmkit.synthetic.world import WorldConfig, chain_key, is_held_out, make_problem, make_problems

WORLDS = [
    WorldConfig(),
    WorldConfig(max_ops=4, max_operand=99, max_value=999, max_factor=9),
    WorldConfig(min_ops=1, max_ops=6, max_operand=20, max_value=60, max_factor=5),
    WorldConfig(min_ops=3, max_ops=3, operators=["+", "-"], min_operand=5, max_operand=9, max_value=40),
    WorldConfig(operators=["-", "/"], max_factor=3),
    WorldConfig(max_operand=9, max_start=30, max_value=99, max_factor=5),
]


def test_deterministic_and_prefix_stable():
    cfg = WorldConfig()
    assert make_problems(cfg, 30, seed=3) == make_problems(cfg, 30, seed=3)
    assert make_problems(cfg, 30, seed=3)[10:20] == make_problems(cfg, 10, seed=3, start=10)
    assert make_problem(cfg, 3, 7) == make_problems(cfg, 30, seed=3)[7]
    assert [p.question for p in make_problems(cfg, 30, seed=3)] != [p.question for p in make_problems(cfg, 30, seed=4)]


def test_ids_and_fields():
    problems = make_problems(WorldConfig(), 5, seed=9)
    assert [p.id for p in problems] == [f"synth-9-{i}" for i in range(5)]
    assert all(p.source == "synthetic" for p in problems)


@pytest.mark.parametrize("cfg", WORLDS)
def test_knobs_hold(cfg):
    seen_ops = set()
    lengths = set()
    for problem in make_problems(cfg, 300, seed="knobs"):
        chain = Chain.from_problem(problem)
        values = chain.values
        lengths.add(len(chain.ops))
        assert cfg.min_ops <= len(chain.ops) <= cfg.max_ops
        assert cfg.min_operand <= chain.start <= (cfg.max_operand if cfg.max_start is None else cfg.max_start)
        assert all(1 <= v <= cfg.max_value for v in values)
        for (op, b), before in zip(chain.ops, values):
            seen_ops.add(op)
            assert op in cfg.operators
            if op in "+-":
                assert cfg.min_operand <= b <= cfg.max_operand
            else:
                assert 2 <= b <= cfg.max_factor
            if op == "/":
                assert before % b == 0
        assert problem.answer == str(values[-1])
    assert seen_ops == set(cfg.operators)
    assert lengths == set(range(cfg.min_ops, cfg.max_ops + 1))


@pytest.mark.parametrize("cfg", WORLDS)
def test_question_and_reference_solution(cfg):
    for problem in make_problems(cfg, 100, seed=1):
        chain = Chain.from_problem(problem)
        assert problem.question.endswith("have now?")
        numbers = [int(n) for n in re.findall(r"\d+", problem.question)]
        assert numbers == [chain.start, *(b for _, b in chain.ops)]
        text = solution_text(solution_steps(chain))
        assert render_prompt(problem) == problem.question + "\n\n"
        assert split_steps(text) == solution_steps(chain)
        assert extract_answer(text) == problem.answer
        assert check(problem, split_steps(text)).correct


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_ops": 3, "max_ops": 2}, "min_ops"),
        ({"operators": ["+", "%"]}, "operators"),
        ({"operators": ["*", "/"]}, r"need \+ or -"),
        ({"max_factor": 1}, "max_factor"),
        ({"max_operand": 50, "max_value": 40}, "max_value"),
        ({"max_start": 1}, "max_start"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WorldConfig(**kwargs)


def test_operators_are_normalised():
    assert WorldConfig(operators=["/", "+", "+"]).operators == ["+", "/"]


def test_held_out_streams_never_repeat_the_arithmetic_of_a_training_stream():
    world = WorldConfig()
    key = lambda p: chain_key(Chain.from_problem(p))
    trained = {key(p) for p in make_problems(world, 24_000, seed="train-0")}  # what a default policy sees
    held_out = make_problems(world, 200, seed="eval-0", split="held-out")
    assert sum(key(p) in trained for p in held_out) == 0
    assert len({key(p) for p in held_out}) > 150  # and the held-out split is not a handful of chains
    assert all(is_held_out(Chain.from_problem(p), world.held_out_share) for p in held_out)
    # Without the reserved share, streams told apart only by seed share most of their arithmetic.
    open_world = WorldConfig(held_out_share=0.0)
    trained = {key(p) for p in make_problems(open_world, 24_000, seed="train-0")}
    assert sum(key(p) in trained for p in make_problems(open_world, 200, seed="eval-0", split="held-out")) > 100
    with pytest.raises(ConfigError, match="unknown split 'test'"):
        make_problem(world, 0, 0, split="test")  # type: ignore[arg-type]
