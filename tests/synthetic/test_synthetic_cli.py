import json

from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.jsonl import read_records, write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.render import solution_steps

runner = CliRunner()


def test_make_with_world_knobs(tmp_path):
    out = tmp_path / "problems.jsonl"
    args = ["synthetic", "make", "--count", "12", "--seed", "4", "--output", str(out), "--world.max-ops", "2"]
    result = runner.invoke(app, [*args, "--world.operators", "+", "--world.operators", "-"])
    assert result.exit_code == 0, result.output
    problems = read_records(out, Problem)
    assert [p.id for p in problems] == [f"synth-4-{i}" for i in range(12)]
    assert all(len(p.metadata["ops"]) <= 2 and {op for op, _ in p.metadata["ops"]} <= {"+", "-"} for p in problems)


def test_make_reads_yaml_and_rejects_bad_knobs(tmp_path):
    config = tmp_path / "world.yaml"
    config.write_text("count: 3\nworld:\n  min_ops: 5\n  max_ops: 5\n")
    out = tmp_path / "p.jsonl"
    result = runner.invoke(app, ["synthetic", "make", "--config", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [len(p.metadata["ops"]) for p in read_records(out, Problem)] == [5, 5, 5]
    bad = runner.invoke(app, ["synthetic", "make", "-o", str(out), "--world.operators", "%"])
    assert bad.exit_code == 2
    assert "operators" in bad.output


def test_check_writes_truth_labels(tmp_path):
    problems_path = tmp_path / "problems.jsonl"
    runner.invoke(app, ["synthetic", "make", "--count", "2", "-o", str(problems_path)])
    problem = read_records(problems_path, Problem)[0]
    good = solution_steps(Chain.from_problem(problem))
    bad = ["Step 1: 1 + 1 = 3", *good[1:]]
    solutions = [
        Solution(id="good", problem_id=problem.id, steps=good),
        Solution(id="bad", problem_id=problem.id, steps=bad),
    ]
    write_jsonl(tmp_path / "solutions.jsonl", solutions)
    labels_path = tmp_path / "labels.jsonl"
    result = runner.invoke(
        app, ["synthetic", "check", str(problems_path), str(tmp_path / "solutions.jsonl"), "-o", str(labels_path)]
    )
    assert result.exit_code == 0, result.output
    assert "1/2 correct" in result.output
    labels = read_records(labels_path, StepLabels)
    assert [(lab.solution_id, lab.first_error, lab.source) for lab in labels] == [("good", -1, "truth"), ("bad", 0, "truth")]

    labeled_path = tmp_path / "labeled.jsonl"  # PRM training data: problem, solution and truth per line
    args = [str(problems_path), str(tmp_path / "solutions.jsonl"), "-o", str(labeled_path), "--labeled"]
    assert runner.invoke(app, ["synthetic", "check", *args]).exit_code == 0
    labeled = read_records(labeled_path, LabeledSolution)
    assert [(r.problem.id, r.solution.steps, r.labels) for r in labeled] == [
        (problem.id, s.steps, lab) for s, lab in zip(solutions, labels)
    ]

    write_jsonl(tmp_path / "orphan.jsonl", [Solution(id="x", problem_id="nope", steps=["Step 1: 1 + 1 = 2"])])
    orphan = runner.invoke(app, ["synthetic", "check", str(problems_path), str(tmp_path / "orphan.jsonl")])
    assert orphan.exit_code == 2
    assert "orphan.jsonl:1" in orphan.output and "nope" in orphan.output


def test_train_policy_and_eval(tmp_path):
    out = tmp_path / "policy"
    args = ["train", "policy", "-o", str(out), "--steps", "3", "--batch-size", "4", "--warmup-steps", "1"]
    result = runner.invoke(app, [*args, "--hidden-size", "32", "--intermediate-size", "64", "--world.max-ops", "2"])
    assert result.exit_code == 0, result.output
    assert "saved to" in result.output
    assert json.loads((out / "world.json").read_text())["max_ops"] == 2
    assert (out / "generation_config.json").exists() and (out / "tokenizer.json").exists()

    result = runner.invoke(app, ["synthetic", "eval", str(out), "--count", "4", "--temperatures", "0", "--temperatures", "1"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output


def test_train_policy_requires_output():
    result = runner.invoke(app, ["train", "policy", "--steps", "3"])
    assert result.exit_code != 0
    assert "--output" in result.output
