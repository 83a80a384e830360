"""prmkit's own PRMs (and TRL's): a token-classification head read at each step's separator.

With ``num_labels=2`` the score is ``softmax(logits)[positive_label]``; with one label (a regression
head) it is ``sigmoid(logit)``. A folder without ``prmkit_prm.json`` is read with TRL's PRMTrainer
layout: BOS, the prompt, then each step followed by ``"\\n"`` (no separator after the prompt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from prmkit.data.encoding import StepBatch, StepFormat
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

TRL_STEP_FORMAT = StepFormat(separator="\n", question_separator="")


def class_probability(logits: torch.Tensor, positive_label: int) -> torch.Tensor:
    """P(correct) from a head's logits (..., num_labels): softmax for 2+ labels, sigmoid for one."""
    logits = logits.float()
    if logits.shape[-1] == 1:
        return torch.sigmoid(logits[..., 0])
    return logits.softmax(-1)[..., positive_label]


@ADAPTERS.register("prmkit")
class TokenClassificationPRM(PRM):
    format = "prmkit"

    def __init__(
        self, model: Any, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig, positive_label: int = 1
    ) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        self.positive_label = positive_label

    @classmethod
    def from_folder(
        cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None
    ) -> TokenClassificationPRM:
        from transformers import AutoModelForTokenClassification

        model = load_model(AutoModelForTokenClassification, folder, cfg)
        positive = contract.positive_label if contract is not None else 1
        return cls(
            model, load_tokenizer(folder), resolve_step_format(contract, cfg, TRL_STEP_FORMAT), cfg, positive
        )

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        logits = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        return class_probability(gather_steps(logits, batch.step_index), self.positive_label)
