"""The transformers ``Trainer`` for PRMs: prmkit's step loss, plus the sibling-ranking loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import Trainer

from prmkit.train.pairs import ProblemGroupedSampler, pairwise_loss


class PRMTrainer(Trainer):
    """The Trainer plus the sibling-ranking loss: batches keep each problem's solutions together, and
    the pairs the collator finds among them add ``pairwise_weight`` times ``pairs.pairwise_loss``."""

    def __init__(self, problems: Sequence[str] | None, pairwise_weight: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems, self.pairwise_weight = problems, pairwise_weight

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
        return (loss, outputs) if return_outputs else loss
