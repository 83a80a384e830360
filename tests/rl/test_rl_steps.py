"""Step rewards land on the last token of each step: token offsets, placement and transforms."""

from __future__ import annotations

import math

import pytest

from prmkit.rl.prm_rewards import step_spans
from prmkit.rl.steps import last_tokens, place_step_rewards, step_rewards, token_char_ends
from prmkit.synthetic.tokenizer import build_tokenizer

TEXT = "Step 1: 3 + 4 = 7\n\nStep 2: 7 * 2 = 14\n\nThe answer is \\boxed{14}."


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def _sampled_ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]


def test_char_ends_cover_the_text_and_eos_adds_nothing(tok):
    ids = _sampled_ids(tok, TEXT)
    ends = token_char_ends(tok, TEXT, ids)
    assert len(ends) == len(ids)
    assert ends == sorted(ends) and ends[-1] == ends[-2] == len(TEXT)
    for k in range(len(ids)):  # every end is exactly the decoded prefix
        assert ends[k] == len(tok.decode(ids[: k + 1], skip_special_tokens=True))


def test_non_canonical_ids_fall_back_to_prefix_decoding(tok):
    # "Step" spelled letter by letter: decodes to the same text, but re-tokenizing gives other ids
    letters = [tok.convert_tokens_to_ids(ch) for ch in "Step"]
    ids = letters + tok(" 1: 3 + 4 = 7", add_special_tokens=False)["input_ids"]
    text = tok.decode(ids)
    assert text == "Step 1: 3 + 4 = 7"
    ends = token_char_ends(tok, text, ids)
    assert ends[:4] == [1, 2, 3, 4] and ends[-1] == len(text)


def test_each_step_reward_sits_on_the_token_that_ends_the_step(tok):
    ids = _sampled_ids(tok, TEXT)
    spans = step_spans(TEXT)
    assert [TEXT[a:b] for a, b in spans] == TEXT.split("\n\n")
    placed = place_step_rewards([0.9, 0.2, 0.6], spans, token_char_ends(tok, TEXT, ids), "raw")
    positions = [t for t, _ in placed]
    for t, (_, end) in zip(positions, spans):
        # the prefix through token t holds the whole step; the prefix before it does not
        assert len(tok.decode(ids[: t + 1], skip_special_tokens=True)) >= end
        assert len(tok.decode(ids[:t], skip_special_tokens=True)) < end
    decoded = [tok.decode([ids[t]]) for t in positions]
    assert decoded == ["7", "4", "."]  # last pieces of "= 7", "= 14", "\boxed{14}."
    assert tok.decode([ids[positions[0] + 1]]) == "\n\n"  # the separator is the next token, not this one
    assert [r for _, r in placed] == [0.9, 0.2, 0.6]


def test_last_tokens_by_hand():
    # tokens cover "ab" "c" "\n\n" "de": ends 2, 3, 5, 7; steps "abc" (0, 3) and "de" (5, 7)
    assert last_tokens([2, 3, 5, 7], [(0, 3), (5, 7)]) == [1, 3]
    assert last_tokens([2, 3, 5, 7], [(0, 2)]) == [0]
    assert last_tokens([2, 3], [(0, 9)]) == [1]  # past the end: the last token


def test_step_transforms_by_hand():
    assert step_rewards([0.9, 0.2], "raw") == [0.9, 0.2]
    assert step_rewards([0.9, 0.2], "centered") == pytest.approx([0.8, -0.6])
    # delta telescopes to the last scored step; an unscored (NaN) step gets 0 and is skipped
    assert step_rewards([0.9, 0.2, math.nan, 0.5], "delta") == pytest.approx([0.9, -0.7, 0.0, 0.3])
    assert step_rewards([math.nan], "centered") == [0.0]


def test_an_empty_completion_puts_its_single_score_on_the_last_token():
    assert place_step_rewards([0.3], [], [0, 0], "raw") == [(1, 0.3)]
    assert place_step_rewards([], [], [0], "raw") == []
    with pytest.raises(ValueError, match="2 step scores for 1 step spans"):
        place_step_rewards([0.1, 0.2], [(0, 3)], [3], "raw")


def test_math_shepherd_raw_reward_is_the_default_and_named_so():
    from dataclasses import fields

    from prmkit.rl.config import PPOConfig

    field = next(f for f in fields(PPOConfig) if f.name == "step_transform")
    assert field.default == "raw"
    help_text = field.metadata["help"]
    assert "raw p_k (Math-Shepherd" in help_text and "sums to the last step's score" in help_text
