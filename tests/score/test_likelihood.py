"""The likelihood verifier against a direct computation: one forward pass per step, token by token."""

from __future__ import annotations

import math

import pytest
import torch

from prmkit.data.encoding import StepFormat, encode_steps
from prmkit.generation.tiny import save_tiny_llama
from prmkit.score import PRMConfig, load_prm

QUESTION = "Tom has 7 apples. He buys 6 more. How many now?"
SOLUTIONS = [["7 + 6 = 13", "The answer is \\boxed{13}."], ["7 + 6 = 12", "", "The answer is \\boxed{12}."]]


def direct_step_probability(model, tokenizer, question: str, steps: list[str], k: int) -> float:
    """P(step k | question, steps before it): the product of its own tokens' probabilities."""
    before = encode_steps(tokenizer, question, steps[:k]).input_ids
    own = tokenizer.encode(steps[k], add_special_tokens=False)
    logp = 0.0
    for i, token in enumerate(own):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([before + own[:i]])).logits[0, -1]
        logp += logits.float().log_softmax(-1)[token].item()
    return math.exp(logp)


def test_step_likelihood_equals_the_direct_computation(tmp_path):
    folder = save_tiny_llama(tmp_path / "policy")
    prm = load_prm(PRMConfig(prm=str(folder), format="likelihood", device="cpu", batch_size=2))
    assert not prm.predicts_class
    scores = prm.score([QUESTION, QUESTION], SOLUTIONS)
    for steps, row in zip(SOLUTIONS, scores):
        expected = [direct_step_probability(prm.model, prm.tokenizer, QUESTION, steps, k) for k in range(len(steps))]
        assert row == pytest.approx(expected, rel=1e-4)
    assert scores[1][1] == 1.0  # an empty step has probability 1: nothing to predict


def test_a_separator_of_several_tokens_is_left_out_of_the_step(tmp_path):
    folder = save_tiny_llama(tmp_path / "policy")
    prm = load_prm(PRMConfig(prm=str(folder), format="likelihood", device="cpu", separator="\n--\n"))
    assert prm.separator == 4 and prm.step_format == StepFormat(separator="\n--\n")
    (row,) = prm.score([QUESTION], [SOLUTIONS[0]])
    before = encode_steps(prm.tokenizer, QUESTION, [], prm.step_format).input_ids
    own = prm.tokenizer.encode(SOLUTIONS[0][0], add_special_tokens=False)
    with torch.no_grad():
        logits = prm.model(input_ids=torch.tensor([before + own])).logits[0]
    logp = sum(logits[len(before) - 1 + i].log_softmax(-1)[t].item() for i, t in enumerate(own))
    assert row[0] == pytest.approx(math.exp(logp), rel=1e-4)


def test_an_untrained_likelihood_head_is_the_likelihood_and_a_trained_one_reads_its_head(tmp_path):
    """w = 0, b = 0, scale = 1 at the start: logit(score) is log P(step). With head weights set, the
    score is sigmoid(w . h + b + scale * log P(step)) with h the hidden state at the step's last token."""
    from safetensors.torch import load_file, save_file

    from prmkit.train.prm import init_prm
    from prmkit.train.prm_config import PRMTrainConfig

    backbone = save_tiny_llama(tmp_path / "policy")
    folder = init_prm(PRMTrainConfig(model=str(backbone), output_dir=str(tmp_path / "prm"), head="likelihood")).output_dir
    prm = load_prm(PRMConfig(prm=str(folder), device="cpu"))  # the format is detected from the folder
    assert prm.format == "prmkit-likelihood" and prm.predicts_class
    likelihood = load_prm(PRMConfig(prm=str(backbone), format="likelihood", device="cpu"))
    want = likelihood.score([QUESTION] * 2, SOLUTIONS)
    got = prm.score([QUESTION] * 2, SOLUTIONS)
    for row, expected in zip(got, want):
        assert row == pytest.approx([p / (1 + p) for p in expected], rel=1e-3)  # sigmoid(log p)

    weights = load_file(str(folder / "model.safetensors"))
    torch.manual_seed(1)
    weights["prm_head.linear.weight"] = torch.randn_like(weights["prm_head.linear.weight"])
    weights["prm_head.linear.bias"] = torch.tensor([0.3])
    weights["prm_head.scale"] = torch.tensor(0.5)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    prm = load_prm(PRMConfig(prm=str(folder), device="cpu"))
    (row,) = prm.score([QUESTION], [SOLUTIONS[0]])
    enc = encode_steps(prm.tokenizer, QUESTION, SOLUTIONS[0], prm.step_format)
    with torch.no_grad():
        hidden = prm.model(input_ids=torch.tensor([enc.input_ids]), output_hidden_states=True).hidden_states[-1][0]
    for k, end in enumerate(enc.step_ends):
        log_p = math.log(direct_step_probability(prm.model, prm.tokenizer, QUESTION, SOLUTIONS[0], k))
        logit = hidden[end] @ weights["prm_head.linear.weight"][0] + 0.3 + 0.5 * log_p
        assert row[k] == pytest.approx(torch.sigmoid(logit).item(), rel=1e-4)
