"""The verl adapter, called the way verl calls a custom reward function."""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest

import prmkit.rl.verl as verl_adapter
from prmkit.data.records import Problem
from prmkit.rl.rewards import length_reward


def load_like_verl(path: str, name: str, reward_kwargs: dict):
    """What verl's ``get_custom_reward_fn`` does: import the file by path as ``custom_module``, take
    ``name`` and pass ``custom_reward_function.reward_kwargs`` on every call."""
    spec = importlib.util.spec_from_file_location("custom_module", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_module"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["custom_module"]
    raw_fn = getattr(module, name)
    return lambda *args, **kwargs: raw_fn(*args, **kwargs, **reward_kwargs)


def test_compute_score_per_response_like_the_naive_reward_manager():
    compute_score = load_like_verl(
        verl_adapter.__file__, "compute_score", {"rewards": "correctness;format:0.5"}
    )
    good = compute_score(data_source="prmkit", solution_str="Step 1: 2 + 3 = 5\n\nThe answer is \\boxed{5}.",
                         ground_truth="5", extra_info={"question": "q", "index": 0})  # fmt: skip
    assert good == {"score": 1.5, "correctness": 1.0, "format": 1.0}
    unboxed = compute_score(
        data_source="prmkit", solution_str="The answer is 5.", ground_truth="5", extra_info=None
    )
    assert unboxed == {"score": 1.0, "correctness": 1.0, "format": 0.0}


def test_compute_score_batch_like_the_batch_reward_manager(monkeypatch):
    monkeypatch.setenv("PRMKIT_REWARDS", "correctness:1;format:0")  # configured by the environment
    scores = verl_adapter.compute_score_batch(
        data_sources=["a", "b", "c"],
        solution_strs=["\\boxed{7}", "\\boxed{8}", "\\boxed{7}"],
        ground_truths=[["7", "seven"], 7, None],  # a list (first item used), a number, none
        extra_infos=[{"question": "q"}, None, {}],
    )
    assert [s["score"] for s in scores] == [1.0, 0.0, 0.0]  # no reward applies to the last: score 0
    assert [s["correctness"] for s in scores][:2] == [1.0, 0.0] and math.isnan(scores[2]["correctness"])
    assert [s["format"] for s in scores] == [1.0, 1.0, 1.0]


def test_length_rewards_count_tokens_with_the_policy_tokenizer(tmp_path, monkeypatch):
    from prmkit.synthetic.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    tokenizer.save_pretrained(tmp_path / "tok")
    monkeypatch.setenv("PRMKIT_TOKENIZER", str(tmp_path / "tok"))
    texts = ["Step 1: 3 + 2 = 5\n\nThe answer is \\boxed{5}.", "Step 1: 3 + 2 = 5"]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    scores = verl_adapter.compute_score_batch(
        ["s", "s"],
        texts,
        ["5", "5"],
        None,
        rewards="format_length:1,max_length=40,variant=code;length:0,max_length=40",
    )
    r = [length_reward(n / 40) for n in lengths]
    assert [s["length"] for s in scores] == pytest.approx(r)
    assert [s["score"] for s in scores] == pytest.approx([0.5 + r[0], min(0.0, r[1])])


def test_verl_rows_carry_the_gold_answer_and_the_question():
    problem = Problem(id="p1", question="What is 2 + 3?", answer="5")
    row = verl_adapter.verl_rows([problem], "{question} Put the answer in \\boxed{{}}.", "synthetic")[0]
    assert row["prompt"] == [{"role": "user", "content": "What is 2 + 3? Put the answer in \\boxed{}."}]
    assert row["reward_model"]["ground_truth"] == "5" and row["extra_info"]["question"] == "What is 2 + 3?"
    score = verl_adapter.compute_score(
        row["data_source"], "\\boxed{5}", row["reward_model"]["ground_truth"], row["extra_info"]
    )
    assert score["score"] == 1.0


def test_the_documented_verl_recipe_builds_its_rewards():
    import re
    import subprocess
    from pathlib import Path

    script = Path(__file__).parents[2] / "configs" / "verl-grpo-format-length.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    default = re.search(r'REWARDS=\$\{REWARDS:-"(.+)"\}', text)[1].replace("${MAX_RESPONSE}", "3072")
    assert verl_adapter.reward_set(default).names == ["format_length", "correctness"]
    assert "custom_reward_function.name=compute_score_batch" in text and "reward_manager=batch" in text


def test_the_step_ppo_recipe_uses_prmkit_s_step_manager():
    import subprocess
    from pathlib import Path

    script = Path(__file__).parents[2] / "configs" / "verl-ppo-math-shepherd-step.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "reward.reward_manager.name=prmkit_step" in text and "prmkit.rl.verl_manager" in text
    assert "algorithm.kl_ctrl.kl_coef=0.04" in text  # Math-Shepherd's KL coefficient


def test_length_rewards_use_the_valid_response_length_verl_passes(monkeypatch):
    """The released Format-Length code scores verl's valid response length (EOS included), not a
    re-tokenisation of the decoded text, which has lost the EOS token."""
    monkeypatch.delenv("PRMKIT_TOKENIZER", raising=False)
    texts = ["The answer is \\boxed{5}.", "no answer"]
    extras = [{"question": "q", "valid_response_length": 21}, {"question": "q", "valid_response_length": 40}]
    scores = verl_adapter.compute_score_batch(
        ["s", "s"], texts, ["5", "5"], extras, rewards="format_length:1,max_length=40,variant=code"
    )
    assert [s["score"] for s in scores] == pytest.approx([0.5 + length_reward(21 / 40), min(0.0, length_reward(1.0))])
