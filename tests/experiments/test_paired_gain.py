"""The label-budget table's gains: per-problem ranking and best-of-all read as the tables read them,
and a paired bootstrap whose interval clears zero only when the gain does not hang on one problem."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[2] / "experiments" / "common.py"


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("experiments_common", COMMON)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(folder: Path, problems: list[list[tuple[bool, dict[str, list[float]]]]]) -> Path:
    """A best-of-N run's candidates.jsonl: per problem, (correct, step scores by verifier) per candidate."""
    (folder / "bon").mkdir(parents=True)
    lines = []
    for i, candidates in enumerate(problems):
        rows = [{"correct": ok, "scores": scores} for ok, scores in candidates]
        lines.append(json.dumps({"problem": {"id": f"p{i}"}, "candidates": rows}))
    (folder / "bon" / "candidates.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_solutions_are_read_by_their_least_step_and_an_orm_by_its_last(common, tmp_path):
    run = write_run(tmp_path / "run", [[
        (True, {"prm": [0.9, 0.8], "orm": [0.1, 0.2]}),
        (False, {"prm": [0.95, 0.3], "orm": [0.9, 0.6]}),
        (False, {"prm": [0.7, 0.85], "orm": [0.9, 0.1]}),
    ]])  # fmt: skip
    assert common.per_problem(run, "prm") == {"p0": (1.0, 1.0)}  # mins 0.8 > 0.3, 0.7
    # ORM by its last step: 0.2 beats 0.1 and loses to 0.6; the wrong one with 0.6 is picked
    assert common.per_problem(run, "orm") == {"p0": (0.5, 0.0)}


def test_ties_share_the_best_and_a_problem_with_one_kind_has_no_ranking(common, tmp_path):
    run = write_run(tmp_path / "run", [
        [(True, {"prm": [0.5]}), (False, {"prm": [0.5]})],
        [(True, {"prm": [0.2]}), (True, {"prm": [0.9]})],
    ])  # fmt: skip
    out = common.per_problem(run, "prm")
    assert out["p0"] == (0.5, 0.5)
    assert out["p1"][1] == 1.0 and out["p1"][0] != out["p1"][0]  # NaN


def test_a_gain_on_every_problem_clears_zero_and_one_on_a_single_problem_does_not(common, tmp_path):
    def problem(gain: bool) -> list[tuple[bool, dict[str, list[float]]]]:
        right, wrong = (0.9, 0.1) if gain else (0.4, 0.6)  # without the gain: the likelihood's own order
        return [(True, {"prm": [right], "likelihood": [0.4]}), (False, {"prm": [wrong], "likelihood": [0.6]})]

    everywhere = write_run(tmp_path / "all", [problem(True) for _ in range(30)])
    gain = common.paired_gain(everywhere, "prm", "likelihood")
    assert gain["ranking"] == (1.0, 1.0, 1.0) and gain["bon"] == (1.0, 1.0, 1.0)

    once = write_run(tmp_path / "once", [problem(i == 0) for i in range(30)])
    mean, low, high = common.paired_gain(once, "prm", "likelihood")["ranking"]
    assert mean == pytest.approx(1 / 30) and low == 0.0 and high > mean
    cell = common.gain_cell([once, tmp_path / "missing"], "prm", "likelihood", "bon", pct=True)
    assert cell.startswith("+3.3 [+3.3 (+0.0, +") and cell.count("(") == 1  # the missing seed is left out
