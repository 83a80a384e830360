"""The RL table: SFT vs GRPO (correctness / format / format+length) vs outcome PPO (gold correctness,
or an ORM's score as in Math-Shepherd) vs step-by-step PPO with each step-reward transform (raw p_k,
Math-Shepherd's literal reward; delta; centered), on the normal and the "bad habits" synthetic
policies, over several seeds.

Every run goes through the CLI (``prmkit rl grpo`` / ``prmkit rl ppo``) with the same held-out
problems, prompts per step, group size and steps (equal compute = prompts x group x steps); each seed
has its own runs. Re-running skips finished runs (``metrics.json`` present) and resumes interrupted
ones from their checkpoint. The SFT row is each policy's step-0 greedy evaluation.

    python experiments/rl_table.py --normal POLICY --prm PRM_DIR --orm ORM_DIR \\
        --eval-problems EVAL.jsonl --out runs/rl_table --seeds 0 1 2 --only ppo
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
STEP_TRANSFORMS = {
    "raw": "raw p_k (Math-Shepherd)",
    "delta": "delta p_k - p_(k-1)",
    "centered": "centered 2 p_k - 1",
}


@dataclass(frozen=True)
class Run:
    policy: str  # "normal" or "habits"
    name: str
    label: str
    command: str  # "grpo" or "ppo"
    args: tuple[str, ...]
    seed: int = 0


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
        ("ppo_outcome", "PPO, outcome: gold correctness", "ppo", (*ppo, "--reward", "correctness")),
        *(
            [
                (
                    "ppo_outcome_orm",
                    "PPO, outcome: ORM score (Math-Shepherd's baseline)",
                    "ppo",
                    (*ppo, "--reward", f"prm,prm={a.orm},aggregation=last"),
                )
            ]
            if a.orm
            else []
        ),
        *[
            (
                f"ppo_step_{transform}",
                f"PPO, step-by-step (MC PRM), {label}",
                "ppo",
                (*ppo, "--mode", "step", "--prm", a.prm, "--step-transform", transform),
            )
            for transform, label in STEP_TRANSFORMS.items()
        ],
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
    runs = [Run("normal", *m, seed=seed) for seed in a.seeds for m in methods]
    if a.habits:
        runs += [Run("habits", *m, seed=seed) for seed in a.seeds for m in methods if m[0] in habits_methods]
    if a.only:
        runs = [r for r in runs if any(f"{r.policy}/{r.name}" == o or r.name.startswith(o) for o in a.only)]
    return runs


def run_dir(a: argparse.Namespace, run: Run) -> Path:
    return Path(a.out) / run.policy / f"seed{run.seed}" / run.name


def policy_max_new_tokens(policy: str) -> int:
    """The rollout budget: the policy's own generation config (``prmkit train policy`` sizes it to its
    world), else 256, as the trainers did before the budget became ``--sampling.max-new-tokens``."""
    path = Path(policy) / "generation_config.json"
    saved = json.loads(path.read_text()).get("max_new_tokens") if path.is_file() else None
    return int(saved or 256)


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
        "--sampling.n",
        str(a.group),
        "--sampling.max-new-tokens",
        str(policy_max_new_tokens(policy)),
        "--sampling.seed",
        str(run.seed),
        "--seed",
        str(run.seed),
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


def final_eval(a: argparse.Namespace, run: Run) -> dict | None:
    """The run's last held-out evaluation once it has finished, else None."""
    d = run_dir(a, run)
    ev = evals(d / "eval.jsonl")
    return ev[-1] if ev and (d / "metrics.json").is_file() else None


def table(a: argparse.Namespace, runs: list[Run]) -> str:
    """One Markdown table per policy: the SFT row, then each method's final held-out greedy accuracy
    per seed and its mean over the finished seeds."""
    compute = a.batch * a.group * a.steps
    seeds = list(dict.fromkeys(r.seed for r in runs))
    parts = []
    for policy in dict.fromkeys(r.policy for r in runs):
        rows = [r for r in runs if r.policy == policy]
        seed_cols = " | ".join(f"seed {s}: acc % [95% CI]" for s in seeds)
        lines = [
            (
                f"### {policy} policy ({a.normal if policy == 'normal' else a.habits}); "
                f"compute per run {a.batch} prompts x {a.group} samples x {a.steps} steps = {compute}"
            ),
            "",
            f"| method | lr | {seed_cols} | mean acc % | mean length (tokens) |",
            "|---|---|" + "---|" * len(seeds) + "---|---|",
        ]
        sft = next(
            (evals(run_dir(a, r) / "eval.jsonl")[0] for r in rows if evals(run_dir(a, r) / "eval.jsonl")),
            None,
        )
        if sft:
            lines.append(
                f"| SFT policy (no RL) | - | {fmt(sft)}"
                + " | -" * (len(seeds) - 1)
                + f" | {100 * sft['accuracy']:.1f} | {sft['length']:.1f} |"
            )
        for name in dict.fromkeys(r.name for r in rows):
            per_seed = {r.seed: r for r in rows if r.name == name}
            first = next(iter(per_seed.values()))
            finals = {s: final_eval(a, per_seed[s]) if s in per_seed else None for s in seeds}
            cells = " | ".join(fmt(e) if e else "not finished" for e in finals.values())
            done = [e for e in finals.values() if e]
            mean_acc = f"{100 * sum(e['accuracy'] for e in done) / len(done):.1f}" if done else "-"
            mean_len = f"{sum(e['length'] for e in done) / len(done):.1f}" if done else "-"
            lr = first.args[first.args.index("--lr") + 1]
            lines.append(f"| {first.label} | {lr} | {cells} | {mean_acc} | {mean_len} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--normal", required=True, help="the normal SFT policy folder")
    p.add_argument("--habits", default="", help="the bad-habits SFT policy folder (empty: skip)")
    p.add_argument("--prm", required=True, help="PRM folder for step-by-step PPO")
    p.add_argument("--orm", default="", help="ORM folder (prmkit train orm) for the ORM outcome-PPO row")
    p.add_argument("--eval-problems", required=True, help="held-out Problem JSONL (same for every run)")
    p.add_argument("--out", default="runs/rl_table", help="output root (one folder per run)")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=16, help="prompts per step")
    p.add_argument("--group", type=int, default=4, help="completions per prompt (all methods)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run of each method per seed")
    p.add_argument("--grpo-lr", type=float, default=2e-4)
    p.add_argument("--ppo-lr", type=float, default=3e-5)
    p.add_argument(
        "--grpo-args", default="", help="extra flags for every GRPO run, e.g. '--scale-rewards none'"
    )
    p.add_argument("--code-variant", action="store_true", help="also run format_length,variant=code")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    p.add_argument(
        "--only", nargs="*", default=[], help="run-name prefixes (or policy/name) to run, e.g. ppo"
    )
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
