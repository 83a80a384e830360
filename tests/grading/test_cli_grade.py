"""`prmkit grade` end to end through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from prmkit.cli.main import app


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_grade_command(tmp_path: Path) -> None:
    problems = _write(
        tmp_path / "problems.jsonl",
        [
            {"id": "p1", "question": "1+1?", "answer": "2"},
            {"id": "p2", "question": "Half?", "answer": "\\frac{1}{2}"},
        ],
    )
    solutions = _write(
        tmp_path / "solutions.jsonl",
        [
            {"id": "s1", "problem_id": "p1", "steps": ["1+1=2", "The answer is 2."]},
            {"id": "s2", "problem_id": "p2", "steps": ["so \\boxed{0.5}"]},
            {"id": "s3", "problem_id": "p2", "steps": ["guess"], "final_answer": "0.4"},
        ],
    )
    output = tmp_path / "grades.jsonl"
    result = CliRunner().invoke(
        app, ["grade", str(solutions), "--problems", str(problems), "--output", str(output), "--timeout", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "66.67%" in result.output and "timeouts 0" in result.output
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"solution_id": "s1", "problem_id": "p1", "prediction": "2", "correct": True, "status": "correct"},
        {"solution_id": "s2", "problem_id": "p2", "prediction": "0.5", "correct": True, "status": "correct"},
        {"solution_id": "s3", "problem_id": "p2", "prediction": "0.4", "correct": False, "status": "wrong"},
    ]


def test_grade_command_names_file_line_and_field(tmp_path: Path) -> None:
    problems = _write(tmp_path / "problems.jsonl", [{"id": "p1", "question": "q", "answer": "2"}])
    solutions = tmp_path / "solutions.jsonl"
    solutions.write_text(
        '{"id": "s1", "problem_id": "p1", "steps": ["2"]}\n\n{"id": "s2", "problem_id": "p9", "steps": ["2"]}\n'
    )
    result = CliRunner().invoke(
        app, ["grade", str(solutions), "--problems", str(problems), "--output", str(tmp_path / "g.jsonl")]
    )
    assert result.exit_code == 2
    assert f"{solutions}:3: field 'problem_id': unknown problem id 'p9'" in result.output
