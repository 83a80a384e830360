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
    PRM,
    PRMConfig,
    gather_steps,
    load_model,
    load_tokenizer,
    read_tensors,
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


@ADAPTERS.register("qwen-prm")
class QwenPRM(PRM):
    format = "qwen-prm"

    def __init__(
        self, model: Any, head: nn.Module, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig
    ) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        self.head = head.eval()

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> QwenPRM:
        from transformers import AutoModel

        backbone = load_model(AutoModel, folder, cfg)
        weights = read_tensors(folder, "score.")
        head = ProcessRewardHead(backbone.config.hidden_size, weights["2.weight"].shape[0])
        head.load_state_dict(weights)
        head.to(device=backbone.device, dtype=backbone.dtype)
        tokenizer = load_tokenizer(folder)
        options = contract.options if contract is not None else {}
        if contract is not None:
            fmt = contract.step_format
        else:
            fmt = chat_step_format(
                tokenizer, options.get("system_prompt", SYSTEM_PROMPT), options.get("step_token", STEP_TOKEN)
            )
        return cls(backbone, head, tokenizer, resolve_step_format(fmt, cfg), cfg)

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        hidden = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        logits = self.head(gather_steps(hidden, batch.step_index))
        return logits.float().softmax(-1)[..., 1]
