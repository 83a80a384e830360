"""Consensus retention and the label-quality lab's numbers on five solutions with known truth, and
the CLI commands that wrap them (consensus, report, export)."""

from __future__ import annotations

import json
import random

import pytest
from annotate_cases import WORLD, solver_mc
from typer.testing import CliRunner

from prmkit.annotate.consensus import consensus
from prmkit.annotate.judge import judgement
from prmkit.annotate.mc import label_stream
from prmkit.annotate.report import label_quality, write_report
from prmkit.cli.main import app
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Solution
from prmkit.grading import extract_answer
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.mistakes import MISTAKES
from prmkit.synthetic.render import solution_steps, solution_text
from prmkit.synthetic.solver import SyntheticSolverBackend
from prmkit.synthetic.world import make_problems


def solution(problem, steps, name) -> LabeledSolution:
    sol = Solution(
        id=name, problem_id=problem.id, steps=steps, final_answer=extract_answer(solution_text(steps))
    )
    return LabeledSolution(problem=problem, solution=sol)


@pytest.fixture(scope="module")
def case():
    """A: correct (3 steps); B: slip at step 1 (4 steps); C: slip at step 0; D: slip at step 2 (4 steps);
    E: correct answer, then a trailing step (right answer, wrong process: first error 3)."""
    problems = make_problems(WORLD, 40, "quality")
    two = [p for p in problems if len(Chain.from_problem(p).ops) == 2]
    three = [p for p in problems if len(Chain.from_problem(p).ops) == 3]

    def slip(problem, position):
        return MISTAKES.get("slip")(Chain.from_problem(problem), position, random.Random(0))

    pairs = [
        solution(two[0], solution_steps(Chain.from_problem(two[0])), "A"),
        solution(three[0], slip(three[0], 1), "B"),
        solution(two[1], slip(two[1], 0), "C"),
        solution(three[1], slip(three[1], 2), "D"),
        solution(two[2], [*solution_steps(Chain.from_problem(two[2])), "Done."], "E"),
    ]
    mc = list(label_stream(solver_mc(n=2), SyntheticSolverBackend(), pairs))
    answers = {
        "A": "\\boxed{-1}",
        "B": "\\boxed{0}",
        "C": "I cannot tell.",
        "D": "\\boxed{2}",
        "E": "\\boxed{3}",
    }
    judge = [judgement(p, [answers[p.solution.id]], 1) for p in pairs]
    return pairs, mc, judge


def test_consensus_keeps_agreement_on_the_first_error(case):
    _, mc, judge = case
    assert [r.labels.first_error for r in mc] == [-1, 1, 0, 2, -1]  # MC misses E: its answer is right
    kept, stats = consensus(mc, judge[:4])  # E not judged
    assert [r.solution.id for r in kept] == ["A", "D"]
    assert stats == {"solutions": 5, "kept": 2, "retention": 0.4, "agree_error": 1, "agree_correct": 1,
                     "disagree": 1, "unparsable": 1, "not_judged": 1}  # fmt: skip
    for rec, src in zip(kept, (mc[0], mc[3])):
        assert (
            rec.labels.source == "consensus"
            and rec.labels.hard == src.labels.hard
            and rec.labels.soft == src.labels.soft
        )
        assert rec.labels.metadata["judge_votes"] == [rec.labels.first_error]


def test_label_quality_numbers_on_known_truth(case):
    _, mc, judge = case
    metrics = label_quality(mc, judge, thresholds=[0.0])
    m = metrics["data"]["methods"]
    assert list(m) == ["MC-HE", "MC-SE>0", "judge", "consensus"]
    he, jd, cons = m["MC-HE"], m["judge"], m["consensus"]
    # MC-HE: right on A-D, misses E's trailing step (tp 3, fn 1, no false alarms).
    assert (
        he["first_error_acc"] == 0.8 and he["rawp_flagged"] == 0.0 and he["rollouts"] == pytest.approx(26 / 5)
    )
    assert he["first"] == pytest.approx({"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "false_alarm": 0.0})
    # Judge: C unparsable; B flagged one step early (a false alarm on B's correct step 0).
    assert (jd["labelled"], jd["coverage"], jd["first_error_acc"], jd["rawp_flagged"]) == (4, 0.8, 0.75, 1.0)
    assert jd["first"] == pytest.approx({"precision": 0.75, "recall": 1.0, "f1": 6 / 7, "false_alarm": 1 / 9})
    assert jd["rollouts"] is None
    # Consensus keeps A and D (B and E disagree, C unparsable); it costs all rollouts over 2 kept.
    assert (cons["labelled"], cons["first_error_acc"], cons["rollouts"]) == (2, 1.0, pytest.approx(26 / 2))
    s = metrics["summary"]
    assert (s["solutions"], s["answer_correct"], s["process_correct"], s["right_answer_wrong_process"]) == (
        5,
        0.4,
        0.2,
        0.5,
    )
    assert s["consensus_retention"] == 0.4


def test_report_files_and_cli_commands(tmp_path, case):
    _, mc, judge = case
    write_jsonl(tmp_path / "mc.jsonl", mc)
    write_jsonl(tmp_path / "judge.jsonl", judge)
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", "consensus", "--mc", str(tmp_path / "mc.jsonl"), "--judge",
                                 str(tmp_path / "judge.jsonl"), "-o", str(tmp_path / "kept.jsonl")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "kept 2/5 solutions (retention 40.0%" in result.output
    (tmp_path / "report.yaml").write_text(
        f"mc: {tmp_path / 'mc.jsonl'}\njudge: {tmp_path / 'judge.jsonl'}\nthresholds: [0.0, 0.5]\n"
    )
    result = runner.invoke(
        app, ["annotate", "report", "--config", str(tmp_path / "report.yaml"), "-o", str(tmp_path / "lab")]
    )
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "lab").iterdir()}
    assert {
        "metrics.json",
        "report.md",
        "label_quality.png",
        "recall_vs_false_alarms.png",
        "first_error_positions.png",
    } <= names
    saved = json.loads((tmp_path / "lab" / "metrics.json").read_text())
    assert [row[0] for row in saved["tables"][0]["rows"]] == [
        "MC-HE",
        "MC-SE>0",
        "MC-SE>0.5",
        "judge",
        "consensus",
    ]
    assert "| MC-HE | 100.0 | 80.0 |" in (tmp_path / "lab" / "report.md").read_text()
    result = runner.invoke(
        app,
        [
            "annotate",
            "report",
            "--mc",
            str(tmp_path / "judge.jsonl"),
            "--judge",
            str(tmp_path / "judge.jsonl"),
            "-o",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2 and "needs hard and soft labels" in result.output
    assert write_report(label_quality(mc, judge), tmp_path / "noplots", plots=False)[-1].name == "report.md"


def test_consensus_keeps_only_what_the_agreed_first_error_implies(case):
    """MC under ``strategy all`` can call a step after the first error correct again; consensus does not."""
    _, mc, judge = case
    d = mc[3]
    relabelled = d.labels.model_copy(update={"hard": [1, 1, 0, 1], "soft": [1.0, 0.5, 0.0, 0.5]})
    (kept,), _ = consensus([d.model_copy(update={"labels": relabelled})], [judge[3]])
    assert kept.labels.first_error == 2
    assert kept.labels.hard == [1, 1, 0, 0] and kept.labels.soft == [1.0, 0.5, 0.0, 0.0]
