"""Reward functions against hand-worked values, the TRL contract, and a real trl.GRPOTrainer run."""

from __future__ import annotations

import math
import threading

import pytest

from prmkit.errors import ConfigError
from prmkit.rl.rewards import (
    REWARDS,
    CorrectnessReward,
    FormatLengthReward,
    FormatReward,
    LengthReward,
    RewardSet,
    RewardSpec,
    format_length,
    length_reward,
    parsable,
)

NAN = float("nan")


# -- length: Format-Length Eq. 2-3, worked by hand ---------------------------------------------------


@pytest.mark.parametrize(
    "x, peak, expected",
    [
        (0.0, 0.5, 0.0),  # R_l(0) = 0
        (0.25, 0.5, 0.75),  # 1 - (1 - 0.25/0.5)^2 = 1 - 0.25
        (0.5, 0.5, 1.0),  # the peak
        (0.75, 0.5, 0.5),  # 1 - 2 (0.25/0.5)^2 = 1 - 0.5
        (1.0, 0.5, -1.0),  # 1 - 2 (0.5/0.5)^2
        (1.5, 0.5, -1.0),  # clipped to x = 1 (the released code would give 1 - 2 * 2^2 = -7)
        (-0.2, 0.5, 0.0),  # clipped to x = 0
        (0.4, 0.8, 0.75),  # 1 - (1 - 0.4/0.8)^2
        (0.9, 0.8, 0.5),  # 1 - 2 (0.1/0.2)^2
        (0.3, 1.0, 0.51),  # p = 1: no long penalty, 1 - 0.7^2
    ],
)
def test_length_reward_matches_hand_values(x, peak, expected):
    assert length_reward(x, peak) == pytest.approx(expected)


def test_length_reward_is_continuous_at_the_peak():
    assert length_reward(0.5 - 1e-9) == pytest.approx(length_reward(0.5 + 1e-9), abs=1e-6)
    with pytest.raises(ValueError):
        length_reward(0.5, peak=0.0)


# -- format_length: the paper's Eq. 5 and the released code's 0.5 weight ----------------------------


@pytest.mark.parametrize(
    "formatted, r_length, paper, code",
    [
        (True, 0.75, 1.75, 1.25),  # x = 0.25: R_f + R_l vs 0.5 R_f + R_l
        (True, 0.5, 1.5, 1.0),  # x = 0.75
        (True, -1.0, 0.0, -0.5),  # x = 1: a formatted response at the limit
        (False, 0.75, 0.0, 0.0),  # bad format: min(0, R_l) never pays
        (False, -1.0, -1.0, -1.0),  # bad format and too long
    ],
)
def test_format_length_variants(formatted, r_length, paper, code):
    assert format_length(formatted, r_length, "paper") == pytest.approx(paper)
    assert format_length(formatted, r_length, "code") == pytest.approx(code)
    with pytest.raises(ValueError):
        format_length(formatted, r_length, "both")  # type: ignore[arg-type]


# -- format: the last box, present, non-empty and parsable ------------------------------------------

FORMAT_CASES = [
    ("Step 1: 2 + 3 = 5\n\nThe answer is \\boxed{5}.", 1.0),
    ("\\boxed{\\frac{3}{2}}", 1.0),  # the paper's examples of right format ...
    ("\\boxed{x^2 + 12y =1}", 1.0),
    ("\\boxed{(0,\\infty)}", 1.0),
    ("\\boxed{}", 0.0),  # ... and of wrong format: empty,
    ("\\boxed{x +* 2}", 0.0),  # malformed operators (math-verify alone would read 2),
    ("\\boxed{(0,1 }", 0.0),  # an unclosed interval
    ("The answer is 5.", 0.0),  # no box at all: graded right, but not formatted
    ("Mia has 5 pens.", 0.0),
    ("\\boxed{1} and finally \\boxed{x +* 2}", 0.0),  # the LAST box counts (math-verify takes the first)
    ("\\boxed{x +* 2} and finally \\boxed{17.}", 1.0),  # a trailing period is dropped
    ("", 0.0),
]


def test_format_reward_reads_the_last_box():
    texts, expected = zip(*FORMAT_CASES)
    assert FormatReward()(completions=list(texts)) == list(expected)


def test_format_reward_works_off_the_main_thread():
    texts, expected = zip(*FORMAT_CASES[:6])
    got = []
    thread = threading.Thread(target=lambda: got.append(FormatReward()(completions=list(texts))))
    thread.start()
    thread.join(60)
    assert got == [list(expected)]


def test_parsable_gives_up_on_answers_that_never_finish():
    # building this interval compares its ends, so parsing evaluates the tower and spins for minutes:
    # the grading pool's worker is killed at the deadline and the answer counts as unparsable
    assert parsable(["(1, 9^{9^{9^{9}}})", "(1, 9)"], timeout=1.0) == [False, True]


# -- correctness --------------------------------------------------------------------------------------


def test_correctness_grades_against_the_gold_column():
    completions = [
        "Step 1: 2 + 3 = 5\n\nThe answer is \\boxed{5}.",
        "The answer is 5.",  # no box, but extract_answer's phrase fallback finds 5
        "Step 1: 2 + 3 = 5",  # no final answer at all
        "\\boxed{\\frac{10}{2}}",  # equivalent
        "\\boxed{6}",
        "\\boxed{5}",  # no gold answer for this row
        "\\boxed{5}",
    ]
    answer = ["5", "5", "5", "5", "5", None, 5]  # numbers are read as text
    assert CorrectnessReward()(completions=completions, answer=answer) == [1.0, 1.0, 0.0, 1.0, 0.0, None, 1.0]
    assert CorrectnessReward()(completions=["\\boxed{5}"]) == [None]  # no answer column


def test_chat_completions_are_read_from_the_last_message():
    chat = [[{"role": "assistant", "content": "so \\boxed{4}"}]]
    assert CorrectnessReward()(completions=chat, answer=["4"]) == [1.0]
    assert FormatReward()(completions=chat) == [1.0]


# -- length-based rewards on token ids -----------------------------------------------------------------


def test_length_and_format_length_use_token_counts():
    texts = ["\\boxed{5}", "\\boxed{5}", "\\boxed{5}", "no box", "no box"]
    ids = [[0] * 2, [0] * 6, [0] * 12, [0] * 2, [0] * 8]  # x = 0.25, 0.75, 1.5 -> 1, 0.25, 1
    assert LengthReward(max_length=8)(completions=texts, completion_ids=ids) == pytest.approx(
        [0.75, 0.5, -1, 0.75, -1]
    )
    paper = FormatLengthReward(max_length=8)(completions=texts, completion_ids=ids)
    code = FormatLengthReward(max_length=8, variant="code")(completions=texts, completion_ids=ids)
    assert paper == pytest.approx([1.75, 1.5, 0.0, 0.0, -1.0])
    assert code == pytest.approx([1.25, 1.0, -0.5, 0.0, -1.0])
    with pytest.raises(ConfigError, match="completion_ids"):
        LengthReward(max_length=8)(completions=texts)
    with pytest.raises(ConfigError, match="max_length"):
        LengthReward()


# -- the registry and RewardSet -----------------------------------------------------------------------


def test_every_builtin_is_registered_with_its_logging_name():
    assert {"correctness", "format", "length", "format_length", "prm", "prm_http"} <= set(REWARDS.names())
    for name, options in [
        ("correctness", {}),
        ("format", {}),
        ("length", {"max_length": 4}),
        ("format_length", {"max_length": 4}),
    ]:
        assert REWARDS.get(name)(**options).__name__ == name


def test_reward_set_weights_and_reports_each_reward():
    rewards = RewardSet.from_specs(
        [
            RewardSpec("correctness", 2.0),
            RewardSpec("format", 0.5),
            RewardSpec("length", -1.0, {"max_length": 4}),
        ]
    )
    out = rewards(
        prompts=["q1", "q2", "q3"],
        completions=["\\boxed{5}", "\\boxed{x +* 2}", "The answer is 7."],
        completion_ids=[[1, 2], [1, 2, 3, 4], [1]],  # x = 0.5, 1, 0.25 -> R_l = 1, -1, 0.75
        answer=["5", "5", None],
        trainer_state=object(),  # TRL passes these too; rewards ignore them
        log_metric=print,
    )
    assert out.per_reward == {
        "correctness": [1.0, 0.0, None],
        "format": [1.0, 0.0, 0.0],
        "length": pytest.approx([1.0, -1.0, 0.75]),
    }
    # 2 * 1 + 0.5 * 1 - 1 * 1; 0 + 0 + 1; None skipped: 0 - 0.75
    assert out.total == pytest.approx([1.5, 1.0, -0.75])
    assert rewards.weights == [2.0, 0.5, -1.0] and rewards.names == ["correctness", "format", "length"]


def test_reward_set_rows_no_reward_applies_to_are_nan():
    out = RewardSet.from_specs([RewardSpec("correctness")])(completions=["\\boxed{1}"], answer=[None])
    assert out.per_reward == {"correctness": [None]} and math.isnan(out.total[0])


def test_reward_set_refuses_bad_specs():
    with pytest.raises(ConfigError, match="unknown reward"):
        RewardSet.from_specs([RewardSpec("nope")])
    with pytest.raises(ConfigError, match="bad options"):
        RewardSet.from_specs([RewardSpec("format", options={"colour": "red"})])
    with pytest.raises(ConfigError, match="twice"):
        RewardSet.from_specs([RewardSpec("format"), RewardSpec("format", 2.0)])
    with pytest.raises(ValueError):
        RewardSpec("format", weight=NAN)


# -- a real trl.GRPOTrainer -----------------------------------------------------------------------------


class Spy:
    """Forwards to a reward and records what TRL passed and what the reward returned."""

    def __init__(self, fn):
        self.fn, self.__name__, self.calls = fn, fn.__name__, []

    def __call__(self, **kwargs):
        out = self.fn(**kwargs)
        self.calls.append((kwargs, out))
        return out


def test_rewards_plug_into_trl_grpo_trainer(tmp_path):
    trl = pytest.importorskip("trl")
    import datasets
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from prmkit.synthetic.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=256, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    rows = [
        {"prompt": f"Mia has {a} pens. She buys 2 more. How many pens does Mia have now?\n\n",
         "question": f"Mia has {a} pens. She buys 2 more. How many pens does Mia have now?",
         "answer": str(a + 2), "problem_id": f"p{a}"}
        for a in (3, 4, 5, 6)
    ]  # fmt: skip
    spies = [
        Spy(CorrectnessReward()),
        Spy(FormatReward()),
        Spy(FormatLengthReward(max_length=12, variant="code")),
    ]
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=4, num_generations=2,
        max_completion_length=12, learning_rate=1e-4, logging_steps=1, save_strategy="no", report_to="none",
        use_cpu=True, bf16=False, activation_checkpointing=False, reward_weights=[1.0, 0.5, 1.0], seed=0,
    )  # fmt: skip
    trainer = trl.GRPOTrainer(
        model=str(tmp_path / "model"), reward_funcs=spies, args=args,
        train_dataset=datasets.Dataset.from_list(rows), processing_class=tokenizer,
    )  # fmt: skip
    trainer.train()

    by_prompt = {row["prompt"]: row for row in rows}
    for spy in spies:
        assert spy.calls, f"{spy.__name__} was never called"
        for kwargs, out in spy.calls:
            n = len(kwargs["completions"])
            assert n == len(out) == len(kwargs["completion_ids"]) == len(kwargs["prompts"])
            for i, prompt in enumerate(kwargs["prompts"]):  # every dataset column, row-aligned
                row = by_prompt[prompt]
                assert (kwargs["question"][i], kwargs["answer"][i], kwargs["problem_id"][i]) == (
                    row["question"], row["answer"], row["problem_id"],
                )  # fmt: skip
    logged = next(entry for entry in trainer.state.log_history if "rewards/correctness/mean" in entry)
    for spy in spies:
        values = [v for _, out in spy.calls for v in out]
        assert logged[f"rewards/{spy.__name__}/mean"] == pytest.approx(sum(values) / len(values), abs=1e-5)
