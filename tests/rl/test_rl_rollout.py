"""One padded forward gives each completion token the same log-prob and hidden state as an unpadded
forward of that sequence alone (left-padded prompts, right-padded completions, position ids)."""

from __future__ import annotations

import pytest
import torch
from rl_tiny import make_policy
from transformers import AutoModelForCausalLM, AutoTokenizer

from prmkit.rl.rollout import pad_rows, token_stats


@pytest.fixture(scope="module")
def model_and_tok(tmp_path_factory):
    folder = make_policy(tmp_path_factory.mktemp("rollout") / "policy")
    return AutoModelForCausalLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


def test_padded_stats_match_each_sequence_alone(model_and_tok):
    model, tok = model_and_tok
    prompts = [
        tok("Mia has 3 pens.\n\n")["input_ids"],
        tok("Tom has 12 apples. He buys 4 more.\n\n")["input_ids"],
    ]
    completions = [
        tok("Step 1: 3 + 4 = 7", add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
        [5, 9],
    ]
    batch = pad_rows(prompts, completions, tok.pad_token_id, torch.device("cpu"))
    assert batch.mask.sum(1).tolist() == [len(c) for c in completions]
    with torch.no_grad():
        stats = token_stats(model, batch, temperature=0.7, hidden=True)
        for i, (prompt, completion) in enumerate(zip(prompts, completions)):
            out = model(torch.tensor([prompt + completion]), output_hidden_states=True)
            logits = out.logits[0, len(prompt) - 1 : -1] / 0.7
            expected = torch.log_softmax(logits, -1).gather(-1, torch.tensor(completion)[:, None]).squeeze(-1)
            n = len(completion)
            assert torch.allclose(stats.logprobs[i, :n], expected, atol=1e-5)
            hidden = out.hidden_states[-1][0, len(prompt) - 1 : -1]
            assert torch.allclose(stats.hidden[i, :n], hidden, atol=1e-5)
            probs = torch.softmax(logits, -1)
            assert torch.allclose(stats.entropy[i, :n], -(probs * probs.log()).sum(-1), atol=1e-4)


def test_sharing_each_prompt_within_its_group_changes_nothing(model_and_tok):
    model, tok = model_and_tok
    prompts = [
        tok("Mia has 3 pens. She buys 4 more.\n\n")["input_ids"],
        tok("Tom has 12 apples.\n\n")["input_ids"],
    ]
    g = torch.Generator().manual_seed(0)
    completions = [torch.randint(4, 400, (n,), generator=g).tolist() for n in (5, 1, 9, 3, 7, 2)]
    batch = pad_rows([prompts[0]] * 3 + [prompts[1]] * 3, completions, tok.pad_token_id, torch.device("cpu"))
    results = []
    for group_size in (1, 3):
        stats = token_stats(model, batch, temperature=0.7, hidden=True, group_size=group_size)
        (stats.logprobs * batch.mask).sum().backward()
        results.append((stats, [p.grad.clone() for p in model.parameters()]))
        model.zero_grad()
    (plain, plain_grads), (shared, shared_grads) = results
    real = batch.mask.bool()
    assert torch.allclose(plain.logprobs[real], shared.logprobs[real], atol=1e-5)
    assert torch.allclose(plain.hidden[real], shared.hidden[real], atol=1e-5)
    assert torch.allclose(plain.entropy[real], shared.entropy[real], atol=1e-5)
    for a, b in zip(plain_grads, shared_grads):
        assert torch.allclose(a, b, atol=1e-4)
