"""What an RL step and a held-out evaluation measure.

``rollout_metrics``: the per-step reward, accuracy and length metrics of a rollout (see the key
table in ``prmkit.rl.trainer``).

``evaluate_heldout``: one greedy completion per held-out problem with the current policy (the
rollout backend at temperature 0), scored as ``accuracy`` (the extracted final answer equals the
gold one, by ``prmkit.grading``) with a 95% bootstrap interval over problems, ``boxed`` (share whose
last ``\\boxed{}`` is present and non-empty: the answer habit Format-Length rewards) and ``length``
(mean completion tokens, EOS included). The trainer evaluates before the first step, every
``eval_every`` steps and after the last one, into ``eval.jsonl`` (keyed by step, resume-safe).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from prmkit.data.prompts import render_prompt
from prmkit.data.records import Problem
from prmkit.metrics.bootstrap import bootstrap_ci
from prmkit.rl.rollout import Rollout


def answer_correct(text: str, gold: str) -> bool:
    """Whether the final answer extracted from ``text`` is equivalent to ``gold`` (no answer: wrong)."""
    from prmkit.grading import extract_answer, grade

    answer = extract_answer(text)
    return answer is not None and (answer == gold.strip() or grade(answer, gold))


def answers_correct(completions: Sequence[str], problems: Sequence[Problem]) -> list[bool] | None:
    """``answer_correct`` per completion against its problem's gold answer (None: no gold answers)."""
    if not any(p.answer.strip() for p in problems):
        return None
    return [answer_correct(text, problem.answer) for text, problem in zip(completions, problems)]


def rollout_metrics(rollout: Rollout) -> dict[str, float]:
    """Reward, accuracy and length metrics of one rollout."""
    rewards = rollout.rewards[~torch.isnan(rollout.rewards)]
    metrics: dict[str, float] = {
        "reward/total": rewards.mean().item() if rewards.numel() else math.nan,
        "reward_std": rewards.std().item() if rewards.numel() > 1 else 0.0,
    }
    for name, values in rollout.per_reward.items():
        kept = [v for v in values if v is not None]
        metrics[f"reward/{name}"] = sum(kept) / len(kept) if kept else math.nan
    if rollout.correct is not None:
        metrics["accuracy"] = sum(rollout.correct) / len(rollout.correct)
    metrics["length"] = sum(len(ids) for ids in rollout.completion_ids) / len(rollout.completion_ids)
    metrics["truncated"] = sum(rollout.truncated) / len(rollout.truncated)
    return metrics


def evaluate_heldout(
    backend: Any, problems: Sequence[Problem], template: str, max_new_tokens: int, step: int
) -> dict[str, Any]:
    """Greedy accuracy (with a bootstrap CI), boxed-answer rate and length on ``problems``."""
    from prmkit.grading import last_boxed

    prompts = [render_prompt(p, template) for p in problems]
    results = backend.generate(prompts, n=1, max_new_tokens=max_new_tokens, temperature=0)
    completions = [group[0] for group in results]
    correct = [answer_correct(c.text, p.answer) for c, p in zip(completions, problems)]
    low, high = bootstrap_ci(np.array(correct, dtype=float), np.random.default_rng(step))
    return {
        "step": step,
        "accuracy": sum(correct) / len(correct),
        "accuracy_ci": [low, high],
        "boxed": sum(bool(last_boxed(c.text)) for c in completions) / len(completions),
        "length": sum(c.num_tokens for c in completions) / len(completions),
        "problems": len(problems),
    }
