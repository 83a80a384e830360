"""A real kill -9 of a running ``prmkit annotate mc``, then the same command again: the file must end
exactly as an uninterrupted run writes it (no record lost or duplicated, same labels)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from annotate_cases import make_pairs

from prmkit.annotate.io import read_annotations, read_pairs
from prmkit.annotate.mc import MCConfig, annotate_mc
from prmkit.config import load_config
from prmkit.data.jsonl import write_jsonl


def command(solutions, output, config) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prmkit.cli.main",
        "annotate",
        "mc",
        str(solutions),
        "-o",
        str(output),
        "--config",
        str(config),
    ]


def lines(path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_9_mid_run_then_resume_writes_the_uninterrupted_file(tmp_path):
    pairs = make_pairs(60, stream="kill", mistake_rate=0.5)
    solutions = tmp_path / "solutions.jsonl"
    write_jsonl(solutions, pairs)  # unlabelled LabeledSolution lines carry their problems
    config = tmp_path / "mc.yaml"
    # Small rounds (2 prefixes of 4 rollouts) make the run long enough to be killed in the middle.
    config.write_text(
        "generation: {backend: synthetic-solver, model: slip_rate=0.2}\nsampling: {n: 4}\n"
        "rollouts_per_call: 8\nprogress: false\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    reference = tmp_path / "reference.jsonl"  # an uninterrupted run, in this process
    annotate_mc(load_config(MCConfig, config), read_pairs(solutions), reference)
    assert lines(reference) == 60

    output = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        command(solutions, output, config), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 240
    while lines(output) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    done = lines(output)
    assert 3 <= done < 60
    with output.open("ab") as fh:  # what a kill in the middle of a write leaves behind
        fh.write(b'{"problem":{"id":"torn')

    resumed = subprocess.run(
        command(solutions, output, config), check=True, env=env, capture_output=True, text=True, timeout=300
    )
    assert f"({done} done earlier)" in resumed.stdout
    assert output.read_bytes() == reference.read_bytes()
    records = read_annotations(output)  # parses every line, refuses duplicate ids
    assert [r.solution.id for r in records] == [p.solution.id for p in pairs]
