"""The issue-7 RL table: SFT vs GRPO (correctness / format / format+length) vs outcome PPO vs
step-by-step PPO (PRM from MC labels), on the normal and the "bad habits" synthetic policies.

Every run goes through the CLI (``prmkit rl grpo`` / ``prmkit rl ppo``) with the same held-out
problems, seed, prompts per step, group size and steps (equal compute = prompts x group x steps).
Re-running skips finished runs (``metrics.json`` present) and resumes interrupted ones from their
checkpoint. The SFT row is each policy's step-0 greedy evaluation (identical in every run of it).

    python experiments/rl_table.py --normal POLICY --habits POLICY --prm PRM_DIR \\
        --eval-problems EVAL.jsonl --out /work/runs/rl --jobs 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PRMKIT = [sys.executable, "-m", "prmkit.cli.main"]


@dataclass(frozen=True)
class Run:
    policy: str  # "normal" or "habits"
    name: str
    label: str
    command: str  # "grpo" or "ppo"
    args: tuple[str, ...]


def plan(a: argparse.Namespace) -> list[Run]:
    """Every run of the table, in the order of its rows."""
    grpo = ("--lr", str(a.grpo_lr), *a.grpo_args.split())
    ppo = ("--lr", str(a.ppo_lr))
    methods = [
        ("grpo_correct", "GRPO, correctness", "grpo", (*grpo, "--reward", "correctness")),
        ("grpo_format", "GRPO, format only (label-free)", "grpo", (*grpo, "--reward", "format")),
        (
            "grpo_fl_paper",
            "GRPO, format+length paper (label-free)",
            "grpo",
            (*grpo, "--reward", "format_length,variant=paper"),
        ),
        ("ppo_outcome", "PPO, outcome correctness", "ppo", (*ppo, "--reward", "correctness")),
        ("ppo_step", "PPO, step-by-step (MC PRM)", "ppo", (*ppo, "--mode", "step", "--prm", a.prm)),
    ]
    if a.code_variant:
        methods.insert(
            3,
            (
                "grpo_fl_code",
                "GRPO, format+length code (label-free)",
                "grpo",
                (*grpo, "--reward", "format_length,variant=code"),
            ),
        )
    habits_methods = {"grpo_correct", "grpo_format", "grpo_fl_paper", "grpo_fl_code"}
    runs = [Run("normal", *m) for m in methods]
    if a.habits:
        runs += [Run("habits", *m) for m in methods if m[0] in habits_methods]
    if a.only:
        runs = [r for r in runs if f"{r.policy}/{r.name}" in a.only or r.name in a.only]
    return runs


def run_dir(a: argparse.Namespace, run: Run) -> Path:
    return Path(a.out) / run.policy / run.name


def execute(a: argparse.Namespace, run: Run) -> str:
    """Run (or resume) one training run; its wall time accumulates in ``wall.json``."""
    out = run_dir(a, run)
    if (out / "metrics.json").is_file():
        return f"{run.policy}/{run.name}: done earlier"
    out.mkdir(parents=True, exist_ok=True)
    policy = a.normal if run.policy == "normal" else a.habits
    cmd = [
        *PRMKIT,
        "rl",
        run.command,
        "--policy",
        policy,
        "--output-dir",
        str(out),
        "--eval-problems",
        a.eval_problems,
        "--steps",
        str(a.steps),
        "--batch-size",
        str(a.batch),
        "--group-size",
        str(a.group),
        "--seed",
        str(a.seed),
        "--threads",
        str(a.threads),
        "--device",
        a.device,
        "--eval-every",
        "0",
        "--checkpoint-every",
        "5",
        "--resume",
        *run.args,
    ]
    wall_file = out / "wall.json"
    wall = json.loads(wall_file.read_text())["seconds"] if wall_file.is_file() else 0.0
    start = time.time()
    with open(out / "run.log", "a") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    wall += time.time() - start
    wall_file.write_text(json.dumps({"seconds": wall, "command": cmd}))
    return f"{run.policy}/{run.name}: rc {rc} after {wall:.0f}s"


def evals(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fmt(e: dict) -> str:
    low, high = e["accuracy_ci"]
    return f"{100 * e['accuracy']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def table(a: argparse.Namespace, runs: list[Run]) -> str:
    """One Markdown table per policy: the SFT row, then each run's final held-out evaluation."""
    compute = a.batch * a.group * a.steps
    parts = []
    for policy in dict.fromkeys(r.policy for r in runs):
        rows = [r for r in runs if r.policy == policy]
        lines = [
            f"### {policy} policy ({a.normal if policy == 'normal' else a.habits})",
            "",
            (
                "| method | greedy acc % [95% CI] | boxed % | mean length (tokens) | steps | lr | seed "
                "| compute (prompts x group x steps) | wall s |"
            ),
            "|---|---|---|---|---|---|---|---|---|",
        ]
        sft = next(
            (evals(run_dir(a, r) / "eval.jsonl")[0] for r in rows if evals(run_dir(a, r) / "eval.jsonl")),
            None,
        )
        if sft:
            lines.append(
                f"| SFT policy (no RL) | {fmt(sft)} | {100 * sft['boxed']:.1f} | {sft['length']:.1f} "
                "| 0 | - | - | 0 | - |"
            )
        for r in rows:
            d = run_dir(a, r)
            ev = evals(d / "eval.jsonl")
            done = (d / "metrics.json").is_file()
            wall = (
                json.loads((d / "wall.json").read_text())["seconds"] if (d / "wall.json").is_file() else None
            )
            lr = r.args[r.args.index("--lr") + 1]
            if not ev or (len(ev) < 2 and not done):
                status = "not finished" if ev else "not run"
                lines.append(f"| {r.label} | {status} | | | | {lr} | {a.seed} | | |")
                continue
            last = ev[-1]
            tag = "" if done else f" (partial, step {last['step']})"
            lines.append(
                f"| {r.label}{tag} | {fmt(last)} | {100 * last['boxed']:.1f} | {last['length']:.1f} | "
                f"{last['step']} | {lr} | {a.seed} | {a.batch} x {a.group} x {a.steps} = {compute} | "
                f"{'' if wall is None else f'{wall:.0f}'} |"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--normal", required=True, help="the normal SFT policy folder")
    p.add_argument("--habits", default="", help="the bad-habits SFT policy folder (empty: skip)")
    p.add_argument("--prm", required=True, help="PRM folder for step-by-step PPO")
    p.add_argument("--eval-problems", required=True, help="held-out Problem JSONL (same for every run)")
    p.add_argument("--out", default="runs/rl_table", help="output root (one folder per run)")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=16, help="prompts per step")
    p.add_argument("--group", type=int, default=4, help="completions per prompt (all methods)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grpo-lr", type=float, default=2e-4)
    p.add_argument("--ppo-lr", type=float, default=3e-5)
    p.add_argument(
        "--grpo-args", default="", help="extra flags for every GRPO run, e.g. '--scale-rewards none'"
    )
    p.add_argument("--code-variant", action="store_true", help="also run format_length,variant=code")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    p.add_argument("--only", nargs="*", default=[], help="run names (or policy/name) to run")
    p.add_argument("--table-only", action="store_true", help="print the table without running")
    a = p.parse_args()
    runs = plan(a)
    if not a.table_only:
        with ThreadPoolExecutor(max(1, a.jobs)) as pool:
            for message in pool.map(lambda r: execute(a, r), runs):
                print(message, flush=True)
    print(table(a, runs))


if __name__ == "__main__":
    main()
