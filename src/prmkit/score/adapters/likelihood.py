"""A verifier with no training: a causal LM's probability of each step given what comes before it.

The score of step k is ``P(step_k | question, step_1..step_{k-1})``, the product of the model's
probabilities of the step's own tokens (its separator left out), so a solution's least likely step
is its weakest, as with any PRM. Read under the policy that sampled the candidates, it is the
baseline every trained PRM must beat: it knows what the policy knows, nothing more. Read under a
stronger model, it carries that model's knowledge.

The text is encoded with the step contract (``prmkit.data.encoding``); its default (the question, a
blank line, then the steps separated by blank lines) is how prmkit's policies see a solution. A
different layout is set with ``--separator`` or a ``prmkit_prm.json`` beside the model. Scores are
probabilities, not a classifier's classes: ProcessBench tunes their threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from prmkit.data.encoding import StepBatch, StepFormat
from prmkit.errors import PrmkitError
from prmkit.score.contract import PRMContract
from prmkit.score.prm import ADAPTERS, PRM, PRMConfig, load_model, load_tokenizer, resolve_step_format


@ADAPTERS.register("likelihood")
class LikelihoodPRM(PRM):
    format = "likelihood"
    predicts_class = False  # a probability of the text, not of a class

    def __init__(self, model: Any, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        self.separator_tokens = len(tokenizer.encode(step_format.separator, add_special_tokens=False))

    @classmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> LikelihoodPRM:
        from transformers import AutoModelForCausalLM

        model = load_model(AutoModelForCausalLM, folder, cfg)
        fmt = resolve_step_format(contract.step_format if contract is not None else StepFormat(), cfg)
        return cls(model, load_tokenizer(folder), fmt, cfg)

    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        if batch.step_start is None:
            raise PrmkitError("the likelihood verifier needs each step's first token (encode_steps gives it)")
        ids = batch.input_ids
        logits = self.model(input_ids=ids, attention_mask=batch.attention_mask).logits
        token_logp = logits[:, :-1].float().log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]
        cumulative = F.pad(token_logp.cumsum(-1), (1, 0))  # [b, t]: log-probability of tokens 1..t
        last = (batch.step_index - self.separator_tokens).clamp(min=0)
        before = (batch.step_start - 1).clamp(min=0)
        return (cumulative.gather(1, last) - cumulative.gather(1, before)).exp()
