"""Supervised training of a tiny Llama policy on the arithmetic world, from scratch.

Every step draws fresh problems (problem stream ``train-{seed}``, so no id collides with the integer
seeds of ``prmkit synthetic make``), writes their correct solutions, and puts one injected mistake
into a share of them. The text is ``render_prompt(problem) + solution + EOS``; the loss covers the
solution and EOS only. The result is a plain Hugging Face directory (model, tokenizer, generation
config) plus ``world.json`` (the world it was trained on), ``train_config.yaml`` and
``train_metrics.json``; it loads with ``AutoModelForCausalLM`` / ``AutoTokenizer`` without prmkit.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from prmkit.config import save_config
from prmkit.data.prompts import render_prompt
from prmkit.data.records import Problem
from prmkit.devices import resolve_device
from prmkit.errors import ConfigError
from prmkit.generation.tiny import generation_defaults, llama_config, special_ids
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.habits import HabitsConfig, apply_habits
from prmkit.synthetic.mistakes import inject_mistake
from prmkit.synthetic.render import answer_text, solution_steps, solution_text, step_text
from prmkit.synthetic.world import WorldConfig, make_problems, save_world
from prmkit.train.loop import torch_threads, train_causal_lm
from prmkit.train.policy_config import PolicyTrainConfig

IGNORE_INDEX = -100


@dataclass
class PolicyTrainResult:
    output_dir: Path
    losses: list[float]  # training loss of every step
    seconds: float
    num_parameters: int


def training_texts(
    problems: list[Problem], rng: random.Random, mistake_rate: float, kinds: list[str], habits: HabitsConfig | None = None
) -> list[tuple[str, str]]:
    """(prompt, solution) pairs: correct solutions, with one injected mistake in a ``mistake_rate`` share
    and, when ``habits`` are given, bad answering habits at their rates."""
    pairs = []
    for problem in problems:
        chain = Chain.from_problem(problem)
        if rng.random() < mistake_rate:
            steps = inject_mistake(chain, rng, kinds).steps
        else:
            steps = solution_steps(chain)
        if habits is not None:
            steps = apply_habits(problem, steps, rng, habits)[0]
        pairs.append((render_prompt(problem), solution_text(steps)))
    return pairs


def encode_batch(tokenizer, pairs: list[tuple[str, str]], max_length: int) -> dict[str, torch.Tensor]:
    """Pack ``prompt + solution + EOS`` sequences into rows of at most ``max_length`` tokens.

    Position ids restart at 0 for each sequence, which transformers reads as packed sequences when no
    attention mask and no cache are given: attention stays inside each sequence, and no compute is
    spent on padding between them. Labels cover the solution and EOS; everything else (prompt, the
    right-padding of each row) is ``IGNORE_INDEX``.
    """
    prompts = tokenizer([p for p, _ in pairs])["input_ids"]
    solutions = tokenizer([s for _, s in pairs], add_special_tokens=False)["input_ids"]
    rows: list[tuple[list[int], list[int], list[int]]] = []  # (ids, positions, labels) per row
    for prompt, solution in zip(prompts, solutions):
        target = [*solution, tokenizer.eos_token_id]
        if len(prompt) + len(target) > max_length:
            raise ConfigError(f"a training sequence has {len(prompt) + len(target)} tokens > max_length {max_length}")
        if not rows or len(rows[-1][0]) + len(prompt) + len(target) > max_length:
            rows.append(([], [], []))
        ids, positions, labels = rows[-1]
        ids.extend(prompt + target)
        positions.extend(range(len(prompt) + len(target)))
        labels.extend([IGNORE_INDEX] * len(prompt) + target)
    width = max(len(ids) for ids, _, _ in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    position_ids = torch.zeros_like(input_ids)
    for i, (ids, positions, row_labels) in enumerate(rows):
        n, last = len(ids), positions[-1]
        input_ids[i, :n] = torch.tensor(ids)
        labels[i, :n] = torch.tensor(row_labels)
        position_ids[i, :n] = torch.tensor(positions)
        # the padding continues the last sequence's positions, so it never forms a sequence of its own
        position_ids[i, n:] = torch.arange(last + 1, last + 1 + width - n)
    return {"input_ids": input_ids, "position_ids": position_ids, "labels": labels}


def build_model(cfg: PolicyTrainConfig, tokenizer):
    """A freshly initialised ``LlamaForCausalLM`` (seeded) with a generation config for the world."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(cfg.seed)
    config = llama_config(
        len(tokenizer), cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.intermediate_size,
        special_ids(tokenizer), cfg.max_length, tie_word_embeddings=True,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    model.generation_config = generation_defaults(tokenizer, max_new_tokens=max_new_tokens(cfg.world, tokenizer))
    return model


def max_new_tokens(world: WorldConfig, tokenizer) -> int:
    """A generation budget: 1.5 times the tokens of the longest correct solution (every number at
    ``max_value``), plus EOS."""
    big = world.max_value
    steps = [*(step_text(k + 1, big, "+", big, big) for k in range(world.max_ops)), answer_text(big)]
    return int(1.5 * len(tokenizer(solution_text(steps), add_special_tokens=False)["input_ids"])) + 1


def train_policy(cfg: PolicyTrainConfig, output_dir: str | Path, progress: bool = True) -> PolicyTrainResult:
    """Train the policy described by ``cfg`` and save it to ``output_dir``."""
    from prmkit.synthetic.tokenizer import build_tokenizer

    output_dir = Path(output_dir)
    with torch_threads(cfg.threads):
        device = resolve_device(cfg.device)
        tokenizer = build_tokenizer()
        model = build_model(cfg, tokenizer).to(device)
        rng = random.Random(f"prmkit-policy:{cfg.seed}")

        def make_batch(step: int) -> dict[str, torch.Tensor]:
            problems = make_problems(cfg.world, cfg.batch_size, seed=f"train-{cfg.seed}", start=step * cfg.batch_size)
            pairs = training_texts(problems, rng, cfg.mistake_rate, cfg.mistake_kinds, cfg.habits)
            return {k: v.to(device) for k, v in encode_batch(tokenizer, pairs, cfg.max_length).items()}

        result = train_causal_lm(model, cfg, make_batch, "train policy", progress)

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    save_world(cfg.world, output_dir)
    save_config(cfg, output_dir / "train_config.yaml")
    num_parameters = sum(p.numel() for p in model.parameters())
    metrics = {
        "steps": cfg.steps,
        "seconds": round(result.seconds, 2),
        "cpu_seconds": round(result.cpu_seconds, 2),
        "num_parameters": num_parameters,
        "losses": result.losses,
    }
    (output_dir / "train_metrics.json").write_text(json.dumps(metrics) + "\n", encoding="utf-8")
    return PolicyTrainResult(output_dir, result.losses, result.seconds, num_parameters)
