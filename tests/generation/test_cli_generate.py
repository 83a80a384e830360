"""``prmkit generate`` end to end on the tiny model, including resuming after a kill -9."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.jsonl import read_records
from prmkit.data.records import Problem, Solution

QUESTIONS = ["1+1?", "What is 23*4?", "Compute 7*(3+2)-4.", "x?", "Is 91 prime?"]


def write_problems(path, ids):
    lines = [Problem(id=i, question=q, answer="0").model_dump_json() for i, q in zip(ids, QUESTIONS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(tiny_model_dir, problems, output, *flags):
    args = ["generate", str(problems), "--output", str(output), "--generation.model", str(tiny_model_dir)]
    args += ["--sampling.n", "3", "--sampling.max-new-tokens", "12", "--sampling.temperature", "1.0"]
    args += ["--sampling.seed", "3", "--generation.batch-size", "4"]
    return CliRunner().invoke(app, [*args, *flags])


def by_id(path):
    return {s.id: s for s in read_records(path, Solution)}


def test_generate_writes_n_solutions_per_problem_and_resumes_after_a_kill(tiny_model_dir, tmp_path):
    ids = ["p1", "p2", "p3", "p4", "p5"]
    problems = write_problems(tmp_path / "problems.jsonl", ids)
    full = tmp_path / "full.jsonl"
    result = run(tiny_model_dir, problems, full)
    assert result.exit_code == 0, result.output
    solutions = by_id(full)
    assert sorted(solutions) == sorted(f"{p}-s{k}" for p in ids for k in range(3))
    first = solutions["p2-s1"]
    assert first.problem_id == "p2"
    assert first.generator["backend"] == "transformers" and first.generator["temperature"] == 1.0
    assert first.generator["finish_reason"] in ("stop", "length") and 1 <= first.generator["num_tokens"] <= 12
    assert solutions["p2-s2"].generator["seed"] == first.generator["seed"] + 1
    saved = yaml.safe_load((tmp_path / "full.config.yaml").read_text())
    assert saved["sampling"]["n"] == 3 and saved["generation"]["model"] == str(tiny_model_dir)
    assert saved["generation"]["api_key"] is None

    # Simulate kill -9 mid-write: 7 whole lines, then half of the 8th.
    lines = full.read_bytes().splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"".join(lines[:7]) + lines[7][: len(lines[7]) // 2])
    # Without the settings the work began with, a resume cannot check them: refused, nothing sampled
    # (the torn last line is cut, as on any resume).
    result = run(tiny_model_dir, problems, partial, "--sampling.temperature", "1.5")
    assert result.exit_code != 0 and "partial.config.yaml is missing" in result.output
    assert partial.read_bytes() == b"".join(lines[:7])
    (tmp_path / "partial.config.yaml").write_bytes((tmp_path / "full.config.yaml").read_bytes())
    result = run(tiny_model_dir, problems, partial, "--generation.batch-size", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    resumed = [json.loads(line)["id"] for line in partial.read_text().splitlines()]
    assert len(resumed) == len(set(resumed)) == 15  # no duplicates, no gaps
    # Seeds depend on problem id and sample index only, so the resumed file matches the full run.
    assert by_id(partial) == solutions

    again = run(tiny_model_dir, problems, partial, "--no-progress")
    assert (
        again.exit_code == 0 and "wrote 0 solutions" in again.output and "5 problems already" in again.output
    )


def test_generate_reports_bad_input_in_one_line(tiny_model_dir, tmp_path):
    problems = write_problems(tmp_path / "problems.jsonl", ["a", "b", "a"])
    result = run(tiny_model_dir, problems, tmp_path / "out.jsonl")
    assert result.exit_code == 2
    assert "problems.jsonl:3: field 'id': duplicate problem id 'a' (first on line 1)" in result.output
    problems = write_problems(tmp_path / "ok.jsonl", ["a"])
    result = run(tiny_model_dir, problems, tmp_path / "out.jsonl", "--generation.backend", "nope")
    assert result.exit_code == 2 and "unknown generation backend 'nope'" in result.output
    result = run(tiny_model_dir, problems, tmp_path / "out.jsonl", "--sampling.temperature", "-1")
    assert result.exit_code == 2 and "temperature" in result.output
