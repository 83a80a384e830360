"""Run directories: finished stages are skipped, and the time-left estimate follows the measured speed."""

import json

from rich.console import Console

from prmkit.pipeline import COMPLETE, Run, new_or_unfinished_run


def test_a_finished_stage_is_skipped_and_keeps_its_summary(tmp_path):
    calls = []

    def stage(out):
        calls.append(out)
        (out / "result.txt").write_text("x")
        return {"value": len(calls)}

    first = Run(tmp_path, Console(quiet=True)).stage("a", stage)
    again = Run(tmp_path, Console(quiet=True)).stage("a", stage)
    assert first == again == {"value": 1}
    assert len(calls) == 1
    assert json.loads((tmp_path / "a" / ".done").read_text())["summary"] == {"value": 1}


def test_a_stage_that_fails_runs_again(tmp_path):
    run = Run(tmp_path, Console(quiet=True))

    def broken(out):
        raise RuntimeError("killed")

    try:
        run.stage("a", broken)
    except RuntimeError:
        pass
    assert not (tmp_path / "a" / ".done").exists()
    assert run.stage("a", lambda out: {"ok": True}) == {"ok": True}


def test_time_left_is_rescaled_by_the_speed_so_far(tmp_path):
    run = Run(tmp_path, Console(quiet=True), plan={"a": 40.0, "b": 20.0, "c": 30.0})
    assert run.time_left("a") == 90.0
    assert run.time_left("b") == 50.0
    run._expected_done, run._actual_done = 1.0, 0.0  # a tiny stage finished at once: no evidence yet
    assert run.time_left("b") == 50.0
    run._expected_done, run._actual_done = 40.0, 80.0  # stage a took twice as long as planned
    assert run.time_left("b") == 100.0
    assert run.time_left("unplanned") == 0.0


def test_an_unfinished_run_is_resumed_and_a_complete_one_is_not(tmp_path):
    older = tmp_path / "20260101-000000"
    older.mkdir()
    assert new_or_unfinished_run(tmp_path) == older
    (older / COMPLETE).write_text("done")
    assert new_or_unfinished_run(tmp_path) != older
