import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import pre_tokenizers
from transformers import AutoTokenizer

from prmkit.data.prompts import render_prompt
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.mistakes import inject_mistake
from prmkit.synthetic.render import solution_steps, solution_text
from prmkit.synthetic.tokenizer import PIECE_PATTERN, build_tokenizer, lexicon_pieces
from prmkit.synthetic.world import WorldConfig, make_problems


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


def world_texts():
    """Prompts, correct and mistaken solutions from a few worlds."""
    rng = random.Random(0)
    worlds = [WorldConfig(), WorldConfig(min_ops=1, max_ops=6, max_operand=99, max_value=9999, max_factor=12)]
    for world in worlds:
        for problem in make_problems(world, 150, seed="tok"):
            chain = Chain.from_problem(problem)
            yield render_prompt(problem), solution_text(solution_steps(chain))
            yield render_prompt(problem), solution_text(inject_mistake(chain, rng).steps)


def test_round_trip_of_world_texts(tokenizer):
    for prompt, solution in world_texts():
        text = prompt + solution
        ids = tokenizer(text)["input_ids"]
        assert ids[0] == tokenizer.bos_token_id
        assert tokenizer.unk_token_id not in ids
        assert len(ids) == 1 + len(re.findall(PIECE_PATTERN, text))  # every piece is one token
        assert tokenizer.decode(ids, skip_special_tokens=True) == text
        # prompt and solution tokenized apart give the same ids as the joined text (training relies on it)
        apart = tokenizer(prompt)["input_ids"] + tokenizer(solution, add_special_tokens=False)["input_ids"]
        assert apart == ids


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_round_trip_of_any_text(tokenizer, text):
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_pieces_are_single_tokens_and_numbers_are_digits(tokenizer):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    vocab = tokenizer.get_vocab()
    for piece in lexicon_pieces():
        assert byte_level.pre_tokenize_str(piece)[0][0] in vocab, piece
    # a digit is the same token wherever it stands; spaces go with the words and symbols around them
    tokens = tokenizer.tokenize("Step 3: 45 + 108 = 153")
    assert tokens == ["StepĠ", "3", ":Ġ", "4", "5", "Ġ+Ġ", "1", "0", "8", "Ġ=Ġ", "1", "5", "3"]
    assert len(tokenizer("Mia has 7 pens. She buys 6 more.", add_special_tokens=False)["input_ids"]) == 10


def test_deterministic_and_saved(tokenizer, tmp_path):
    again = build_tokenizer()
    assert again.get_vocab() == tokenizer.get_vocab()
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = "Zoe has 12 beads.\n\nStep 1: 12 * 3 = 36"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert (loaded.bos_token, loaded.eos_token, loaded.pad_token, loaded.unk_token) == ("<s>", "</s>", "<pad>", "<unk>")
    assert len(loaded) < 1000
