"""``prmkit train prm`` under ``torchrun --nproc_per_node 2`` on CPU (gloo), against one process at the
same global batch: the same loss curve, the same weights, metrics over the whole held-out set, one
writer, and a resume after ``kill -9`` that ends where the uninterrupted run ends.

The backbone has no dropout (``classifier_dropout=0``): with HF's default of 0.1 on the head, each
process draws its own dropout masks and the curves agree only loosely (see docs/prm.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prm_cases import paired_rule_data, rule_data
from safetensors.torch import load_file

from prmkit.data.jsonl import write_jsonl
from prmkit.generation.tiny import save_tiny_llama

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
STEPS = 12


def held_out() -> list:
    return paired_rule_data(48, "held")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("distributed")
    write_jsonl(root / "train.jsonl", rule_data(96, "dist"))
    write_jsonl(root / "held.jsonl", held_out())
    save_tiny_llama(root / "lm", classifier_dropout=0.0)
    return {"root": root}


def train_command(files: dict[str, Path], out: Path, processes: int, batch_size: int) -> list[str]:
    root = files["root"]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    args = ["-m", "prmkit.cli.main", "train", "prm", "--data", str(root / "train.jsonl"),
            "--eval-data", str(root / "held.jsonl"), "--model", str(root / "lm"), "--output-dir", str(out),
            "--batch-size", str(batch_size), "--max-steps", str(STEPS), "--save-steps", "2", "--eval-steps", "0",
            "--logging-steps", "1", "--device", "cpu", "--lr", "1e-3", "--head", "linear", "--warmup-steps", "0"]  # fmt: skip
    return [*launcher, *args] if processes > 1 else [sys.executable, *args]


def losses(out: Path) -> list[float]:
    state = json.loads((out / "checkpoints" / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


@pytest.fixture(scope="module")
def runs(files) -> dict[str, Path]:
    root = files["root"]
    for name, processes, batch in (("one", 1, 8), ("two", 2, 4)):
        subprocess.run(train_command(files, root / name, processes, batch), env=ENV, check=True,
                       capture_output=True, timeout=600)  # fmt: skip
    return {"one": root / "one", "two": root / "two"}


def test_two_processes_follow_the_one_process_loss_curve_and_weights(runs):
    one, two = losses(runs["one"]), losses(runs["two"])
    assert len(one) == len(two) == STEPS
    assert max(abs(a - b) for a, b in zip(one, two)) < 1e-4, (one, two)
    a, b = load_file(runs["one"] / "model.safetensors"), load_file(runs["two"] / "model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4


def test_held_out_metrics_cover_the_whole_set(runs):
    one = json.loads((runs["one"] / "metrics.json").read_text())
    two = json.loads((runs["two"] / "metrics.json").read_text())
    steps = sum(len(r.solution.steps) for r in held_out())
    assert one["eval_steps"] == two["eval_steps"] == steps  # not one rank's half
    for key in ("eval_step_f1", "eval_step_auroc", "eval_ranking_auroc"):
        assert two[key] == pytest.approx(one[key], abs=1e-6), key
    # and each held-out solution was paired with its own problem: the same AUROC from the saved PRM
    from prmkit.grading.batch import final_correctness
    from prmkit.metrics.steps import ranking_auroc
    from prmkit.score import load_prm

    held = held_out()
    least = [min(row) for row in load_prm(runs["two"], device="cpu").score([r.problem for r in held],
                                                                            [r.solution for r in held])]  # fmt: skip
    expected = ranking_auroc([r.problem.id for r in held], final_correctness(held), least)
    assert two["eval_ranking_auroc"] == pytest.approx(expected, abs=1e-6)


def test_the_trained_folders_score_the_same(runs):
    from prmkit.score import load_prm

    records = held_out()[:12]
    scores = [load_prm(runs[n], device="cpu").score([r.problem for r in records], [r.solution for r in records])
              for n in ("one", "two")]  # fmt: skip
    flat = [(a, b) for x, y in zip(*scores) for a, b in zip(x, y)]
    assert max(abs(a - b) for a, b in flat) < 1e-4


def test_a_killed_two_process_run_resumes_to_the_uninterrupted_result(files, runs):
    out = files["root"] / "killed"
    cmd = train_command(files, out, 2, 4)
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    checkpoints = out / "checkpoints"
    deadline = time.monotonic() + 300
    while not (checkpoints / "checkpoint-6" / "trainer_state.json").is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before a checkpoint"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "model.safetensors").exists()
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=600)
    assert (out / "model.safetensors").read_bytes() == (runs["two"] / "model.safetensors").read_bytes()
