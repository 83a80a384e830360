"""A verl reward manager that gives prmkit's rewards verl's own response lengths.

verl's ``naive`` and ``batch`` reward managers pass each response's text but not its length, so a
length reward would have to re-tokenise the text, which loses the EOS token that decoding dropped. The
Format-Length release scores L = the valid response length (the attention-mask sum, EOS included).
``PrmkitRewardManager`` is verl's ``batch`` manager with that length put into each response's
``extra_info["valid_response_length"]``, which ``prmkit.rl.verl.compute_score_batch`` reads.

Importing this module registers the manager in verl under ``prmkit`` (it needs verl installed).
"""

from __future__ import annotations

from typing import Any

from verl.workers.reward_manager import register
from verl.workers.reward_manager.batch import BatchRewardManager

from prmkit.rl.verl import compute_score_batch


@register("prmkit")
class PrmkitRewardManager(BatchRewardManager):
    """verl's batch reward manager, scoring with prmkit's rewards and verl's valid response lengths."""

    def __init__(self, tokenizer: Any, num_examine: int, compute_score: Any = None, **kwargs: Any) -> None:
        super().__init__(tokenizer, num_examine, compute_score or compute_score_batch, **kwargs)

    def verify(self, data: Any) -> Any:
        prompt_len = data.batch["prompts"].shape[-1]
        lengths = data.batch["attention_mask"][:, prompt_len:].sum(dim=-1).tolist()
        extras = data.non_tensor_batch.get("extra_info")
        if extras is None:
            extras = data.non_tensor_batch["extra_info"] = [{} for _ in range(len(data))]
        for extra, length in zip(extras, lengths):
            extra["valid_response_length"] = int(length)
        return super().verify(data)
