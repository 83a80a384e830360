"""Math-Shepherd's LM-head PRM: P("+") against P("-") at each step tag ``ки``.

Input, as on the model card and in the released data: ``f"{question} {steps}"`` where every step ends
with `` ки`` and steps are joined by a newline, tokenized as one text (that is how these models were
trained, so it is kept here rather than the per-piece step contract). The card then reads the logits
of the candidate tokens ``encode("+ -")`` wherever ``input_ids == encode("ки")[-1]``. That search is
fragile: ``" ки"`` and ``"ки"`` can be different tokens, and the tag can merge with the text around it
(``"ки\\nStep"``), so positions go missing silently. Here positions come from the tokenizer's
character offsets: prmkit knows where each tag sits in the text it built, and reads the token that
holds the tag's last character. Only the hidden states at those positions go through the LM head.

Options (``prmkit_prm.json`` ``options``): ``tag`` (default ``ки``) and ``candidates`` (default
``"+ -"``: the good token, then the bad one). The StepFormat's ``separator`` (default `` ки\\n``,
written as `` ки`` after the last step), ``question_separator`` and ``max_length`` apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from prmkit.data.encoding import EncodedSteps, StepBatch, StepFormat
from prmkit.data.formats.math_shepherd import TAG  # the step tag of the data and of the model
from prmkit.errors import ConfigError, PrmkitError
from prmkit.score.contract import PRMContract
from prmkit.score.prm import (
    ADAPTERS,
    PRM,
    PRMConfig,
    gather_steps,
    load_model,
    load_tokenizer,
    resolve_step_format,
)

CANDIDATES = "+ -"
MATH_SHEPHERD_STEP_FORMAT = StepFormat(separator=f" {TAG}\n", question_separator=" ")


def tagged_text(question: str, steps: list[str], fmt: StepFormat, tag: str) -> tuple[str, list[int]]:
    """The model card's input text and the character index of each tag's last character."""
    q_sep = fmt.separator if fmt.question_separator is None else fmt.question_separator
    text = fmt.prompt_template.format(question=question) + q_sep
    tag_in_sep = fmt.separator.rfind(tag)
    if tag_in_sep < 0:
        raise ConfigError(f"the step separator {fmt.separator!r} does not contain the tag {tag!r}")
    last_chars = []
    for i, step in enumerate(steps):
        text += step
        last_chars.append(len(text) + tag_in_sep + len(tag) - 1)
        text += fmt.separator if i + 1 < len(steps) else fmt.separator[: tag_in_sep + len(tag)]
    return text, last_chars


def tag_positions(offsets: list[tuple[int, int]], last_chars: list[int]) -> list[int]:
    """For each character index, the index of the token whose span holds it."""
    owner: dict[int, int] = {}
    for i, (a, b) in enumerate(offsets):
        for c in range(a, b):
            owner[c] = i  # the last token holding the character (byte-level BPE can split one)
    missing = [c for c in last_chars if c not in owner]
    if missing:
        raise PrmkitError(f"no token covers the step tag at characters {missing}; the tokenizer drops it")
    return [owner[c] for c in last_chars]


def encode_tagged(
    tokenizer: Any, question: str, steps: list[str], fmt: StepFormat, tag: str, max_length: int | None
) -> EncodedSteps:
    """The model card's text as token ids, each step's score read at the token holding its tag's last
    character; steps whose tag falls beyond ``max_length`` tokens are dropped."""
    text, last_chars = tagged_text(question, steps, fmt, tag)
    enc = tokenizer(text, add_special_tokens=fmt.add_bos, return_offsets_mapping=True)
    ids, ends = enc["input_ids"], tag_positions(enc["offset_mapping"], last_chars)
    if max_length is not None and len(ids) > max_length:
        ids = ids[:max_length]
        ends = [e for e in ends if e < len(ids)]
    return EncodedSteps(input_ids=ids, step_ends=ends, num_steps=len(ends))


def candidate_ids(tokenizer: Any, candidates: str) -> list[int]:
    """The good and bad token ids, as the model card takes them: ``encode("+ -")`` without specials."""
    ids = tokenizer.encode(candidates, add_special_tokens=False)
    if len(ids) != 2:
        raise ConfigError(f"candidates {candidates!r} encode to {len(ids)} tokens, need 2 (good, bad)")
    return ids


@ADAPTERS.register("math-shepherd")
class MathShepherdPRM(PRM):
    format = "math-shepherd"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        step_format: StepFormat,
        cfg: PRMConfig,
        tag: str = TAG,
        candidates: str = CANDIDATES,
    ) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        if not getattr(tokenizer, "is_fast", False):
            raise PrmkitError("the math-shepherd format needs a fast tokenizer (character offsets)")
        self.tag = tag
        self.candidates = torch.tensor(candidate_ids(tokenizer, candidates), device=self.device)

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> MathShepherdPRM:
        from transformers import AutoModelForCausalLM

        model = load_model(AutoModelForCausalLM, folder, cfg)
        options = contract.options if contract is not None else {}
        tag, candidates = options.get("tag", TAG), options.get("candidates", CANDIDATES)
        fmt = resolve_step_format(contract, cfg, MATH_SHEPHERD_STEP_FORMAT)
        return cls(model, load_tokenizer(folder), fmt, cfg, tag, candidates)

    def encode(self, question: str, steps: list[str], cut: bool = True) -> EncodedSteps:
        return encode_tagged(self.tokenizer, question, steps, self.step_format, self.tag, self.max_length if cut else None)

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        hidden = self.model.base_model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        logits = self.model.get_output_embeddings()(gather_steps(hidden, batch.step_index))
        return logits[..., self.candidates].float().softmax(-1)[..., 0]
