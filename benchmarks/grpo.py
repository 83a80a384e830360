"""GRPO updates per second: prmkit's trainer vs ``trl.GRPOTrainer``, same model, data and loss, one run.

Both train the same randomly initialised tiny Llama (synthetic tokenizer, hidden 128, 2 layers) on the
same synthetic word problems, with the same reward function (share of digit characters), group size,
prompts per step, maximum completion length, temperature, learning rate and loss: TRL's
``loss_type="grpo"`` with ``scale_rewards="group"``, ``epsilon=0.2``, the same ``beta`` (default 0.04, k3 KL
to a frozen reference) and one update per generation batch, which is exactly prmkit's default GRPO. TRL runs
with ``bf16=False``, ``gradient_checkpointing=False`` and ``use_vllm=False``; torch uses one thread.

A step is one rollout plus one optimizer update. Both trainers call the reward function exactly once
per step, at the same point (after sampling, before the update), so the reward function is the clock:
the N - 1 intervals between its N calls are N - 1 whole steps, with model loading, the first step and
the end of training left out on both sides alike. prmkit also grades every completion's answer for its
accuracy metric (TRL has none), so it does a little more work per step; math-verify is imported
before the clocks run. Two clocks: wall time, and the process's CPU time,
which the other processes on a shared machine disturb much less (one torch thread, so CPU time is
the work done). The trainers run in turn, ``--repeats`` times; the script prints every rate, the
medians, their ratios, and the mean completion length each side produced (it should match: equal
work per step).

    OMP_NUM_THREADS=1 python benchmarks/grpo.py [--steps 20] [--prompts 2] [--group 4] [--max-tokens 32] [--repeats 7]

Timings are noisy even on an idle machine (single runs of identical work differ by up to 40% here);
the ratio of the medians of interleaved runs is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from prmkit.data.jsonl import write_jsonl
from prmkit.data.prompts import render_prompt
from prmkit.synthetic.world import WorldConfig, make_problems


class Digits:
    """The shared reward: the share of a completion's characters that are digits (cheap, with spread).

    It also records the completion lengths in tokens and, as the benchmark's clock, the wall and CPU
    time of each call."""

    __name__ = "digits"

    def __init__(self) -> None:
        self.lengths: list[int] = []
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __call__(self, completions: list[str], completion_ids: list[list[int]], **_: object) -> list[float]:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())
        self.lengths += [len(ids) for ids in completion_ids]
        return [sum(ch.isdigit() for ch in text) / max(len(text), 1) for text in completions]

    def rates(self) -> Rates:
        """(wall, CPU) steps per second over the intervals between calls, and the mean length."""
        n = len(self.wall) - 1
        return Rates(
            n / (self.wall[-1] - self.wall[0]),
            n / (self.cpu[-1] - self.cpu[0]),
            statistics.mean(self.lengths),
        )


@dataclass
class Rates:
    wall: float
    cpu: float
    length: float


def make_policy(folder: Path, seed: int = 0) -> Path:
    from transformers import LlamaForCausalLM

    from prmkit.generation.tiny import generation_defaults, llama_config, special_ids
    from prmkit.synthetic.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    config = llama_config(len(tokenizer), 128, 2, 4, 512, special_ids(tokenizer), 512, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.generation_config = generation_defaults(tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run_prmkit(policy: Path, problems: Path, out: Path, args: argparse.Namespace) -> Rates:
    from prmkit.generation.base import SamplingConfig
    from prmkit.rl.config import GRPOConfig
    from prmkit.rl.grpo import train_grpo
    from prmkit.rl.rewards import RewardSet

    cfg = GRPOConfig(
        policy=str(policy), output_dir=str(out), problems=str(problems), steps=args.steps, batch_size=args.prompts,
        sampling=SamplingConfig(n=args.group, max_new_tokens=args.max_tokens, temperature=1.0, seed=0),
        lr=1e-5, beta=args.beta,
        loss_type="grpo", scale_rewards="group", clip_eps=0.2, checkpoint_every=10**6, device="cpu", resume=False,
    )  # fmt: skip
    reward = Digits()
    train_grpo(cfg, rewards=RewardSet([reward]), progress=False)
    return reward.rates()


def run_trl(policy: Path, prompts: list[str], out: Path, args: argparse.Namespace) -> Rates:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    config = GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=args.prompts * args.group, num_generations=args.group,
        max_completion_length=args.max_tokens, temperature=1.0, top_p=1.0, learning_rate=1e-5, beta=args.beta,
        loss_type="grpo", scale_rewards="group", epsilon=0.2, num_iterations=1, max_steps=args.steps,
        bf16=False, gradient_checkpointing=False, use_vllm=False, use_cpu=True, report_to="none",
        save_strategy="no", logging_steps=args.steps, disable_tqdm=True, lr_scheduler_type="constant", warmup_steps=0,
        max_grad_norm=1.0, seed=0, dataloader_num_workers=0,
    )  # fmt: skip
    reward = Digits()
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(policy),
        reward_funcs=[reward],
        args=config,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=AutoTokenizer.from_pretrained(policy),
    )
    trainer.train()
    return reward.rates()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="GRPO steps per run")
    parser.add_argument("--prompts", type=int, default=2, help="prompts per step")
    parser.add_argument("--group", type=int, default=4, help="completions per prompt")
    parser.add_argument("--max-tokens", type=int, default=32, help="most tokens per completion")
    parser.add_argument(
        "--beta", type=float, default=0.04, help="KL weight on both sides (0: no reference model)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="interleaved runs of each trainer")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    from prmkit.grading import grade

    grade("1", "1")  # prmkit grades accuracy on every step: import math-verify before any clock runs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        policy = make_policy(root / "policy")
        problems = make_problems(WorldConfig(), args.steps * args.prompts, seed="bench")
        write_jsonl(root / "problems.jsonl", problems)
        prompts = [render_prompt(p) for p in problems]
        results: dict[str, list[Rates]] = {"prmkit": [], "trl": []}
        for k in range(args.repeats):
            results["prmkit"].append(run_prmkit(policy, root / "problems.jsonl", root / f"prmkit{k}", args))
            results["trl"].append(run_trl(policy, prompts, root / f"trl{k}", args))
            p, t = results["prmkit"][-1], results["trl"][-1]
            print(
                f"run {k + 1}: prmkit {p.wall:.2f} updates/s ({p.cpu:.2f} per CPU-second), "
                f"trl {t.wall:.2f} updates/s ({t.cpu:.2f} per CPU-second)", flush=True,
            )  # fmt: skip

    summary: dict[str, object] = {
        "setup": f"{args.prompts} prompts x {args.group} completions, <= {args.max_tokens} tokens, {args.steps} steps, "
        f"loss grpo, beta {args.beta}, 1 thread, CPU",
    }
    medians = {}
    for clock in ("wall", "cpu"):
        for name, runs in results.items():
            medians[name, clock] = statistics.median(getattr(r, clock) for r in runs)
            summary[f"{name} updates/s ({clock}, median)"] = round(medians[name, clock], 3)
        summary[f"ratio prmkit / trl ({clock})"] = round(medians["prmkit", clock] / medians["trl", clock], 2)
    for name, runs in results.items():
        summary[f"{name} runs (wall)"] = [round(r.wall, 3) for r in runs]
        summary[f"{name} mean completion tokens"] = round(statistics.mean(r.length for r in runs), 2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
