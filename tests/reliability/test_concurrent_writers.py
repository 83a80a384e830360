"""Two writers of one output: the second is refused at once, naming the first one's PID, and the
output keeps one line per key. A lock dies with its holder, even by kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from prmkit.data.jsonl import AppendLog
from prmkit.errors import PrmkitError
from prmkit.locks import ExclusiveLock

HOLD = """
import sys, time
from prmkit.data.jsonl import AppendLog
with AppendLog(sys.argv[1]) as log:
    log.append({"id": "a"})
    print("holding", flush=True)
    time.sleep(60)
"""


def holder(path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


@pytest.mark.parametrize("name", ["mc.jsonl", "link.jsonl"])  # the output itself, or a symbolic link to it
def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path, name):
    out = tmp_path / "mc.jsonl"
    (tmp_path / "link.jsonl").symlink_to(out)
    proc = holder(out)
    try:
        with pytest.raises(PrmkitError, match=rf"{name} is being written by another process \(pid {proc.pid}\)"):
            AppendLog(tmp_path / name)
    finally:
        proc.kill()
        proc.wait()
    assert out.read_text().splitlines() == ['{"id":"a"}']


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "mc.jsonl"
    proc = holder(out)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with AppendLog(out) as log:  # the OS dropped the lock with its holder
        assert "a" in log
        log.append({"id": "b"})
    assert len(out.read_text().splitlines()) == 2


def test_two_quickstarts_in_one_run_directory(tmp_path):
    run = tmp_path / "run"
    with ExclusiveLock(run / "run"):
        code = "from prmkit.cli.main import main; main()"
        result = subprocess.run(
            [sys.executable, "-c", code, "quickstart", "--run-dir", str(run), "--problems", "2"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    assert f"is being written by another process (pid {os.getpid()})" in result.stderr + result.stdout
    assert not (run / "problems").exists()  # refused before any stage ran


def test_a_second_training_into_a_held_output_folder_is_refused_before_it_loads_anything(tmp_path):
    from prmkit.train.prm import train_prm
    from prmkit.train.prm_config import PRMTrainConfig

    out = tmp_path / "prm"
    refused = pytest.raises(PrmkitError, match=r"prm/run is being written by another process")
    with ExclusiveLock(out / "run"), refused:  # the lock: what a running `train prm` holds
        train_prm([], PRMTrainConfig(model=str(tmp_path / "no-backbone"), output_dir=str(out)))


def test_a_refused_second_rl_run_leaves_the_running_ones_log_whole(tmp_path):
    from prmkit.rl.config import RLConfig
    from prmkit.rl.trainer import train

    out = tmp_path / "rl"
    out.mkdir()
    log = "".join(f'{{"step":{step}}}\n' for step in range(1, 61))
    (out / "log.jsonl").write_text(log)
    refused = pytest.raises(PrmkitError, match=r"rl/run is being written by another process")
    with ExclusiveLock(out / "run"), refused:  # the lock: what a running `rl ppo` holds
        train(RLConfig(policy=str(tmp_path / "no-policy"), output_dir=str(out)), algorithm=None)
    assert (out / "log.jsonl").read_text() == log
