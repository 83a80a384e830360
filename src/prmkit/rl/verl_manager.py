"""verl reward managers for prmkit's rewards, in the reward loop that verl's PPO trainer uses
(``verl.experimental.reward_loop``; ``reward.reward_manager.name``):

- ``prmkit``: prmkit's rewards (``prmkit.rl.verl.compute_score_batch``) with verl's own response
  lengths. verl's ``naive`` manager passes each response's text but not its length, so a length reward
  would re-tokenise the text and lose the EOS token that decoding dropped; the Format-Length release
  scores L = the valid response length (the attention-mask sum, EOS included). This manager puts it in
  ``extra_info["valid_response_length"]``.
- ``prmkit_step``: step-by-step PPO at verl's scale (Math-Shepherd). Each step's PRM score, transformed
  as ``prmkit rl ppo --mode step --step-transform`` does, goes on the response token that ends the step:
  a dense token-level reward. The PRM is loaded in-process (``prm``: a folder) or reached through
  ``prmkit serve`` (``url``).

Both read their settings from ``reward.reward_kwargs`` (``rewards`` and ``tokenizer`` for ``prmkit``;
``prm`` or ``url``, ``step_transform`` and the PRM reward's options for ``prmkit_step``). Importing this
module registers them (it needs verl installed): set ``reward.reward_manager.source=importlib``,
``reward.reward_manager.module.path`` to this file and ``reward.reward_manager.name`` to the class.
"""

from __future__ import annotations

from typing import Any

import torch
from verl.experimental.reward_loop.reward_manager import register
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from prmkit.rl.prm_rewards import PRMHTTPReward, PRMReward
from prmkit.rl.steps import dense_step_rewards, step_reward_tensor
from prmkit.rl.verl import compute_score_batch


def _settings(config: Any) -> dict[str, Any]:
    """``reward.reward_kwargs`` of verl's config, as a plain dict."""
    reward = config.get("reward") or {}
    return dict(reward.get("reward_kwargs") or {})


def _response(data: Any) -> tuple[Any, list[int], dict[str, Any]]:
    """One sample's item, its valid response ids (EOS included) and its ``extra_info``."""
    item = data[-1]  # for multi-sequence outputs, the last sequence, as verl's own managers do
    responses = item.batch["responses"]
    length = int(item.batch["attention_mask"][-responses.shape[-1] :].sum())
    return item, responses[:length].tolist(), dict(item.non_tensor_batch.get("extra_info") or {})


@register("prmkit")
class PrmkitRewardManager(RewardManagerBase):
    """prmkit's rewards, scored on verl's valid response length (see the module docstring)."""

    def __init__(self, config: Any, tokenizer: Any, compute_score: Any = None, **_: Any) -> None:
        super().__init__(config, tokenizer, compute_score)
        self.settings = _settings(config)

    async def run_single(self, data: Any) -> dict[str, Any]:
        item, ids, extra = _response(data)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        extra["valid_response_length"] = len(ids)
        source, gold = item.non_tensor_batch["data_source"], item.non_tensor_batch["reward_model"]["ground_truth"]
        (score,) = await self.loop.run_in_executor(
            None, lambda: compute_score_batch([source], [text], [gold], [extra], **self.settings)
        )
        return {"reward_score": score["score"], "reward_extra_info": score}


@register("prmkit_step")
class PrmkitStepRewardManager(RewardManagerBase):
    """Each step's transformed PRM score on the last response token of the step (see the module
    docstring); ``reward_score`` is the list of (token index, reward) pairs ``assemble_rm_scores`` places."""

    def __init__(self, config: Any, tokenizer: Any, compute_score: Any = None, **_: Any) -> None:
        super().__init__(config, tokenizer, compute_score)
        options = _settings(config)
        self.transform = options.pop("step_transform", "raw")
        url, folder = options.pop("url", ""), options.pop("prm", "")
        self.prm = PRMHTTPReward(url=url, **options) if url else PRMReward(folder, **options)

    async def run_single(self, data: Any) -> dict[str, Any]:
        _, ids, extra = _response(data)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)

        def place() -> tuple[list[tuple[int, float]], list[float]]:
            (scores,) = self.prm.step_scores(completions=[text], question=[extra.get("question", "")])
            (placed,) = dense_step_rewards([scores], [text], [ids], self.prm.step_spans, self.tokenizer, self.transform)
            return placed, scores

        placed, scores = await self.loop.run_in_executor(None, place)
        return {"reward_score": placed, "reward_extra_info": {"steps": len(scores)}}

    @classmethod
    def assemble_rm_scores(cls, data: Any, scores: list[list[tuple[int, float]]]) -> torch.Tensor:
        responses = data.batch["responses"]
        return step_reward_tensor(scores, responses.shape).to(responses.device)
