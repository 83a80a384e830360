"""prmkit's rewards as a verl custom reward function, for multi-GPU and multi-node GRPO/PPO runs.

verl loads this file by path (``custom_reward_function.path=$(python -c "import prmkit.rl.verl as m;
print(m.__file__)")``) and calls, per response with its ``naive`` reward manager,
``compute_score(data_source, solution_str, ground_truth, extra_info=None, **reward_kwargs)``, or, with
``reward_manager=batch`` (``custom_reward_function.name=compute_score_batch``), once per batch
``compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **reward_kwargs)``. The
batch form sends one grading job and one PRM request per batch instead of one per response: use it.

Both return ``{"score": total, <reward name>: value, ...}`` per response, so verl logs every reward on
its own next to the weighted total. Configuration comes from ``custom_reward_function.reward_kwargs``
(or, when a key is absent there, from the environment variable in brackets):

- ``rewards`` [``PRMKIT_REWARDS``]: ``;``-separated specs in ``prmkit rl``'s ``--reward`` syntax,
  ``name[:weight][,key=value...]``, e.g. ``format_length:1,max_length=3072,variant=code;correctness:0``
  (a weight-0 reward is logged but does not train). Default ``correctness``.
- ``tokenizer`` [``PRMKIT_TOKENIZER``]: a Hugging Face tokenizer folder (the policy's) to count
  response tokens for the ``length`` and ``format_length`` rewards when verl does not pass the length.

**Response length.** The Format-Length release scores L = verl's valid response length (the
response's attention-mask sum, EOS included), which its own reward manager passes in. A reward
manager that puts it in ``extra_info["valid_response_length"]`` gets exactly that; otherwise the
decoded text is re-tokenised, which drops the EOS token that ``skip_special_tokens`` removed.

``ground_truth`` is the gold ``answer``; the question the PRM rewards score against comes from
``extra_info["question"]`` (``verl_rows`` writes it). A response no reward applies to scores 0.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import Any

from prmkit.rl.rewards import RewardSet

REWARDS_ENV = "PRMKIT_REWARDS"
TOKENIZER_ENV = "PRMKIT_TOKENIZER"
DEFAULT_REWARDS = "correctness"


@functools.lru_cache(maxsize=8)
def reward_set(rewards: str) -> RewardSet:
    """The RewardSet for a ``;``-separated spec string (built once per process and spec)."""
    from prmkit.rl.config import parse_reward

    return RewardSet.from_specs([parse_reward(spec) for spec in rewards.split(";") if spec.strip()])


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    rewards: str | None = None,
    tokenizer: str | None = None,
    **_: Any,
) -> list[dict[str, float]]:
    """verl's batch reward-manager signature: one ``{"score": ..., <reward>: ...}`` per response."""
    rewards = rewards or os.environ.get(REWARDS_ENV) or DEFAULT_REWARDS
    tokenizer = tokenizer or os.environ.get(TOKENIZER_ENV) or None
    extras = [e or {} for e in (extra_infos if extra_infos is not None else [None] * len(solution_strs))]
    columns: dict[str, Any] = {
        "prompts": [e.get("question", "") for e in extras],
        "completions": list(solution_strs),
        "completion_ids": None,
        "answer": [_gold(g) for g in ground_truths],
        "question": [e.get("question", "") for e in extras],
        "data_source": list(data_sources),
    }
    lengths = [e.get("valid_response_length") for e in extras]
    if all(length is not None for length in lengths):
        columns["completion_lengths"] = [int(length) for length in lengths]
    elif tokenizer is not None:
        tok = _tokenizer(tokenizer)
        columns["completion_ids"] = [
            tok(text, add_special_tokens=False)["input_ids"] for text in solution_strs
        ]
    out = reward_set(rewards)(**columns)
    return [
        {
            "score": 0.0 if math.isnan(total) else total,
            **{name: math.nan if values[i] is None else values[i] for name, values in out.per_reward.items()},
        }
        for i, total in enumerate(out.total)
    ]


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """verl's custom reward-function signature (naive reward manager): one response at a time."""
    (score,) = compute_score_batch(
        [data_source], [solution_str], [ground_truth], [extra_info], **reward_kwargs
    )
    return score


def _gold(ground_truth: Any) -> str | None:
    """verl's ``ground_truth`` as a gold answer: a string, a number, or a list whose first item is used."""
    if isinstance(ground_truth, (list, tuple)) or type(ground_truth).__name__ == "ndarray":
        ground_truth = ground_truth[0] if len(ground_truth) else None
    return None if ground_truth is None else str(ground_truth)


def verl_rows(
    problems: Sequence[Any],
    prompt_template: str = "{question}",
    data_source: str = "prmkit",
    system: str | None = None,
) -> list[dict[str, Any]]:
    """verl parquet rows for prmkit Problems: a chat ``prompt`` (an optional ``system`` message, then the
    question in ``prompt_template``), ``reward_model.ground_truth`` (the gold answer) and ``extra_info``
    with the ``question`` and problem ``id``; write them with ``datasets.Dataset.from_list(rows).to_parquet(path)``."""
    head = [{"role": "system", "content": system}] if system else []
    return [
        {
            "data_source": data_source,
            "prompt": [*head, {"role": "user", "content": prompt_template.format(question=p.question)}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": p.answer or ""},
            "extra_info": {"question": p.question, "id": p.id, "index": i},
        }
        for i, p in enumerate(problems)
    ]
