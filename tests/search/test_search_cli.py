"""``prmkit search`` end to end: any method on a problem file, graded, with its cost, resumed after a
crash to the same records, and refused when resumed with other settings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.jsonl import write_jsonl
from prmkit.score import tiny
from prmkit.synthetic.world import WorldConfig, make_problems


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    write_jsonl(folder / "problems.jsonl", make_problems(WorldConfig(), 5, seed=3))
    return folder, tiny.make_prmkit_prm(folder / "prm")


def run(folder, output, *flags):
    args = ["search", "--problems", str(folder / "problems.jsonl"), "--output", str(output), "--no-progress",
            "--generation.backend", "synthetic-solver", "--generation.model", "slip_rate=0.3", "--chunk-size", "2",
            "--sampling.seed", "7"]  # fmt: skip
    return CliRunner().invoke(app, [*args, *flags])


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("method", ["beam", "dvts", "weighted_vote", "majority"])
def test_search_writes_each_problems_pick_grade_and_cost_and_resumes(method, files, tmp_path):
    folder, prm = files
    flags = ["--method", method, "--sampling.n", "4", "--beam-width", "2", "--expansions", "2", "--max-depth", "6"]
    flags += [] if method == "majority" else ["--prm", str(prm)]
    full = tmp_path / "full.jsonl"
    result = run(folder, full, *flags)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "full.summary.json").read_text())
    rows = records(full)
    assert [r["problem_id"] for r in rows] == [f"synth-3-{i}" for i in range(5)] and summary["problems"] == 5
    assert all(r["status"] in ("correct", "wrong") and r["solution"]["problem_id"] == r["problem_id"] for r in rows)
    assert summary["accuracy"] == sum(r["correct"] for r in rows) / 5 and summary["generated_tokens_per_problem"] > 0
    assert (summary["prm_tokens_per_problem"] > 0) is (method != "majority")
    assert all(r["candidates"] == (2 if method in ("beam", "dvts") else 4) for r in rows)

    # kill -9 after the first chunk, mid-line: the resumed file equals the uninterrupted one
    lines = full.read_text().splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(lines[:2]) + lines[2][:40])
    (tmp_path / "partial.config.yaml").write_text((tmp_path / "full.config.yaml").read_text())
    assert run(folder, partial, *flags).exit_code == 0
    resumed = records(partial)
    for a, b in zip(resumed, rows, strict=True):
        assert a["solution"] == b["solution"] and a["status"] == b["status"]

    other = run(folder, partial, *flags, "--sampling.temperature", "1.3")
    assert other.exit_code != 0 and "other settings (sampling.temperature)" in other.output
