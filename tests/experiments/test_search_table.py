"""The exact-verifier baseline of the search table: the world's checker scores right steps 1 and every
step from the first wrong one 0, and beam search guided by it finds a right solution when one is
sampled."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from prmkit.data.jsonl import write_jsonl
from prmkit.generation.base import GenerationConfig, load_backend
from prmkit.search import SearchConfig, search
from prmkit.synthetic.world import WorldConfig, make_problems

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


@pytest.fixture(scope="module")
def table():
    sys.path.insert(0, str(EXPERIMENTS))  # search_table imports its sibling common.py
    try:
        spec = importlib.util.spec_from_file_location("search_table", EXPERIMENTS / "search_table.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXPERIMENTS))
    return module


def test_the_checker_scores_right_steps_one_and_zero_from_the_first_error(table, tmp_path):
    (problem,) = make_problems(WorldConfig(), 1, seed=2)
    write_jsonl(tmp_path / "p.jsonl", [problem])
    checker = table.CheckerPRM(tmp_path / "p.jsonl")
    start, ops = problem.metadata["start"], problem.metadata["ops"]
    op, b = ops[0]
    right = {"+": start + b, "-": start - b, "*": start * b, "/": start // b}[op]
    steps = [f"Step 1: {start} {op} {b} = {right}", f"Step 2: {right} + 1 = {right + 1}", "junk"]
    assert checker.score([problem.question] * 2, [steps[:1], steps]) == [[1.0], [1.0, 0.0, 0.0]]
    assert checker.score_counted([problem], [steps[:1]]).scores == [[1.0]]


def test_beam_search_guided_by_the_checker_answers_right_where_a_right_path_is_sampled(table, tmp_path):
    problems = make_problems(WorldConfig(), 6, seed=9)
    write_jsonl(tmp_path / "p.jsonl", problems)
    backend = load_backend(GenerationConfig(backend="synthetic-solver", model="slip_rate=0.3"))
    cfg = SearchConfig(method="beam", beam_width=4, expansions=4, keep_duplicates=True, incremental=False)
    results = search(problems, cfg, backend, table.CheckerPRM(tmp_path / "p.jsonl"))
    for problem, result in zip(problems, results):
        assert result.solution is not None and result.solution.final_answer == problem.answer
