"""How good is a policy on the arithmetic world: accuracy and where its first errors fall.

Sampling uses plain ``model.generate`` on left-padded batches; each completion is split into steps
and judged by the exact checker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.progress import track

from prmkit.data.prompts import render_prompt, solution_from_text
from prmkit.data.records import Problem
from prmkit.devices import resolve_device
from prmkit.synthetic.checker import CheckResult, check
from prmkit.synthetic.config import EvalConfig
from prmkit.synthetic.world import load_world, make_problems


@torch.no_grad()
def sample_completions(
    model,
    tokenizer,
    prompts: list[str],
    temperature: float = 0.0,
    max_new_tokens: int | None = None,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> list[str]:
    """One completion per prompt; ``temperature`` 0 means greedy. Seeded with ``torch.manual_seed``;
    ``max_new_tokens`` None keeps the model's generation config."""
    torch.manual_seed(seed)
    device = next(model.parameters()).device
    sampling = {"do_sample": True, "temperature": temperature, "top_k": 0} if temperature > 0 else {"do_sample": False}
    out: list[str] = []
    starts = range(0, len(prompts), batch_size)
    for start in track(starts, description="sample", disable=not progress):
        enc = tokenizer(prompts[start : start + batch_size], return_tensors="pt", padding=True, padding_side="left")
        enc = {k: v.to(device) for k, v in enc.items()}
        if max_new_tokens is not None:
            sampling["max_new_tokens"] = max_new_tokens
        ids = model.generate(**enc, pad_token_id=tokenizer.pad_token_id, **sampling)
        out.extend(tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True))
    return out


@dataclass
class PolicyEval:
    temperature: float
    results: list[CheckResult]
    texts: list[str] = field(repr=False)

    @property
    def accuracy(self) -> float:
        return sum(r.correct for r in self.results) / len(self.results)

    @property
    def first_errors(self) -> dict[int, int]:
        """Histogram of first-error positions (0-based) of the wrong samples; -1 counts those that stop
        early with no wrong step."""
        return dict(sorted(Counter(r.first_error for r in self.results if not r.correct).items()))

    @property
    def reasons(self) -> dict[str, int]:
        return dict(Counter(r.reason or "incomplete" for r in self.results if not r.correct).most_common())


def evaluate_policy(
    model, tokenizer, problems: list[Problem], temperature: float = 0.0, batch_size: int = 64, seed: int = 0
) -> PolicyEval:
    """Sample one solution per problem and check it exactly."""
    prompts = [render_prompt(p) for p in problems]
    texts = sample_completions(model, tokenizer, prompts, temperature, batch_size=batch_size, seed=seed)
    results = [check(p, solution_from_text(p, t, f"{p.id}-eval").steps) for p, t in zip(problems, texts)]
    return PolicyEval(temperature=temperature, results=results, texts=texts)


def evaluate_saved_policy(model: Path, cfg: EvalConfig) -> dict[float, PolicyEval]:
    """``evaluate_policy`` of a saved policy at each of ``cfg.temperatures``, on ``cfg.count`` fresh problems
    of the world it was trained on."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    problems = make_problems(load_world(model), cfg.count, cfg.seed, split="held-out")
    lm = AutoModelForCausalLM.from_pretrained(model).to(resolve_device(cfg.device)).eval()
    tokenizer = AutoTokenizer.from_pretrained(model)
    return {t: evaluate_policy(lm, tokenizer, problems, t, cfg.batch_size, cfg.sample_seed) for t in cfg.temperatures}
