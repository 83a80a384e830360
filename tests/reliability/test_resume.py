"""Resuming sampling: other settings are refused, and a killed run resumes to the same bytes (the PRM
trainer's cases: tests/train/test_prm_resume.py; MC annotation's: tests/annotate/test_annotate_resume.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from prmkit.data.jsonl import write_jsonl
from prmkit.errors import ConfigError
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.synthetic.world import WorldConfig, make_problems


def test_generate_refuses_to_resume_with_another_temperature(tmp_path):
    problems, out = tmp_path / "p.jsonl", tmp_path / "s.jsonl"
    write_jsonl(problems, make_problems(WorldConfig(), 3, seed=1))
    solver = {"backend": "synthetic-solver", "model": "slip_rate=0.2", "seed": 0, "progress": False}
    generate_solutions(GenerateConfig(**solver, n=2, temperature=0.8), problems, out)
    with pytest.raises(ConfigError, match=r"other settings \(temperature\)"):
        generate_solutions(GenerateConfig(**solver, n=2, temperature=1.5), problems, out)
    assert (
        generate_solutions(GenerateConfig(**solver, n=2, temperature=0.8, batch_size=3), problems, out)[1]
        == 3
    )


def test_generate_killed_at_any_moment_resumes_to_the_same_bytes(tmp_path):
    """kill -9 while `prmkit generate` appends, three times, then run it to the end: the output equals
    an uninterrupted run's byte for byte (no torn line, no duplicate, no gap)."""
    problems = tmp_path / "p.jsonl"
    write_jsonl(problems, make_problems(WorldConfig(), 3000, seed=2))
    args = ["--backend", "synthetic-solver", "--model", "slip_rate=0.2", "--seed", "0", "--n", "4",
            "--batch-size", "4", "--no-progress"]  # fmt: skip

    def generate(out, wait_for: int | None = None) -> None:
        cmd = [sys.executable, "-m", "prmkit.cli.main", "generate", str(problems), "-o", str(out), *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if wait_for is None:
            assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
            return
        deadline = time.monotonic() + 120
        while (not out.exists() or out.stat().st_size < wait_for) and proc.poll() is None:
            assert time.monotonic() < deadline, "generate wrote nothing in 2 minutes"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    whole, killed = tmp_path / "whole.jsonl", tmp_path / "killed.jsonl"
    generate(whole)
    size = whole.stat().st_size
    for share in (0.2, 0.5, 0.8):
        generate(killed, wait_for=int(share * size))
        assert killed.stat().st_size < size, "the run finished before the kill"
    generate(killed)
    assert killed.read_bytes() == whole.read_bytes()
