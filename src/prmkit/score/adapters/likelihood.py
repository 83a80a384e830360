"""Verifiers read from a causal LM's probability of each step given what comes before it.

``likelihood`` (no training): the score of step k is ``P(step_k | question, step_1..step_{k-1})``, the
product of the model's probabilities of the step's own tokens (its separator left out), so a
solution's least likely step is its weakest, as with any PRM. Read under the policy that sampled the
candidates, it is the baseline every trained PRM must beat: it knows what the policy knows, nothing
more. Read under a stronger model, it carries that model's knowledge. Its scores are probabilities
of the text, not a classifier's classes: ProcessBench tunes their threshold.

``prmkit-likelihood`` (trained by ``prmkit train prm --head likelihood``): a causal LM with a small
head, ``prm_head.*`` in the same safetensors file. The logit of step k is
``w . h_k + b + scale * log P(step_k | prefix)``, where ``h_k`` is the last hidden state at the step's
last separator token; P(correct) is its sigmoid. The head starts at ``w = 0, b = 0, scale = 1``, so
an untrained one ranks exactly as the ``likelihood`` verifier of its backbone, and training can only
start from what the backbone already knows.

The text is encoded with the step contract (``prmkit.data.encoding``); its default (the question, a
blank line, then the steps separated by blank lines) is how prmkit's policies see a solution. A
different layout is set with ``--separator`` or a ``prmkit_prm.json`` beside the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

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

HEAD_PREFIX = "prm_head."


def separator_tokens(tokenizer: Any, step_format: StepFormat) -> int:
    """How many tokens the step separator adds after each step (left out of the step's likelihood)."""
    return len(tokenizer.encode(step_format.separator, add_special_tokens=False))


def step_log_likelihood(logits: torch.Tensor, batch: StepBatch, separator: int) -> torch.Tensor:
    """``log P(step | prefix)`` per step, (batch, max_steps), from a causal LM's (batch, length, vocab)
    logits: the summed log-probabilities of the tokens from ``batch.step_start`` to
    ``batch.step_index - separator``. Rows padded with -1 read garbage that the caller masks."""
    if batch.step_start is None:
        raise PrmkitError("a likelihood verifier needs each step's first token (encode_steps gives it)")
    logits = logits[:, :-1].float()
    token_logp = logits.gather(-1, batch.input_ids[:, 1:, None])[..., 0] - logits.logsumexp(-1)
    cumulative = F.pad(token_logp.cumsum(-1), (1, 0))  # [b, t]: log-probability of tokens 1..t
    last = (batch.step_index - separator).clamp(min=0)
    before = (batch.step_start - 1).clamp(min=0)
    return cumulative.gather(1, last) - cumulative.gather(1, before)


class StepLikelihoodHead(torch.nn.Module):
    """``w . h + b + scale * log P(step)``: a linear head plus a learned multiple of the step's
    log-likelihood, starting as the likelihood itself (``w = 0, b = 0, scale = 1``)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, hidden: torch.Tensor, log_likelihood: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.to(self.linear.weight.dtype))[..., 0] + self.scale * log_likelihood


def step_logits(model: Any, batch: StepBatch, separator: int, out: Any = None) -> torch.Tensor:
    """The head's logit at every step, (batch, max_steps): one forward pass of the causal LM that
    carries ``model.prm_head`` (``out``: that pass's output, with hidden states, when already run)."""
    if out is None:
        out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True)
    log_likelihood = step_log_likelihood(out.logits, batch, separator)
    hidden = gather_steps(out.hidden_states[-1], batch.step_index)
    return model.prm_head(hidden, log_likelihood)


class _CausalLMVerifier(PRM):
    """Shared loading: a causal LM from the folder and the contract's (or default) step format."""

    def __init__(self, model: Any, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        self.separator = separator_tokens(tokenizer, step_format)

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> _CausalLMVerifier:
        from transformers import AutoModelForCausalLM

        model = load_model(AutoModelForCausalLM, folder, cfg)
        return cls(model, load_tokenizer(folder), resolve_step_format(contract, cfg), cfg)


@ADAPTERS.register("likelihood")
class LikelihoodPRM(_CausalLMVerifier):
    format = "likelihood"
    predicts_class = False  # a probability of the text, not of a class

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        logits = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        return step_log_likelihood(logits, batch, self.separator).exp()


@ADAPTERS.register("prmkit-likelihood")
class LikelihoodHeadPRM(_CausalLMVerifier):
    format = "prmkit-likelihood"
    predicts_class = True  # trained as a classifier of step correctness: 0.5 is its decision

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> LikelihoodHeadPRM:
        prm = super().from_folder(folder, cfg, contract)
        head = StepLikelihoodHead(prm.model.config.hidden_size)
        state = read_tensors(folder, HEAD_PREFIX)
        try:
            head.load_state_dict(state)
        except RuntimeError as exc:
            raise PrmkitError(f"{folder}: the {HEAD_PREFIX}* weights do not fit the head: {exc}") from None
        prm.model.prm_head = head.to(prm.device).eval()
        return prm  # type: ignore[return-value]

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        return torch.sigmoid(step_logits(self.model, batch, self.separator))
