"""The transformers ``Trainer`` for PRMs: prmkit's step loss, plus the sibling-ranking loss and an
auxiliary language-model loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer

from prmkit.train.pairs import ProblemGroupedSampler, pairwise_loss


class PRMTrainer(Trainer):
    """The Trainer plus two optional losses.

    - Sibling ranking: batches keep each problem's solutions together, and the pairs the collator
      finds among them add ``pairwise_weight`` times ``pairs.pairwise_loss``.
    - Language modelling: the backbone's final hidden states, through ``lm_output`` (vocab, hidden),
      predict each next token of the sequence; ``lm_weight`` times that cross-entropy is added.
    """

    def __init__(
        self,
        problems: Sequence[str] | None,
        pairwise_weight: float,
        lm_output: torch.Tensor | None,
        lm_weight: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.problems, self.pairwise_weight = problems, pairwise_weight
        self.lm_output, self.lm_weight, self.hidden = lm_output, lm_weight, None
        if lm_output is not None:
            inner = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            backbone = getattr(inner, inner.base_model_prefix)
            backbone.register_forward_hook(lambda module, args, output: setattr(self, "hidden", output[0]))

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        if self.problems is None:
            return super()._get_train_sampler(train_dataset)
        return ProblemGroupedSampler(self.problems, self.args.seed)

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        pairs = inputs.pop("pairs", None)
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        if pairs is not None and self.pairwise_weight > 0:
            loss = loss + self.pairwise_weight * pairwise_loss(
                outputs["logits"], pairs.to(outputs["logits"].device)
            )
        if self.lm_output is not None and model.training:
            loss = loss + self.lm_weight * self.lm_loss(inputs["input_ids"], inputs["attention_mask"])
        return (loss, outputs) if return_outputs else loss

    def lm_loss(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Next-token cross-entropy of the hidden states the forward pass just produced."""
        weight = self.lm_output.to(self.hidden.device)
        logits = self.hidden[:, :-1].float() @ weight.float().T
        targets = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
