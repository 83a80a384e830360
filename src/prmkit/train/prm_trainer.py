"""The transformers ``Trainer`` for PRMs: prmkit's step loss, plus the sibling-ranking loss and an
auxiliary language-model loss, for a token-classification head or a step-likelihood head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import SequentialSampler
from transformers import Trainer

from prmkit.data.encoding import StepBatch
from prmkit.score.adapters.likelihood import step_log_likelihood, step_logits
from prmkit.train.pairs import ProblemGroupedSampler, pairwise_loss


def step_batch(inputs: dict[str, torch.Tensor]) -> StepBatch:
    """The step positions of a collated batch (``step_collator(..., step_positions=True)``)."""
    return StepBatch(inputs["input_ids"], inputs["attention_mask"], inputs["step_index"], None, inputs["step_start"])


class PRMTrainer(Trainer):
    """The Trainer plus two optional losses.

    - Sibling ranking: batches keep each problem's solutions together, and the pairs the collator
      finds among them add ``pairwise_weight`` times ``pairs.pairwise_loss``.
    - Language modelling: the backbone's final hidden states, through ``lm_output`` (vocab, hidden),
      predict each next token of the sequence; ``lm_weight`` times that cross-entropy is added.

    With ``separator`` (the step separator's token count) the model is a causal LM carrying a
    ``prm_head`` (``prmkit.score.adapters.likelihood``): its step logits are placed at the step ends of
    a (batch, length, 2) tensor ``[0, logit]``, so every loss reads them as it reads a 2-logit head.
    """

    def __init__(
        self,
        problems: Sequence[str] | None,
        pairwise_weight: float,
        lm_output: torch.Tensor | None,
        lm_weight: float,
        separator: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.separator = separator
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

    def _get_eval_sampler(self, eval_dataset: Any) -> Any:
        """Held-out rows in dataset order, never grouped by length: the ranking AUROC pairs each row
        with its problem by position. Under several processes, None lets accelerate shard the rows in
        order, and the gathered predictions come back in that order."""
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        pairs = inputs.pop("pairs", None)
        if self.separator is not None:
            labels = inputs.pop("labels")
            outputs = {"logits": self.head_logits(model, inputs)}
            loss = self.compute_loss_func(outputs, labels, num_items_in_batch)
        else:
            loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        if pairs is not None and self.pairwise_weight > 0:
            loss = loss + self.pairwise_weight * pairwise_loss(
                outputs["logits"], pairs.to(outputs["logits"].device)
            )
        if self.lm_output is not None and model.training:
            loss = loss + self.lm_weight * self.lm_loss(inputs["input_ids"], inputs["attention_mask"])
        return (loss, outputs) if return_outputs else loss

    def head_logits(self, model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, length, 2) logits, ``[0, step logit]`` at each step end and 0 elsewhere."""
        batch = step_batch(inputs)
        logits = step_logits(model, batch, self.separator)
        full = logits.new_zeros((*batch.input_ids.shape, 2))
        valid = batch.step_index >= 0
        rows = torch.arange(len(logits), device=logits.device)[:, None].expand_as(logits)
        full[rows[valid], batch.step_index[valid], 1] = logits[valid]
        return full

    def calibrate_head(self, max_solutions: int = 256) -> None:
        """Start the step-likelihood head as the backbone's calibrated likelihood: ``scale`` and the
        bias fitted by logistic regression of the step targets on ``log P(step)`` over up to
        ``max_solutions`` training solutions. Sums of token log-probabilities run to -50 and beyond
        on long steps, where ``scale = 1, b = 0`` would make every step look wrong."""
        model, head = self.model, self.model.prm_head
        rows = [self.train_dataset[i] for i in range(min(max_solutions, len(self.train_dataset)))]
        device = next(model.parameters()).device
        log_likelihood, targets = [], []
        size = self.args.per_device_train_batch_size
        with torch.no_grad():
            for start in range(0, len(rows), size):
                inputs = {k: v.to(device) for k, v in self.data_collator(rows[start : start + size]).items()}
                batch = step_batch(inputs)
                out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
                values = step_log_likelihood(out.logits, batch, self.separator)
                labels = inputs["labels"].gather(1, batch.step_index.clamp(min=0))
                keep = (batch.step_index >= 0) & (labels != -100)
                log_likelihood.append(values[keep].float().cpu())
                targets.append(labels[keep].float().cpu())
        x, y = torch.cat(log_likelihood), torch.cat(targets)
        params = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(params[0] * x + params[1], y)
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            head.scale.fill_(params[0].item())
            head.linear.bias.fill_(params[1].item())

    def lm_loss(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Next-token cross-entropy of the hidden states the forward pass just produced."""
        weight = self.lm_output.to(self.hidden.device)
        logits = self.hidden[:, :-1].float() @ weight.float().T
        targets = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
