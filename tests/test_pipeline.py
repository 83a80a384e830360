"""Run directories: finished stages are skipped, the time-left estimate follows the measured speed, and
background stages run in child processes that die with the run."""

import json
import os
import time

import pytest
from rich.console import Console

from prmkit.errors import PrmkitError
from prmkit.pipeline import COMPLETE, PROGRESS, Run, new_or_unfinished_run, usable_cores


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

    with pytest.raises(RuntimeError, match="killed"):
        run.stage("a", broken)
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


def report_process(out):
    """A background stage's body (module level, so it pickles): where and how it ran."""
    import torch

    from prmkit.progress import progress_bar

    with progress_bar("counting", 5) as advance:
        for _ in range(5):
            advance()
    return {"pid": os.getpid(), "threads": torch.get_num_threads(), "parent": os.getppid()}


def fail(out):
    raise ValueError("bad stage")


def sleep_forever(out):
    time.sleep(600)


needs_two_cores = pytest.mark.skipif(usable_cores() < 2, reason="background stages need a spare core")


@needs_two_cores
def test_a_background_stage_runs_in_a_child_with_one_thread(tmp_path):
    run = Run(tmp_path, Console(quiet=True))
    assert run.start_in_background("b", report_process)
    assert not run.start_in_background("b", report_process)  # already running
    run.stage("a", lambda out: {"ok": True})  # the foreground goes on meanwhile
    summary = run.stage("b", report_process)
    assert summary["pid"] != os.getpid() and summary["parent"] == os.getpid()
    assert summary["threads"] == 1
    assert json.loads((tmp_path / "b" / PROGRESS).read_text())["completed"] == 5  # mirrored progress
    assert json.loads((tmp_path / "b" / ".done").read_text())["summary"] == summary
    again = Run(tmp_path, Console(quiet=True))
    assert not again.start_in_background("b", report_process)  # done: not started again
    assert again.stage("b", report_process) == summary


@needs_two_cores
def test_a_failed_background_stage_names_its_log(tmp_path):
    run = Run(tmp_path, Console(quiet=True))
    run.start_in_background("b", fail)
    with pytest.raises(PrmkitError, match="exit code 1.*background.log.*ValueError: bad stage"):
        run.stage("b", fail)
    assert not (tmp_path / "b" / ".done").exists()


@needs_two_cores
def test_background_stages_die_with_the_run(tmp_path):
    import torch

    threads = torch.get_num_threads()
    run = Run(tmp_path, Console(quiet=True))
    run.start_in_background("b", sleep_forever)
    child = run._background["b"]
    assert torch.get_num_threads() == max(1, min(threads, usable_cores() - 1))  # a core left to the child
    run.stop_background()
    assert child.poll() is not None
    assert not (tmp_path / "b" / ".done").exists()
    torch.set_num_threads(threads)
