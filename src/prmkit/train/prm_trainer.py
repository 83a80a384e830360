"""The transformers ``Trainer`` for PRMs: prmkit's step loss, plus the sibling-ranking loss and a
language-model loss on the steps labelled right, for a token-classification head or a step-likelihood
head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import SequentialSampler
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

from prmkit.data.encoding import StepBatch
from prmkit.score.adapters.likelihood import step_log_likelihood, step_logits
from prmkit.train.pairs import ProblemGroupedSampler, pairwise_loss
from prmkit.train.prm_data import IGNORE

POSITIONS = ("step_index", "step_start")


def step_batch(inputs: dict[str, torch.Tensor]) -> StepBatch:
    """The step positions of a collated batch (``step_collator(..., step_positions=True)``)."""
    return StepBatch(inputs["input_ids"], inputs["attention_mask"], inputs["step_index"], None, inputs["step_start"])


def right_step_tokens(batch: StepBatch, labels: torch.Tensor, objective: str = "prm") -> torch.Tensor:
    """(batch, length) bool: the tokens of every step labelled right (target >= 0.5), separators
    included. For an ORM, whose one target sits on the last step, every step of a solution whose final
    answer is right: self-training on outcome-correct solutions."""
    if batch.step_start is None:
        raise ValueError("right_step_tokens needs each step's first token (step_collator(step_positions=True))")
    present = batch.step_index >= 0
    targets = labels.gather(1, batch.step_index.clamp(min=0))
    labelled = present & (targets != IGNORE)
    if objective == "orm":
        solution_right = (targets.masked_fill(~labelled, IGNORE).amax(-1, keepdim=True) >= 0.5)
        right = present & solution_right
    else:
        right = labelled & (targets >= 0.5)
    edges = torch.zeros(labels.shape[0], labels.shape[1] + 1, dtype=torch.long, device=labels.device)
    edges.scatter_add_(1, batch.step_start.clamp(min=0), right.long())
    edges.scatter_add_(1, batch.step_index.clamp(min=0) + 1, -right.long())
    return edges.cumsum(-1)[:, :-1] > 0


def next_token_loss(logits: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The summed cross-entropy of predicting each token where ``mask`` holds from the logits one
    position before it: ``-log P`` of the masked text (0, with a gradient path, when none is masked)."""
    targets = input_ids[:, 1:].masked_fill(~mask[:, 1:], -100)
    flat = logits[:, :-1].float().reshape(-1, logits.shape[-1])
    return F.cross_entropy(flat, targets.reshape(-1), ignore_index=-100, reduction="sum")


class EpochSeededLengthSampler(LengthGroupedSampler):
    """Batches of similar length, in an order drawn from the seed and the epoch alone. The stock
    sampler draws it from the global RNG, whose state where a resumed run re-enters an epoch is not the
    uninterrupted run's: the resumed run then trained on other batches than the run it continues."""

    def __init__(self, batch_size: int, dataset: Any, seed: int) -> None:
        super().__init__(batch_size, dataset=dataset, model_input_name="input_ids")
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Any:
        self.generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return super().__iter__()


class PRMTrainer(Trainer):
    """The Trainer plus two optional losses.

    - Sibling ranking: batches keep each problem's solutions together, and the pairs the collator
      finds among them add ``pairwise_weight`` times ``pairs.pairwise_loss``.
    - Language modelling on the steps labelled right (``right_step_tokens``): the backbone learns to
      write what the labels call right, a target per token where the step loss has one per step.
      ``lm_weight`` times ``-log P`` of those steps, per labelled step (the step loss's own
      denominator, so that gradient accumulation and several processes give the one-process loss),
      is added. A causal LM with a ``prm_head``
      predicts the tokens with its own output layer; a token-classification model through
      ``lm_output`` (vocab, hidden), the backbone's output embeddings.

    With ``separator`` (the step separator's token count) the model is a causal LM carrying a
    ``prm_head`` (``prmkit.score.adapters.likelihood``): its step logits are placed at the step ends of
    a (batch, length, 2) tensor ``[0, logit]``, so every loss reads them as it reads a 2-logit head.
    """

    def __init__(
        self,
        *,
        problems: Sequence[str] | None = None,
        pairwise_weight: float = 0.0,
        lm_weight: float = 0.0,
        lm_output: torch.Tensor | None = None,
        separator: int | None = None,
        objective: str = "prm",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.separator, self.objective = separator, objective
        self.problems, self.pairwise_weight = problems, pairwise_weight
        self.lm_output, self.lm_weight, self.hidden = lm_output, lm_weight, None
        if lm_weight > 0 and separator is None:
            if lm_output is None:
                raise ValueError("a language-model loss on a token-classification model needs lm_output")
            inner = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            backbone = getattr(inner, inner.base_model_prefix)
            backbone.register_forward_hook(lambda module, args, output: setattr(self, "hidden", output[0]))

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        if self.problems is not None:
            return ProblemGroupedSampler(self.problems, self.args.seed)
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return EpochSeededLengthSampler(batch, train_dataset or self.train_dataset, seed=self.args.seed)

    def _get_eval_sampler(self, eval_dataset: Any) -> Any:
        """Held-out rows in dataset order, never grouped by length: the ranking AUROC pairs each row
        with its problem by position. Under several processes, None lets accelerate shard the rows in
        order, and the gathered predictions come back in that order."""
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        pairs = inputs.pop("pairs", None)
        positions = {k: inputs.pop(k) for k in POSITIONS if k in inputs}
        # Losses divided by num_items_in_batch (labelled steps in the accumulated batch of every process)
        # are multiplied by the processes' count, which DDP's gradient mean divides out, as the Trainer does.
        spread = self.accelerator.num_processes if self.args.average_tokens_across_devices and num_items_in_batch else 1
        batch = step_batch({**inputs, **positions}) if positions else None
        if self.separator is not None:
            labels = inputs.pop("labels")
            out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True)
            outputs = {"logits": self.place_step_logits(step_logits(model, batch, self.separator, out), batch)}
            loss = spread * self.compute_loss_func(outputs, labels, num_items_in_batch)
            lm_logits = out.logits
        else:
            labels = inputs["labels"]
            loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)  # scaled there
            lm_logits = None
        if pairs is not None and self.pairwise_weight > 0:  # a per-batch mean
            per_batch = 1.0 / max(getattr(self, "current_gradient_accumulation_steps", 1), 1)
            loss = loss + per_batch * self.pairwise_weight * pairwise_loss(
                outputs["logits"], pairs.to(outputs["logits"].device)
            )
        if self.lm_weight > 0 and model.training:
            if lm_logits is None:
                lm_logits = self.hidden.float() @ self.lm_output.to(self.hidden.device).float().T
            mask = right_step_tokens(batch, labels, self.objective)
            steps = num_items_in_batch if num_items_in_batch is not None else (labels != IGNORE).sum().clamp(min=1)
            loss = loss + spread * self.lm_weight * next_token_loss(lm_logits, inputs["input_ids"], mask) / steps
        return (loss, outputs) if return_outputs else loss

    @staticmethod
    def place_step_logits(logits: torch.Tensor, batch: StepBatch) -> torch.Tensor:
        """(batch, length, 2) logits, ``[0, step logit]`` at each step end and 0 elsewhere."""
        full = logits.new_zeros((*batch.input_ids.shape, 2))
        valid = batch.step_index >= 0
        rows = torch.arange(len(logits), device=logits.device)[:, None].expand_as(logits)
        full[rows[valid], batch.step_index[valid], 1] = logits[valid]
        return full


def calibrate_head(
    model: Any, dataset: Any, collator: Any, separator: int, batch_size: int, max_solutions: int = 256
) -> None:
    """Start a causal LM's step-likelihood head (``model.prm_head``) as the backbone's calibrated
    likelihood: ``scale`` and the bias fitted by logistic regression of the step targets on
    ``log P(step)`` over up to ``max_solutions`` of ``dataset``'s solutions. Sums of token
    log-probabilities run to -50 and beyond on long steps, where ``scale = 1, b = 0`` would make every
    step look wrong. Run whenever the head is built, so that an untrained head is a calibrated one."""
    head = model.prm_head
    rows = [dataset[i] for i in range(min(max_solutions, len(dataset)))]
    device = next(model.parameters()).device
    log_likelihood, targets = [], []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            inputs = {k: v.to(device) for k, v in collator(rows[start : start + batch_size]).items()}
            batch = step_batch(inputs)
            out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            values = step_log_likelihood(out.logits, batch, separator)
            labels = inputs["labels"].gather(1, batch.step_index.clamp(min=0))
            keep = (batch.step_index >= 0) & (labels != IGNORE)
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
