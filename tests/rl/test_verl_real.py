"""prmkit's rewards called by real verl (``make test-verl``: verl pins its own transformers, so it lives
in an environment of its own; the default suite skips this file).

A ``DataProto`` is built as verl's trainer builds it, from tokenised prompts and responses with left-
and right-padding. verl's own ``naive`` and ``batch`` reward managers must put prmkit's scores on each
response's last valid token, equal to prmkit's own rewards on the same responses; prmkit's manager
must also give the length rewards verl's valid response length (EOS included).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

verl = pytest.importorskip("verl")

from verl import DataProto
from verl.workers.reward_manager import get_reward_manager_cls

from prmkit.generation.tiny import char_tokenizer
from prmkit.rl.verl import compute_score, compute_score_batch, reward_set

REWARDS = "correctness:1;format:0.5;length:0.25,max_length=40"
QUESTION = "Ann has 3 apples and buys 4. How many?"
RESPONSES = ["3 + 4 = 7\n\nThe answer is \\boxed{7}.", "3 + 4 = 8, so \\boxed{8}", "I do not know", "\\boxed{7}"]


def data_proto(tokenizer) -> tuple[DataProto, list[int]]:
    """Left-padded prompts, right-padded responses ending in EOS, as verl's rollout returns them."""
    prompt = tokenizer(QUESTION, add_special_tokens=False)["input_ids"]
    responses = [tokenizer(r, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for r in RESPONSES]
    width = max(map(len, responses)) + 3
    prompts = torch.tensor([prompt] * len(responses))
    padded = torch.full((len(responses), width), tokenizer.pad_token_id)
    mask = torch.zeros((len(responses), len(prompt) + width), dtype=torch.long)
    mask[:, : len(prompt)] = 1
    for i, ids in enumerate(responses):
        padded[i, : len(ids)] = torch.tensor(ids)
        mask[i, len(prompt) : len(prompt) + len(ids)] = 1
    batch = {"prompts": prompts, "responses": padded, "attention_mask": mask,
             "input_ids": torch.cat([prompts, padded], dim=1)}  # fmt: skip
    non_tensor = {
        "data_source": np.array(["prmkit"] * len(responses), dtype=object),
        "reward_model": np.array([{"ground_truth": "7"} for _ in responses], dtype=object),
        "extra_info": np.array([{"question": QUESTION} for _ in responses], dtype=object),
    }
    return DataProto.from_dict(tensors=batch, non_tensors=non_tensor), [len(ids) for ids in responses]


def last_token_rewards(reward_tensor: torch.Tensor, lengths: list[int]) -> list[float]:
    assert all(reward_tensor[i, : n - 1].abs().sum() == 0 for i, n in enumerate(lengths))  # sparse: the end only
    return [float(reward_tensor[i, n - 1]) for i, n in enumerate(lengths)]


def prmkit_own(lengths: list[int] | None) -> list[float]:
    columns = {"prompts": [QUESTION] * len(RESPONSES), "completions": RESPONSES, "answer": ["7"] * len(RESPONSES),
               "question": [QUESTION] * len(RESPONSES), "completion_ids": None}  # fmt: skip
    if lengths is not None:
        columns["completion_lengths"] = lengths
    return reward_set(REWARDS)(**columns).total


def test_verl_s_batch_and_naive_managers_give_prmkit_s_scores_at_the_last_valid_token():
    tokenizer = char_tokenizer()
    outcome = "correctness:1;format:0.5"
    expected = reward_set(outcome)(prompts=[QUESTION] * 4, completions=RESPONSES, answer=["7"] * 4,
                                   question=[QUESTION] * 4, completion_ids=None).total  # fmt: skip
    data, lengths = data_proto(tokenizer)
    naive = get_reward_manager_cls("naive")(tokenizer, 0, compute_score=lambda **kw: compute_score(**kw, rewards=outcome))
    assert last_token_rewards(naive(data), lengths) == pytest.approx(expected)
    data, lengths = data_proto(tokenizer)
    batch = get_reward_manager_cls("batch")(tokenizer, 0, compute_score=compute_score_batch, rewards=outcome)
    assert last_token_rewards(batch(data), lengths) == pytest.approx(expected)


def test_prmkit_s_manager_scores_length_on_verl_s_valid_response_length():
    import prmkit.rl.verl_manager  # noqa: F401  (registers "prmkit")

    tokenizer = char_tokenizer()
    data, lengths = data_proto(tokenizer)
    manager = get_reward_manager_cls("prmkit")(tokenizer, 0, rewards=REWARDS)
    got = last_token_rewards(manager(data), lengths)
    assert got == pytest.approx(prmkit_own(lengths))  # L = valid length, EOS included
    assert got != pytest.approx(prmkit_own([n - 1 for n in lengths]))  # not the re-tokenised text's length
