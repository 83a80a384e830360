"""A full disk: a one-line error naming the file and what was kept, and a resume that completes the
output once there is room (a real 64 KiB tmpfs; skipped where this process may not mount one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_helpers import tmpfs, write_sums

from prmkit.data.jsonl import write_jsonl
from prmkit.synthetic.world import WorldConfig, make_problems


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "disk", "size=64k") as mount:
        yield mount


def test_a_full_disk_is_reported_in_one_line_and_the_run_resumes(tmp_path, small_disk):
    problems = tmp_path / "p.jsonl"
    write_jsonl(problems, make_problems(WorldConfig(), 400, seed=4))
    out = small_disk / "s.jsonl"
    cmd = [sys.executable, "-m", "prmkit.cli.main", "generate", str(problems), "-o", str(out), "--generation.backend",
           "synthetic-solver", "--generation.model", "slip_rate=0.2", "--sampling.n", "4", "--no-progress"]  # fmt: skip
    full = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert full.returncode != 0 and "Traceback" not in full.stderr
    (line,) = [x for x in full.stderr.splitlines() if x.strip()]
    assert f"{out}: cannot append (No space left on device) after" in line and "resumes" in line

    roomy = tmp_path / "s.jsonl"
    shutil.copy(out, roomy)  # move the partial output where there is room, with its settings
    shutil.copy(out.with_suffix(".config.yaml"), roomy.with_suffix(".config.yaml"))
    cmd[cmd.index(str(out))] = str(roomy)
    assert subprocess.run(cmd, capture_output=True, check=False).returncode == 0
    whole = tmp_path / "whole.jsonl"
    cmd[cmd.index(str(roomy))] = str(whole)
    assert subprocess.run(cmd, capture_output=True, check=False).returncode == 0
    assert roomy.read_bytes() == whole.read_bytes()
    assert not Path(str(out) + ".tmp").exists()


def test_train_prm_on_a_full_disk_says_so_in_one_line(tmp_path, small_disk):
    from prmkit.generation.tiny import save_tiny_llama

    write_sums(tmp_path / "l.jsonl", 16)
    cmd = [sys.executable, "-m", "prmkit.cli.main", "train", "prm", "--data", str(tmp_path / "l.jsonl"),
           "--model", str(save_tiny_llama(tmp_path / "bb")), "--output-dir", str(small_disk / "prm"),
           "--max-steps", "2", "--save-steps", "2", "--batch-size", "4", "--eval-steps", "0"]  # fmt: skip
    full = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert full.returncode != 0 and "Traceback" not in full.stderr
    assert f"{small_disk / 'prm'}: no space left on device while writing the model or a checkpoint" in full.stderr
