"""`prmkit data validate|convert|formats` end to end through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.formats import load_dataset_records

runner = CliRunner()


def _run(*args):
    result = runner.invoke(app, ["data", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def test_validate_prints_each_error_then_a_summary(tmp_path):
    path = tmp_path / "r.jsonl"
    good = {"id": "p1", "question": "q", "answer": "1"}
    path.write_text(
        "\n".join([json.dumps(good), "{oops", json.dumps(good), json.dumps({"id": "p", "answer": "1"})])
        + "\n"
    )
    result = _run("validate", path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}:2: malformed JSON: Expecting property name enclosed in double quotes at column 2",
        f"{path}:3: field 'id': duplicate problem id 'p1' (first on line 1)",  # last-wins would hide line 1
        f"{path}:4: field 'question': missing",
        "4 records, 3 bad",
    ]


def test_validate_clean_file_and_external_format(tmp_path, data_dir):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps({"id": "p1", "question": "q", "answer": "1"}) + "\n")
    assert _run("validate", path).output.strip() == "1 records, 0 bad"
    result = _run("validate", data_dir / "processbench" / "gsm8k.json", "--format", "processbench")
    assert (result.exit_code, result.output.strip()) == (0, "400 records, 0 bad")


def test_validate_missing_file_and_unknown_format_exit_2(tmp_path):
    result = _run("validate", tmp_path / "nope.jsonl")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'nope.jsonl'}: file not found"
    result = _run("validate", tmp_path / "nope.jsonl", "--format", "csv")
    assert result.exit_code == 2 and "unknown dataset format 'csv'" in result.output


def test_convert_split_name_to_trl_stepwise(tmp_path):
    out = tmp_path / "pb.jsonl"
    result = _run("convert", "math", out, "--from", "processbench", "--to", "trl-stepwise", "--limit", "5")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.open()]
    assert len(rows) == 5 and set(rows[0]) == {"prompt", "completions", "labels"}
    assert all(isinstance(v, bool) for v in rows[0]["labels"])


def test_convert_chain_jsonl_math_shepherd_and_back(tmp_path, data_dir):
    ours, shepherd = tmp_path / "ours.jsonl", tmp_path / "ms.jsonl"
    source = data_dir / "math_shepherd_sample" / "samples_math-shepherd.jsonl"
    assert _run("convert", source, ours, "--from", "math-shepherd").exit_code == 0
    assert _run("validate", ours).exit_code == 0
    assert _run("convert", ours, shepherd, "--from", "jsonl", "--to", "math-shepherd").exit_code == 0
    assert [json.loads(line) for line in shepherd.open()] == [json.loads(line) for line in source.open()]
    labels = [r.labels.hard for r in load_dataset_records("math-shepherd", path=shepherd)]
    assert labels[0] == [1, 1, 1, 1, 0]


def test_convert_refuses_bad_requests_with_one_line(tmp_path):
    problems = _run("convert", "test", tmp_path / "x.jsonl", "--from", "gsm8k", "--to", "trl-stepwise")
    assert problems.exit_code == 2
    assert (
        problems.output.strip()
        == "error: <input>: record 0 is a Problem; trl-stepwise needs labelled solutions (LabeledSolution with labels)"
    )
    read_only = _run("convert", "test", tmp_path / "x.jsonl", "--from", "gsm8k", "--to", "amc23")
    assert read_only.exit_code == 2 and "format 'amc23' can only be read" in read_only.output
    no_split = _run("convert", "dev", tmp_path / "x.jsonl", "--from", "gsm8k")
    assert (
        no_split.output.strip()
        == "error: dev: file not found, nor a gsm8k split (test, train, test_socratic)"
    )
    assert not (tmp_path / "x.jsonl").exists()


def test_convert_reference_solutions_and_list_formats(tmp_path):
    out = tmp_path / "ref.jsonl"
    assert _run("convert", "test", out, "--from", "math500", "--reference", "--limit", "3").exit_code == 0
    records = load_dataset_records("jsonl", path=out)
    assert [r.problem.id for r in records] == ["math500-test-0", "math500-test-1", "math500-test-2"]
    listing = _run("formats").output
    assert "processbench" in listing and "trl-stepwise   read/write" in listing
