"""Every PRM adapter reads the right positions of tiny random models built with each public convention.

References are computed here without prmkit's scoring code: token ids built by hand (or by the model
card's own recipe) and weights read straight from the saved safetensors.
"""

from __future__ import annotations

import math
import random

import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    LlamaConfig,
    LlamaModel,
    Qwen2Config,
    Qwen2Model,
)

from prmkit.data.encoding import StepFormat
from prmkit.errors import ConfigError, PrmkitError
from prmkit.score import PRMConfig, detect_format, load_prm, tiny
from prmkit.score.adapters.qwen import SYSTEM_PROMPT, ProcessRewardHead

ATOL = 1e-5


@pytest.fixture(scope="module")
def problems():
    rng = random.Random(7)
    return [tiny.sample_problem(rng) for _ in range(5)]


@pytest.fixture(scope="module")
def tokenizer():
    return tiny.byte_level_tokenizer()


def _ids(tok, text):
    return tok.encode(text, add_special_tokens=False)


def _assert_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert len(g) == len(w)
        assert max(abs(a - b) for a, b in zip(g, w)) < ATOL, (g, w)


def _spread(scores):
    flat = [s for row in scores for s in row]
    return max(flat) - min(flat)


# --- prmkit's own token-classification format ------------------------------------------------


@pytest.mark.parametrize(
    "kind, separator",
    [("byte-level", "\n\n"), ("metaspace", " ки\n")],  # metaspace: a joined string merges "ки\nStep"
)
def test_prmkit_format_reads_each_separator_end(tmp_path, problems, kind, separator):
    tok = tiny.byte_level_tokenizer() if kind == "byte-level" else tiny.metaspace_tokenizer()
    folder = tiny.make_prmkit_prm(tmp_path / "prm", tok, StepFormat(separator=separator))
    assert detect_format(folder) == "prmkit"
    got = load_prm(folder).score([q for q, _ in problems], [s for _, s in problems])

    model = AutoModelForTokenClassification.from_pretrained(folder).eval()  # no prmkit involved
    want = []
    for question, steps in problems:
        ids, ends = [tok.bos_token_id, *_ids(tok, question), *_ids(tok, separator)], []
        for step in steps:
            ids += _ids(tok, step) + _ids(tok, separator)
            ends.append(len(ids) - 1)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
        want.append(logits[ends].softmax(-1)[:, 1].tolist())
    _assert_close(got, want)
    assert _spread(want) > 1e-3  # positions matter: a misread would show
    if kind == "metaspace":  # the trap a joined string falls into: the separator's last token vanishes
        question, steps = problems[0]
        joined = _ids(tok, question + separator + separator.join(steps) + separator)
        assert joined.count(_ids(tok, separator)[-1]) < len(steps)


def test_trl_folder_uses_trl_layout(tmp_path, tokenizer, problems):
    """No prmkit_prm.json: TRL PRMTrainer's tokenize_row layout (BOS, prompt, step + "\\n" each)."""
    folder = tiny.make_trl_prm(tmp_path / "trl", tokenizer)
    assert detect_format(folder) == "prmkit"
    got = load_prm(folder).score([q for q, _ in problems], [s for _, s in problems])
    model = AutoModelForTokenClassification.from_pretrained(folder).eval()
    want = []
    for question, steps in problems:
        ids, ends = [tokenizer.bos_token_id, *_ids(tokenizer, question)], []
        for step in steps:
            ids += _ids(tokenizer, step) + _ids(tokenizer, "\n")
            ends.append(len(ids) - 1)
        with torch.no_grad():
            want.append(model(torch.tensor([ids])).logits[0, ends].softmax(-1)[:, 1].tolist())
    _assert_close(got, want)


def test_batching_padding_and_truncation_do_not_change_scores(tmp_path, tokenizer, problems):
    folder = tiny.make_prmkit_prm(tmp_path / "prm", tokenizer)
    questions, steps = [q for q, _ in problems], [s for _, s in problems]
    one_by_one = load_prm(folder, batch_size=1).score(questions, steps)
    batched = load_prm(folder, batch_size=16).score(questions, steps)
    _assert_close(batched, one_by_one)
    tight = load_prm(folder, batch_size=16, max_tokens=64).score(questions, steps)
    _assert_close(tight, one_by_one)
    # A prefix is scored the same as the whole: later steps never leak into earlier scores.
    prefix = load_prm(folder).score(questions, [s[:2] for s in steps])
    _assert_close(prefix, [row[:2] for row in one_by_one])
    # Steps beyond max_length are NaN; the ones that fit keep their scores.
    prm = load_prm(folder, max_length=40)
    cut = prm.score(questions, steps)
    for row, full in zip(cut, one_by_one):
        kept = [s for s in row if not math.isnan(s)]
        assert len(kept) < len(full) or prm.encode(questions[0], steps[0]).num_steps == len(full)
        assert kept == pytest.approx(full[: len(kept)], abs=ATOL)


# --- Math-Shepherd LM-head format ------------------------------------------------------------


def _card_reference(folder, tok, question, steps):
    """The model card's recipe, verbatim in spirit: joined text, tag search, +/- softmax."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    good, bad = tok.encode("+ -", add_special_tokens=False)
    step_tag_id = tok.encode("ки")[-1]
    ids = torch.tensor([tok.encode(f"{question} " + " ки\n".join(steps) + " ки")])
    with torch.no_grad():
        logits = model(ids).logits[:, :, [good, bad]]
    scores = logits.softmax(-1)[:, :, 0]
    return ids, scores[ids == step_tag_id].tolist()


def _full_logit_scores(folder, tok, ids, positions):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    good, bad = tok.encode("+ -", add_special_tokens=False)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, positions][:, [good, bad]]
    return logits.softmax(-1)[:, 0].tolist()


def test_math_shepherd_matches_the_model_card_where_its_search_works(tmp_path, problems):
    texts = [t.replace(" ки\n", " ки \n") for t in tiny.corpus()]  # the tag never touches a newline
    tok = tiny.metaspace_tokenizer(texts=texts)
    folder = tiny.make_math_shepherd(tmp_path / "ms", tok)
    assert detect_format(folder) == "math-shepherd"
    prm = load_prm(folder)
    for question, steps in problems:
        ids, want = _card_reference(folder, tok, question, steps)
        assert len(want) == len(steps)
        assert prm.encode(question, steps).input_ids == ids[0].tolist()
        _assert_close(prm.score([question], [steps]), [want])


@pytest.mark.parametrize(
    "trap, make_tokenizer",
    [
        ("' ки' and 'ки' are different tokens", lambda: tiny.byte_level_tokenizer()),
        ("'ки' merges with the next step's text", lambda: tiny.metaspace_tokenizer()),
    ],
)
def test_math_shepherd_finds_every_tag_where_the_naive_search_misses(
    tmp_path, problems, trap, make_tokenizer
):
    tok = make_tokenizer()
    folder = tiny.make_math_shepherd(tmp_path / "ms", tok)
    prm = load_prm(folder)
    question, steps = problems[0]
    ids, naive = _card_reference(folder, tok, question, steps)
    assert len(naive) < len(steps), f"precondition: the tokenizer shows the trap ({trap})"

    enc = prm.encode(question, steps)
    assert enc.input_ids == ids[0].tolist()  # the same text, tokenized as the model was trained
    assert enc.num_steps == len(steps)
    for pos in enc.step_ends:  # each read token holds the end of a tag
        assert "и" in tok.decode([enc.input_ids[pos]])
    want = _full_logit_scores(folder, tok, enc.input_ids, enc.step_ends)
    _assert_close(prm.score([question], [steps]), [want])


# --- Qwen2.5-Math-PRM format -----------------------------------------------------------------


def _poison_remote_code(folder):
    for name in ("modeling_qwen2_rm.py", "configuration_qwen2_rm.py"):
        (folder / name).write_text("raise RuntimeError('prmkit ran code shipped with the model')\n")


def test_qwen_prm_matches_the_model_card_without_remote_code(tmp_path, problems):
    folder = tiny.make_qwen_prm(tmp_path / "qwen", tiny.byte_level_tokenizer(bos=False))
    _poison_remote_code(folder)
    tok = AutoTokenizer.from_pretrained(folder)  # as the model card loads it
    assert detect_format(folder) == "qwen-prm"
    prm = load_prm(folder)

    weights = load_file(str(folder / "model.safetensors"))
    config = Qwen2Config.from_json_file(str(folder / "config.json"))
    backbone = Qwen2Model(config).eval()
    backbone.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("model.")})
    head = ProcessRewardHead(config.hidden_size)
    head.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("score.")})
    step_id = tok.encode("<extra_0>")[0]
    for question, steps in problems:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
            {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"},
        ]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
        ids = torch.tensor([tok.encode(text)])
        with torch.no_grad():
            probs = head(backbone(ids).last_hidden_state).softmax(-1)
        want = probs[ids == step_id][:, 1].tolist()
        enc = prm.encode(question, steps)
        assert enc.input_ids == ids[0, : len(enc.input_ids)].tolist()
        _assert_close(prm.score([question], [steps]), [want])
    assert _spread(prm.score([q for q, _ in problems], [s for _, s in problems])) > 1e-3


# --- Per-prefix formats: scalar value head, sequence classification ---------------------------


def _prefix_ids(tok, question, steps):
    """Hand-built prefixes in prmkit's default paragraph format (BOS, question, "\\n\\n" after each piece)."""
    ids, out = [tok.bos_token_id, *_ids(tok, question), *_ids(tok, "\n\n")], []
    for step in steps:
        ids = ids + _ids(tok, step) + _ids(tok, "\n\n")
        out.append(ids)
    return out


@pytest.mark.parametrize("summary", [True, False])
def test_value_head_scores_each_prefix(tmp_path, tokenizer, problems, summary):
    folder = tiny.make_value_head(tmp_path / "vh", tokenizer, summary=summary)
    assert detect_format(folder) == "value-head"
    got = load_prm(folder).score([q for q, _ in problems], [s for _, s in problems])
    weights = load_file(str(folder / "model.safetensors"))
    backbone = LlamaModel(LlamaConfig.from_json_file(str(folder / "config.json"))).eval()
    backbone.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("model.")})
    prefix = "v_head.summary." if summary else "v_head."
    w, b = weights[prefix + "weight"], weights[prefix + "bias"]
    want = []
    for question, steps in problems:
        row = []
        for ids in _prefix_ids(tokenizer, question, steps):
            with torch.no_grad():
                h = backbone(torch.tensor([ids])).last_hidden_state[0, -1]
            row.append(torch.sigmoid(h @ w[0] + b[0]).item())
        want.append(row)
    _assert_close(got, want)
    assert _spread(want) > 1e-3


@pytest.mark.parametrize("num_labels", [1, 2])
def test_sequence_classification_scores_each_prefix(tmp_path, tokenizer, problems, num_labels):
    folder = tiny.make_sequence_classification(tmp_path / "sc", tokenizer, num_labels=num_labels)
    assert detect_format(folder) == "sequence-classification"
    got = load_prm(folder, batch_size=8).score([q for q, _ in problems], [s for _, s in problems])
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    want = []
    for question, steps in problems:
        row = []
        for ids in _prefix_ids(tokenizer, question, steps):
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0]
            row.append(torch.sigmoid(logits[0]).item() if num_labels == 1 else logits.softmax(-1)[1].item())
        want.append(row)
    _assert_close(got, want)


# --- Detection and errors ---------------------------------------------------------------------


def test_format_override_and_errors(tmp_path, tokenizer):
    folder = tiny.make_math_shepherd(tmp_path / "ms", tokenizer)
    prm = load_prm(PRMConfig(prm=str(folder), format="math-shepherd"))
    assert prm.format == "math-shepherd"
    with pytest.raises(ConfigError, match="unknown PRM format 'nope'.*math-shepherd"):
        load_prm(folder, format="nope")
    with pytest.raises(PrmkitError, match="not found"):
        load_prm(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PrmkitError, match="no config.json"):
        detect_format(tmp_path / "empty")
    with pytest.raises(ValueError, match="2 problems for 1 solutions"):
        prm.score(["a", "b"], [["x"]])


def test_two_class_heads_are_told_from_scalar_heads(tmp_path):
    """ProcessBench reads a two-class head by its predicted class and tunes a threshold for a scalar one."""
    two_class = {
        "prmkit": tiny.make_prmkit_prm(tmp_path / "a"),
        "math-shepherd": tiny.make_math_shepherd(tmp_path / "b"),
        "qwen-prm": tiny.make_qwen_prm(tmp_path / "c"),
        "sequence-classification": tiny.make_sequence_classification(tmp_path / "d", num_labels=2),
    }
    scalar = {
        "value-head": tiny.make_value_head(tmp_path / "e"),
        "sequence-classification": tiny.make_sequence_classification(tmp_path / "f", num_labels=1),
    }
    for fmt, folder in two_class.items():
        assert load_prm(PRMConfig(prm=str(folder), format=fmt)).predicts_class, fmt
    for fmt, folder in scalar.items():
        assert not load_prm(PRMConfig(prm=str(folder), format=fmt)).predicts_class, fmt


def test_a_sequence_stops_at_max_tokens_and_later_steps_score_nan(tmp_path):
    """With no max_length in the step format, one huge solution cannot take all memory: the sequence
    stops at max_tokens and the steps past it score NaN."""
    import math

    prm = load_prm(tiny.make_prmkit_prm(tmp_path / "prm"), max_tokens=64)
    (row,) = prm.score(["q"], [["1 + 1 = 2", "2 " * 500, "The answer is 2."]])
    assert not math.isnan(row[0]) and math.isnan(row[1]) and math.isnan(row[2])
    assert len(prm.encode("q", ["1 + 1 = 2", "2 " * 500])) <= 64
