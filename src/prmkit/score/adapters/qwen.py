"""The Qwen2.5-Math-PRM format: ``<extra_0>`` after each step, a two-logit head, P = softmax class 1.

The released models name the architecture ``Qwen2ForProcessRewardModel`` and ship their own modeling
code. prmkit never runs it: the backbone loads with ``AutoModel`` from safetensors (its ``model.*``
weights), and the head ``score = Sequential(Linear(h, h), ReLU, Linear(h, 2))`` is built here and
filled from the ``score.*`` tensors.

Input, as on the model card: a chat with the system prompt below, the question as the user turn and
``"<extra_0>".join(steps) + "<extra_0>"`` as the assistant turn. The chat template renders the part
before the assistant's text once; steps and ``<extra_0>`` tokens are appended by the step-encoding
contract, so scores are read at every ``<extra_0>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from prmkit.data.encoding import StepBatch, StepFormat
from prmkit.errors import PrmkitError
from prmkit.score.contract import PRMContract
from prmkit.score.prm import (
    ADAPTERS,
    HeadPRM,
    PRMConfig,
    fit_head,
    load_tokenizer,
    resolve_step_format,
)

STEP_TOKEN = "<extra_0>"
SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."
_QUESTION = "\x00prmkit-question\x00"
_ANSWER = "\x00prmkit-answer\x00"


class ProcessRewardHead(nn.Sequential):
    """Qwen2ForProcessRewardModel's head: Linear(h, h), ReLU, Linear(h, num_labels)."""

    def __init__(self, hidden_size: int, num_labels: int = 2) -> None:
        super().__init__(nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, num_labels))


def chat_step_format(
    tokenizer: Any, system_prompt: str = SYSTEM_PROMPT, step_token: str = STEP_TOKEN
) -> StepFormat:
    """The StepFormat that reproduces the model card's chat input up to the last ``<extra_0>``."""
    if not getattr(tokenizer, "chat_template", None):
        raise PrmkitError("the qwen-prm format needs a tokenizer with a chat template")
    messages = [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": _QUESTION},
        {"role": "assistant", "content": _ANSWER},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    head, found, _ = text.partition(_ANSWER)
    if not found or _QUESTION not in head:
        raise PrmkitError(
            "the chat template drops the user or assistant text; cannot build the qwen-prm input"
        )
    template = head.replace("{", "{{").replace("}", "}}").replace(_QUESTION, "{question}")
    return StepFormat(separator=step_token, prompt_template=template, question_separator="", add_bos=False)


def qwen_step_format(tokenizer: Any, contract: PRMContract | None, cfg: PRMConfig) -> StepFormat:
    """The folder's contract, else the model card's chat input, with the config's overrides."""
    default = None if contract is not None else chat_step_format(tokenizer, SYSTEM_PROMPT, STEP_TOKEN)
    return resolve_step_format(contract, cfg, default)


@ADAPTERS.register("qwen-prm")
class QwenPRM(HeadPRM):
    format = "qwen-prm"

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> QwenPRM:
        backbone, weights = cls.load_backbone(folder, cfg, "score.")
        head = fit_head(
            ProcessRewardHead(backbone.config.hidden_size, weights["2.weight"].shape[0]),
            weights,
            backbone,
            folder,
        )
        tokenizer = load_tokenizer(folder)
        return cls(backbone, head, tokenizer, qwen_step_format(tokenizer, contract, cfg), cfg)

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        return self.head_at_steps(batch).softmax(-1)[..., 1]
