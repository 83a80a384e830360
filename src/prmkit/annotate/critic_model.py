"""A small generative critic trained from scratch: the synthetic world's stand-in for a judge LLM.

It reads a question and its steps, tagged as in ProcessBench's critique prompt (``<paragraph_i>``,
indexed from 0), and reviews them paragraph by paragraph: for each it writes the step it expects
(its own solution of the problem) and ``+`` when the paragraph agrees or ``-`` at the first one that
does not, where it stops (as Qwen's judge prompt asks); it ends with ``\\boxed{k}``, the earliest
wrong paragraph, or ``\\boxed{-1}``::

    Step 1: 2 * 5 = 10 +
    Step 2: 10 / 5 = 2 -
    \\boxed{1}

Working the problem out itself gives a tiny model dense supervision (a bare index is too sparse to
learn from in a few hundred steps); the judge reads only the box. The prompt drops ProcessBench's
instructions (``CRITIC_TEMPLATE``): a model trained on one task needs none, and the full template
would triple the sequence length.

Training data come from their own problem stream, ``critic-{seed}`` (ids ``synth-critic-{seed}-*``),
never used to make the problems it labels; the judge refuses those ids. Each problem gets its correct
solution or, with probability ``mistake_rate``, one with an injected mistake, labelled by the exact
checker; the mistakes are of every kind (``CRITIC_KINDS``), ``operand`` included, which the policy
does not train on but makes itself. The model is a tiny Llama like the policy (same tokenizer plus
two tag tokens, the policy's model builder and packing) trained briefly, so it is imperfect in its
own way and its errors do not follow Monte Carlo's. The output directory is a plain transformers
model (any backend can serve it) plus ``prmkit_critic.json``, which tells the judge its template,
answer budget and training stream.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import torch

from prmkit.annotate.critic_config import CRITIC_FILE, CriticTrainConfig
from prmkit.config import save_config
from prmkit.data.records import Problem
from prmkit.devices import resolve_device
from prmkit.evaluate.critic import CriticVerdict, critique_prompt
from prmkit.generation.base import GenerationConfig
from prmkit.generation.hf import TransformersBackend
from prmkit.metrics.processbench import subset_metrics
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import check
from prmkit.synthetic.mistakes import inject_mistake
from prmkit.synthetic.render import solution_steps
from prmkit.synthetic.world import WorldConfig, make_problems
from prmkit.train.loop import torch_threads, train_causal_lm
from prmkit.train.policy import build_model, encode_batch, max_new_tokens

CRITIC_TEMPLATE = "{problem}\n\n{tagged_response}\n\n"
TAG_TOKENS = ("<paragraph_", "</paragraph_")


def problem_stream(seed: int) -> str:
    """The problem stream the critic trains on."""
    return f"critic-{seed}"


def critic_tokenizer() -> Any:
    """The world's tokenizer plus the paragraph tags as single tokens."""
    from prmkit.synthetic.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    tokenizer.add_tokens(list(TAG_TOKENS))
    return tokenizer


def critic_examples(
    problems: list[Problem], rng: random.Random, cfg: CriticTrainConfig
) -> list[tuple[list[str], int, Problem]]:
    """(steps, true first error, problem): correct solutions, and injected mistakes in a ``mistake_rate`` share."""
    out = []
    for problem in problems:
        chain = Chain.from_problem(problem)
        steps = (
            inject_mistake(chain, rng, cfg.mistake_kinds).steps
            if rng.random() < cfg.mistake_rate
            else solution_steps(chain)
        )
        out.append((steps, check(chain, steps).first_error, problem))
    return out


def critic_target(chain: Chain, num_steps: int, label: int) -> str:
    """The review of a solution with ``num_steps`` steps whose first error is ``label`` (see the module doc)."""
    expected = solution_steps(chain)
    end = num_steps if label < 0 else label + 1
    lines = [
        f"{expected[i] if i < len(expected) else '(end)'} {'-' if i == label else '+'}" for i in range(end)
    ]
    return "\n".join([*lines, f"\\boxed{{{label}}}"])


def critic_pair(problem: Problem, steps: list[str], label: int) -> tuple[str, str]:
    """(prompt, target) for one training example."""
    prompt = critique_prompt(problem.question, steps, CRITIC_TEMPLATE)
    return prompt, critic_target(Chain.from_problem(problem), len(steps), label)


def answer_tokens(world: WorldConfig, tokenizer: Any) -> int:
    """A generation budget for the longest review: the policy's budget plus a mark per step and the box."""
    return max_new_tokens(world, tokenizer) + 2 * (world.max_ops + 2) + 8


def evaluate_critic(
    backend: TransformersBackend, examples: list[tuple[list[str], int, Problem]]
) -> dict[str, float]:
    """Greedy first-error accuracy and the ProcessBench metric of a critic on labelled examples."""
    prompts = [critique_prompt(p.question, steps, CRITIC_TEMPLATE) for steps, _, p in examples]
    outputs = backend.generate(
        prompts, n=1, max_new_tokens=backend.model.generation_config.max_new_tokens, temperature=0.0
    )
    preds = [
        CriticVerdict.from_outputs([o[0].text], len(steps)).prediction
        for o, (steps, _, _) in zip(outputs, examples)
    ]
    labels = [label for _, label, _ in examples]
    metrics = subset_metrics(labels, preds)
    metrics["first_error_accuracy"] = sum(p == y for p, y in zip(preds, labels)) / len(labels)
    return metrics


def train_critic(cfg: CriticTrainConfig, output_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train the critic, save it to ``output_dir`` and return its metrics (also in ``train_metrics.json``)."""
    output_dir = Path(output_dir)
    with torch_threads(cfg.threads):
        device = resolve_device(cfg.device)
        tokenizer = critic_tokenizer()
        model = build_model(cfg, tokenizer).to(device)
        model.generation_config.max_new_tokens = answer_tokens(cfg.world, tokenizer)
        rng = random.Random(f"prmkit-critic:{cfg.seed}")

        def make_batch(step: int) -> dict[str, torch.Tensor]:
            problems = make_problems(cfg.world, cfg.batch_size, problem_stream(cfg.seed), start=step * cfg.batch_size)
            pairs = [critic_pair(p, steps, label) for steps, label, p in critic_examples(problems, rng, cfg)]
            return {k: v.to(device) for k, v in encode_batch(tokenizer, pairs, cfg.max_length).items()}

        result = train_causal_lm(model, cfg, make_batch, "train critic", progress)
        held_out = make_problems(cfg.world, cfg.eval_problems, f"critic-eval-{cfg.seed}", split="held-out")
        backend = TransformersBackend(GenerationConfig(batch_size=64), model=model, tokenizer=tokenizer)
        metrics = evaluate_critic(backend, critic_examples(held_out, random.Random(cfg.seed), cfg))

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    info = {
        "template": CRITIC_TEMPLATE,
        "problem_stream": problem_stream(cfg.seed),
        "max_new_tokens": model.generation_config.max_new_tokens,
        "world": cfg.world.to_dict(),
    }
    (output_dir / CRITIC_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    save_config(cfg, output_dir / "train_config.yaml")
    summary = {
        "steps": cfg.steps,
        "seconds": round(result.seconds, 2),
        "final_loss": result.losses[-1],
        "held_out": metrics,
    }
    (output_dir / "train_metrics.json").write_text(
        json.dumps({**summary, "losses": result.losses}) + "\n", encoding="utf-8"
    )
    return summary
