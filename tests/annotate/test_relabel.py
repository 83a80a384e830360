"""``prmkit annotate relabel`` on hand-worked MC values: two solutions of one problem, one right."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from prmkit.annotate.io import read_labeled
from prmkit.cli.annotate import register
from prmkit.cli.options import new_app
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels


def solution(i: int, steps: list[str], soft: list[float], correct: bool) -> LabeledSolution:
    problem = Problem(id="p", question="Ann has 3 pens and gets 4 more. How many?", answer="7")
    hard = [int(v > 0) for v in soft]
    labels = StepLabels(
        solution_id=f"s{i}", num_steps=len(steps), first_error=hard.index(0) if 0 in hard else -1, hard=hard,
        soft=soft, source="mc", metadata={"final_answer_correct": correct},
    )  # fmt: skip
    return LabeledSolution(problem=problem, solution=Solution(id=f"s{i}", problem_id="p", steps=steps), labels=labels)


@pytest.mark.parametrize(
    ("kind", "soft_right", "soft_wrong", "hard_wrong"),
    [
        # V_-1 = 1/2 (one of the two solutions is right).
        # progress: min(1, V_k / V_(k-1)); hard: >= 0.8.  0.75/0.5 -> 1, 1/0.75 -> 1; 0.25/0.5, 0/0.25.
        ("progress", [1.0, 1.0], [0.5, 0.0], [0, 0]),
        # advantage: (1 + V_k - V_(k-1)) / 2; hard: >= 0.  (1 + 0.25)/2 twice; (1 - 0.25)/2, (1 - 0.25)/2.
        ("advantage", [0.625, 0.625], [0.375, 0.375], [0, 0]),
    ],
)
def test_relabel_computes_the_kind_from_stored_values(tmp_path, kind, soft_right, soft_wrong, hard_wrong):
    source, output = tmp_path / "mc.jsonl", tmp_path / f"{kind}.jsonl"
    write_jsonl(source, [
        solution(0, ["3 + 4 = 7", "The answer is \\boxed{7}."], [0.75, 1.0], True),
        solution(1, ["3 + 4 = 8", "The answer is \\boxed{8}."], [0.25, 0.0], False),
    ])  # fmt: skip
    app = new_app("prmkit")
    register(app)
    result = CliRunner().invoke(app, ["annotate", "relabel", str(source), "--kind", kind, "--output", str(output)])
    assert result.exit_code == 0, result.output
    right, wrong = read_labeled(output)
    assert right.labels.soft == pytest.approx(soft_right) and right.labels.hard == [1, 1]
    assert right.labels.first_error == -1
    assert wrong.labels.soft == pytest.approx(soft_wrong) and wrong.labels.hard == hard_wrong
    assert wrong.labels.first_error == 0 and wrong.labels.metadata["mc_soft"] == [0.25, 0.0]
    assert wrong.labels.metadata["label_kind"] == kind

    bad = CliRunner().invoke(app, ["annotate", "relabel", str(source), "--kind", "value", "--output", str(output)])
    assert bad.exit_code == 2 and "advantage or progress" in bad.output
