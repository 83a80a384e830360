"""``prmkit score``: step scores for every solution of a labelled file, one JSONL row each, with the step
F1 against the file's labels."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from prmkit.cli.main import full_app
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Solution
from prmkit.score import load_prm, tiny
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import truth_labels
from prmkit.synthetic.render import solution_steps
from prmkit.synthetic.world import WorldConfig, make_problems


def test_score_writes_one_row_per_solution_with_its_aggregation(tmp_path):
    prm = tiny.make_prmkit_prm(tmp_path / "prm")
    problems = make_problems(WorldConfig(), 6, seed=3)
    pairs = []
    for p in problems:
        solution = Solution(id=f"{p.id}/s", problem_id=p.id, steps=solution_steps(Chain.from_problem(p)))
        pairs.append(LabeledSolution(problem=p, solution=solution, labels=truth_labels(p, solution)))
    data, out = tmp_path / "labelled.jsonl", tmp_path / "scores.jsonl"
    write_jsonl(data, pairs)
    args = ["score", "--prm", str(prm), "--input", str(data), "--output", str(out), "--aggregation", "last"]
    result = CliRunner().invoke(full_app(), args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["solution_id"] for r in rows] == [p.solution.id for p in pairs]
    offline = load_prm(prm).score([p.problem for p in pairs], [p.solution for p in pairs])
    for row, want in zip(rows, offline):
        assert row["aggregation"] == "last" and row["score"] == row["step_scores"][-1]
        assert all(abs(a - b) < 1e-5 for a, b in zip(row["step_scores"], want, strict=True))
    assert "step_f1" in json.loads(result.output[result.output.index("{") :])
