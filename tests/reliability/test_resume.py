"""Kill -9 and run again: every resumable command ends exactly where an uninterrupted run does, with no
torn line, no duplicate and no gap; and a resume with other settings is refused.

The matrix here covers ``generate``, ``annotate mc``, ``annotate judge``, ``train prm`` and ``eval bon``;
RL's kill case is in tests/rl/test_rl_resume.py, the quickstart's in tests/test_quickstart.py (both
need their own trained fixtures) and a quick one of ``annotate mc`` that tears its last line in
tests/annotate/test_annotate_resume.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from prmkit.data.jsonl import write_jsonl
from prmkit.errors import ConfigError
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.generation.tiny import save_tiny_llama
from prmkit.score.tiny import make_prmkit_prm
from prmkit.synthetic.checker import truth_labels
from prmkit.synthetic.world import WorldConfig, make_problems

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SOLVER = "--generation.backend synthetic-solver --generation.model slip_rate=0.2 --sampling.seed 0"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Problems, sampled solutions with their exact step labels, and tiny random models."""
    root = tmp_path_factory.mktemp("world")
    problems, solutions, labelled = root / "problems.jsonl", root / "solutions.jsonl", root / "labelled.jsonl"
    write_jsonl(problems, make_problems(WorldConfig(), 200, seed=2))
    solver = GenerateConfig(GenerationConfig("synthetic-solver", "slip_rate=0.3"), SamplingConfig(n=2), progress=False)
    generate_solutions(solver, problems, solutions)
    from prmkit.annotate.io import read_pairs

    pairs = read_pairs(solutions, problems)
    write_jsonl(labelled, [p.model_copy(update={"labels": truth_labels(p.problem, p.solution)}) for p in pairs])
    return {
        "problems": problems,
        "solutions": solutions,
        "labelled": labelled,
        "lm": save_tiny_llama(root / "lm", hidden=32),
        "prm": make_prmkit_prm(root / "prm"),
    }


@dataclass
class Case:
    """A resumable command: ``command`` (``{out}`` and the world's names filled in) runs it into ``out``;
    ``result(out)`` is what must match; ``progress(out)`` says how far a run got."""

    command: str
    result: Callable[[Path], bytes]
    progress: Callable[[Path], int]

    def argv(self, world: dict[str, Path], out: Path) -> list[str]:
        return self.command.format(**world, out=out, solver=SOLVER).split()


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def checkpoints(run: Path) -> int:
    folder = run / "checkpoints"
    return max((int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*")), default=0) if folder.is_dir() else 0


CASES = {
    "generate": Case("generate {problems} -o {out} {solver} --sampling.n 64 --generation.batch-size 4", Path.read_bytes, size),
    "annotate mc": Case(
        "annotate mc {solutions} -p {problems} -o {out} {solver} --sampling.n 8 --rollouts-per-call 8", Path.read_bytes, size
    ),
    "annotate judge": Case(
        "annotate judge {solutions} -p {problems} -o {out} --generation.backend transformers "
        "--generation.model {lm} --sampling.max-new-tokens 16 --generation.batch-size 4",
        Path.read_bytes,
        size,
    ),
    "train prm": Case(
        # several epochs, with held-out evaluation: a resumed run re-enters an epoch midway
        "train prm --data {labelled} --model {lm} --output-dir {out} --max-steps 600 --save-steps 50 --batch-size 4 "
        "--eval-steps 100 --logging-steps 1000",
        lambda out: (out / "model.safetensors").read_bytes(),
        checkpoints,
    ),
    "eval bon": Case(
        "eval bon --run-dir {out} --generation.model {lm} --generation.device cpu --sampling.n 4 --limit 48 "
        "--chunk-size 2 --sampling.max-new-tokens 12 --prm {prm} --repeats 10 --bootstrap 50",
        lambda out: (out / "bon" / "candidates.jsonl").read_bytes(),
        lambda out: size(out / "bon" / "candidates.jsonl"),
    ),
}


def prmkit(args: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "prmkit.cli.main", *args]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_to_end(args: list[str]) -> None:
    proc = prmkit(args)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-3000:]


def kill_when(args: list[str], reached: Callable[[], bool]) -> None:
    """Start the command and kill -9 it as soon as ``reached()``; it must not have finished by then."""
    proc = prmkit(args)
    deadline = time.monotonic() + 300
    while not reached() and proc.poll() is None:
        assert time.monotonic() < deadline, "no progress in 5 minutes"
        time.sleep(0.005)
    assert proc.poll() is None, f"the run ended before the kill:\n{proc.stderr.read().decode()[-3000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


SLOW = {"annotate mc", "annotate judge", "eval bon"}  # 25-50 s each; annotate mc has a quick kill test too


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in CASES]
)
def test_killed_three_times_then_resumed_equals_the_uninterrupted_run(name, world, tmp_path):
    case = CASES[name]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    if name.startswith(("generate", "annotate")):
        whole, killed = whole.with_suffix(".jsonl"), killed.with_suffix(".jsonl")
    run_to_end(case.argv(world, whole))
    total = case.progress(whole)
    for share in (0.2, 0.5, 0.8):
        goal = max(1, int(share * total))
        kill_when(case.argv(world, killed), lambda goal=goal: case.progress(killed) >= goal)
    assert case.progress(killed) < total
    run_to_end(case.argv(world, killed))
    assert case.result(killed) == case.result(whole)


def test_generate_refuses_to_resume_with_another_temperature(tmp_path):
    problems, out = tmp_path / "p.jsonl", tmp_path / "s.jsonl"
    write_jsonl(problems, make_problems(WorldConfig(), 3, seed=1))
    solver = GenerationConfig("synthetic-solver", "slip_rate=0.2")
    generate_solutions(GenerateConfig(solver, SamplingConfig(n=2, temperature=0.8), progress=False), problems, out)
    hotter = GenerateConfig(solver, SamplingConfig(n=2, temperature=1.5), progress=False)
    with pytest.raises(ConfigError, match=r"other settings \(sampling.temperature\)"):
        generate_solutions(hotter, problems, out)
    batched = GenerationConfig("synthetic-solver", "slip_rate=0.2", batch_size=3)  # how it runs: free to change
    assert generate_solutions(GenerateConfig(batched, SamplingConfig(n=2, temperature=0.8), progress=False), problems, out)[1] == 3
