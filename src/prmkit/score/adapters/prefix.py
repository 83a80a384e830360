"""PRMs that score a whole sequence: a scalar value head or a sequence-classification head.

Such a model gives one score per input, so step k is scored on the prefix that ends with step k:
a solution of k steps costs k sequences (about k²/2 times the tokens of one pass). That is the nature
of the format, not a shortcut prmkit could take for every backbone (a bidirectional encoder sees the
whole input). The prefixes are cut from one encoding of the full solution (identical to encoding each
prefix, since the contract tokenizes every piece on its own) and scored in length-sorted batches.

- ``value-head``: a causal-LM backbone plus ``v_head`` weights (``v_head.summary.weight`` as TRL's
  ``AutoModelForCausalLMWithValueHead`` and Skywork PRMs save them, or ``v_head.weight``); the score is
  ``sigmoid(v_head(h))`` at the prefix's last token.
- ``sequence-classification``: ``AutoModelForSequenceClassification`` pooled at the last token;
  ``sigmoid`` of one logit, or ``softmax`` class ``positive_label`` of two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prmkit.data.encoding import EncodedSteps, StepBatch, StepFormat
from prmkit.errors import PrmkitError
from prmkit.score.adapters.token_classification import class_probability
from prmkit.score.contract import PRMContract
from prmkit.score.prm import (
    ADAPTERS,
    PRM,
    HeadPRM,
    PRMConfig,
    ProblemLike,
    StepsLike,
    fit_head,
    gather_steps,
    load_model,
    load_tokenizer,
    questions_and_steps,
    resolve_step_format,
)


def prefixes(encoded: EncodedSteps) -> list[EncodedSteps]:
    """One sequence per kept step: the tokens up to and including that step's score position."""
    return [
        EncodedSteps(input_ids=encoded.input_ids[: end + 1], step_ends=[end], num_steps=1)
        for end in encoded.step_ends
    ]


class PrefixPRM(PRM):
    """Scores step k with one pass over the prefix ending at step k (see the module docstring)."""

    def score(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> list[list[float]]:
        questions, steps = questions_and_steps(problems, solutions)
        flat: list[EncodedSteps] = []
        owners: list[int] = []
        for i, (question, solution) in enumerate(zip(questions, steps)):
            pieces = prefixes(self.encode(question, solution))
            flat.extend(pieces)
            owners.extend([i] * len(pieces))
        scores = self.score_encoded(flat, [1] * len(flat))
        out: list[list[float]] = [[] for _ in steps]
        for owner, (value,) in zip(owners, scores):
            out[owner].append(value)
        return [got + [float("nan")] * (len(s) - len(got)) for got, s in zip(out, steps)]


@ADAPTERS.register("value-head")
class ValueHeadPRM(PrefixPRM, HeadPRM):
    format = "value-head"
    predicts_class = False  # a scalar value, not a class probability

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> ValueHeadPRM:
        backbone, weights = cls.load_backbone(folder, cfg, "v_head.")
        weights = {k.removeprefix("summary."): v for k, v in weights.items()}
        if weights["weight"].shape[0] != 1:
            raise PrmkitError(f"{folder}: v_head has {weights['weight'].shape[0]} outputs, expected 1")
        head = fit_head(
            nn.Linear(backbone.config.hidden_size, 1, bias="bias" in weights), weights, backbone, folder
        )
        return cls(backbone, head, load_tokenizer(folder), resolve_step_format(contract, cfg), cfg)

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        return torch.sigmoid(self.head_at_steps(batch)[..., 0])


@ADAPTERS.register("sequence-classification")
class SequenceClassificationPRM(PrefixPRM):
    format = "sequence-classification"

    def __init__(
        self, model: Any, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig, positive_label: int = 1
    ) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        self.positive_label = positive_label
        # The model pools at the rightmost token that is not padding, so it must know the padding id.
        model.config.pad_token_id = self.pad_token_id

    @classmethod
    def from_folder(
        cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None
    ) -> SequenceClassificationPRM:
        from transformers import AutoModelForSequenceClassification

        model = load_model(AutoModelForSequenceClassification, folder, cfg)
        positive = contract.positive_label if contract is not None else 1
        return cls(model, load_tokenizer(folder), resolve_step_format(contract, cfg), cfg, positive)

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        last = gather_steps(batch.input_ids, batch.step_index)
        if bool((last == self.pad_token_id).any()):
            raise PrmkitError(
                "a prefix ends with the padding token, so the model's last-token pooling cannot find it"
            )
        logits = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        return class_probability(logits, self.positive_label).reshape(-1, 1)
