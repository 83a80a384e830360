"""kill -9 in the middle of training, then resume: the run continues from its last checkpoint, repeats
exactly what the killed run did after it, and the step log has no duplicated or missing step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rl_tiny import make_policy

from prmkit.config import load_config
from prmkit.data.jsonl import write_jsonl
from prmkit.rl.config import GRPOConfig
from prmkit.rl.grpo import train_grpo
from prmkit.synthetic.world import WorldConfig, make_problems

HERE = Path(__file__).parent


def _log_steps(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    return [json.loads(line) for line in lines[:-1] if line.strip()]  # complete lines only


def test_resume_after_sigkill(tmp_path, monkeypatch):
    monkeypatch.setenv("PRMKIT_ALLOW_IMPORTS", "1")  # the reward is this folder's rl_tiny:digits_factory
    policy = make_policy(tmp_path / "policy")
    out = tmp_path / "rl"
    heldout = tmp_path / "heldout.jsonl"
    write_jsonl(heldout, make_problems(WorldConfig(), 4, seed=101))
    args = {
        "eval_problems": str(heldout),
        "eval_every": 2,
        "batch_size": 2,
        "sampling.n": 4,
        "sampling.max_new_tokens": 12,
        "sampling.temperature": 1.0,
        "sampling.seed": 3,
        "lr": 1e-2,
        "beta": 0.05,
        "checkpoint_every": 3,
        "seed": 3,
    }
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in args.items()]
    code = "import sys; from prmkit.cli.rl import rl_app; rl_app(sys.argv[1:])"
    cmd = [sys.executable, "-c", code, "grpo", f"--policy={policy}", f"--output-dir={out}", "--steps=60",
           "--reward=rl_tiny:digits_factory", *flags]  # fmt: skip
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while len(_log_steps(out / "log.jsonl")) < 5:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the training subprocess made no progress"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    killed = _log_steps(out / "log.jsonl")
    assert len(killed) >= 5 and [r["step"] for r in killed] == list(range(1, len(killed) + 1))

    cfg = load_config(
        GRPOConfig,
        overrides={
            "policy": str(policy),
            "output_dir": str(out),
            "steps": 8,
            "rewards": [{"name": "rl_tiny:digits_factory"}],
            **args,
        },
    )
    records = train_grpo(cfg, progress=False).records
    logged = _log_steps(out / "log.jsonl")
    assert [r["step"] for r in logged] == list(range(1, 9))
    assert [r["step"] for r in records] == list(range(1, 9))
    # steps 4.. ran twice, from the step-3 checkpoint: the same samples, rewards and losses again
    for before, after in zip(killed[3:], logged[3:]):
        assert after["reward/total"] == before["reward/total"]
        assert after["loss"] == before["loss"] and after["kl"] == before["kl"]
    assert logged[:3] == killed[:3]
    evals = _log_steps(out / "eval.jsonl")  # held-out evaluations: cut back with the log, redone once
    assert [e["step"] for e in evals] == [0, 2, 4, 6, 8]
    assert all(0 <= e["accuracy"] <= 1 and e["problems"] == 4 for e in evals)


class _Planted:
    """An object whose unpickling would run code: a checkpoint must never rebuild it."""

    def __reduce__(self):
        return (os.system, ("echo planted > planted.txt",))


def test_a_checkpoint_holding_code_is_refused_without_running_it(tmp_path, monkeypatch):
    import pytest
    import torch

    from prmkit.errors import PrmkitError
    from prmkit.rl.checkpoint import CHECKPOINT, TrainState, load_checkpoint

    monkeypatch.chdir(tmp_path)
    torch.save({"step": 3, "model": _Planted()}, tmp_path / CHECKPOINT)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = TrainState(model, {}, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0))
    with pytest.raises(PrmkitError, match="never unpickles code"):
        load_checkpoint(tmp_path, state)
    assert not (tmp_path / "planted.txt").exists()
