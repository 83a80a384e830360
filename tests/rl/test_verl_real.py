"""prmkit's rewards called by real verl (``make test-verl``: verl pins its own transformers, so it lives
in an environment of its own; the default suite skips this file).

A ``DataProto`` is built as verl's trainer builds it, from tokenised prompts and responses with left-
and right-padding. verl's own ``naive`` and ``batch`` reward managers must put prmkit's scores on each
response's last valid token, equal to prmkit's own rewards on the same responses. prmkit's managers
run as verl's reward loop runs them (``run_single`` per sample, then ``assemble_rm_scores``): ``prmkit``
must give the length rewards verl's valid response length (EOS included), and ``prmkit_step`` must
put each step's PRM reward on the step's last token.
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


def reward_loop(name: str, tokenizer, settings: dict, data: DataProto) -> torch.Tensor:
    """``rm_scores`` as verl's reward loop computes them: ``run_single`` on each sample, then the
    manager class's ``assemble_rm_scores``."""
    import asyncio

    from omegaconf import OmegaConf
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls as loop_manager

    import prmkit.rl.verl_manager  # noqa: F401  (registers "prmkit" and "prmkit_step")

    cls = loop_manager(name)
    config = OmegaConf.create({"reward": {"reward_kwargs": settings}})

    async def run() -> list[dict]:
        manager = cls(config, tokenizer, None)
        return await asyncio.gather(*(manager.run_single(data[i : i + 1]) for i in range(len(data))))

    return cls.assemble_rm_scores(data, [out["reward_score"] for out in asyncio.run(run())])


def test_prmkit_s_manager_scores_length_on_verl_s_valid_response_length():
    tokenizer = char_tokenizer()
    data, lengths = data_proto(tokenizer)
    got = last_token_rewards(reward_loop("prmkit", tokenizer, {"rewards": REWARDS}, data), lengths)
    assert got == pytest.approx(prmkit_own(lengths))  # L = valid length, EOS included
    assert got != pytest.approx(prmkit_own([n - 1 for n in lengths]))  # not the re-tokenised text's length


@pytest.mark.parametrize("transform", ["raw", "delta"])
def test_the_step_manager_puts_each_step_s_prm_score_on_the_step_s_last_token(tmp_path, transform):
    from prmkit.rl.prm_rewards import PRMReward, step_spans
    from prmkit.rl.steps import step_rewards
    from prmkit.score import tiny

    folder = str(tiny.make_prmkit_prm(tmp_path / "prm"))
    tokenizer = char_tokenizer()  # one token per character: a step ending at character e ends at token e - 1
    data, lengths = data_proto(tokenizer)
    settings = {"prm": folder, "step_transform": transform, "device": "cpu"}
    got = reward_loop("prmkit_step", tokenizer, settings, data)
    own = PRMReward(folder, device="cpu").step_scores(completions=RESPONSES, question=[QUESTION] * len(RESPONSES))
    for i, text in enumerate(RESPONSES):
        expected = torch.zeros(got.shape[1])
        for (_, end), reward in zip(step_spans(text), step_rewards(own[i], transform)):
            expected[end - 1] += reward
        assert len(own[i]) == len(step_spans(text)) >= 1
        assert got[i].tolist() == pytest.approx(expected.tolist(), abs=1e-6)  # nothing on EOS or padding
        assert got[i, lengths[i] - 1] == 0  # the EOS token ends no step
    assert got[0].count_nonzero() == 2  # the two-step response: a reward at the end of each step
