"""The transformers backend on a tiny random Llama (and SmolLM2 from its GGUF file)."""

from __future__ import annotations

import pytest
import torch

from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation import GenerationConfig, load_backend, smollm2_gguf_path
from prmkit.generation.hf import TransformersBackend

PROMPTS = ["1+1=", "What is 23*4?\n\n", "x", "Solve: 7*(3+2)-4 ="]


def greedy(backend, prompts, **kw):
    return [
        c[0]
        for c in backend.generate(prompts, max_new_tokens=kw.pop("max_new_tokens", 16), temperature=0, **kw)
    ]


def assert_same(got, expected):
    """Same tokens; logprobs equal up to the float rounding that padding introduces."""
    assert [[(c.text, c.token_ids, c.finish_reason) for c in cs] for cs in got] == [
        [(c.text, c.token_ids, c.finish_reason) for c in cs] for cs in expected
    ]
    for cs, es in zip(got, expected):
        for c, e in zip(cs, es):
            assert c.logprobs == pytest.approx(e.logprobs, abs=1e-4)


def test_batched_greedy_equals_one_prompt_at_a_time(tiny_backend, make_tiny_backend):
    batched = greedy(tiny_backend, PROMPTS)  # batch_size 3: two batches, prompts of 1-18 characters
    single_backend = make_tiny_backend(batch_size=1)
    assert_same([[c] for c in batched], [greedy(single_backend, [prompt]) for prompt in PROMPTS])


def test_left_padded_kv_cached_decoding_matches_a_full_forward_pass(tiny_backend):
    """Each generated token is the argmax, and its logprob the log-softmax, of an unpadded forward pass."""
    model, tokenizer = tiny_backend.model, tiny_backend.tokenizer
    for prompt, completion in zip(PROMPTS, greedy(tiny_backend, PROMPTS)):
        prompt_ids = tokenizer(prompt)["input_ids"]
        new_ids = completion.token_ids
        assert len(new_ids) == completion.num_tokens == 16
        with torch.no_grad():
            logits = model(torch.tensor([prompt_ids + new_ids])).logits[0]
        logprobs = torch.log_softmax(logits[len(prompt_ids) - 1 : -1].float(), dim=-1)
        assert logprobs.argmax(-1).tolist() == new_ids
        expected = logprobs.gather(-1, torch.tensor(new_ids)[:, None]).squeeze(-1).tolist()
        assert completion.logprobs == pytest.approx(expected, abs=1e-4)


def test_stop_strings_end_generation_and_are_cut_off(tiny_backend):
    full = greedy(tiny_backend, PROMPTS[:1], max_new_tokens=20)[0]
    assert full.finish_reason == "length" and full.num_tokens == 20
    late, early = full.text[9:11], full.text[4:6]
    stopped = greedy(tiny_backend, PROMPTS[:1], max_new_tokens=20, stop=[late, early])[0]
    cut = full.text.find(early)
    assert stopped.text == full.text[:cut]  # the earliest stop string wins
    assert stopped.finish_reason == "stop"
    assert stopped.num_tokens == cut + len(early)  # generation ended on the token completing it
    assert len(stopped.logprobs) == stopped.num_tokens


def test_eos_ends_a_sequence_counted_but_not_in_the_text(make_tiny_backend):
    backend = make_tiny_backend(batch_size=4)
    full = greedy(backend, PROMPTS)
    eos = full[1].token_ids[5]
    backend.eos_token_ids = {eos}
    out = greedy(backend, PROMPTS)
    cut = full[1].token_ids.index(eos)
    assert out[1].token_ids == full[1].token_ids[: cut + 1]
    assert out[1].text == backend.tokenizer.decode(full[1].token_ids[:cut], skip_special_tokens=True)
    assert out[1].finish_reason == "stop"
    assert out[1].num_tokens == len(out[1].logprobs) == cut + 1
    for before, after in zip(full, out):  # other rows: unchanged up to their own EOS
        assert before.text.startswith(after.text)


def test_seeded_samples_are_reproducible_and_independent_of_the_batch(tiny_backend, make_tiny_backend):
    kw = {"n": 3, "max_new_tokens": 12, "temperature": 1.0, "seed": 11}
    first = tiny_backend.generate(PROMPTS, **kw)
    assert tiny_backend.generate(PROMPTS, **kw) == first
    assert_same(make_tiny_backend(batch_size=5).generate(PROMPTS[::-1], **kw)[::-1], first)
    assert tiny_backend.generate(PROMPTS, **{**kw, "seed": 12}) != first
    for samples in first:
        assert len(samples) == 3 and len({c.text for c in samples}) == 3
        for c in samples:
            assert len(c.logprobs) == c.num_tokens and all(lp <= 0 for lp in c.logprobs)


def test_the_samples_of_a_prompt_share_one_prefill(make_tiny_backend):
    backend = make_tiny_backend(batch_size=8)
    shapes = []
    hook = backend.model.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    kw = {"n": 4, "max_new_tokens": 6, "temperature": 1.0, "seed": 3}
    shared = backend.generate(PROMPTS[1:3], **kw)
    hook.remove()
    assert shapes[0][0] == 2 and shapes[0][1] > 1  # the two prompts run once each
    assert [s for s in shapes[1:]] == [(8, 1)] * 5  # then all 8 rows decode together
    assert_same(shared, make_tiny_backend(batch_size=1).generate(PROMPTS[1:3], **kw))


def test_ready_decoding_masks_give_the_same_tokens(make_tiny_backend, monkeypatch):
    from transformers import MistralConfig

    from prmkit.generation import hf

    backend = make_tiny_backend(batch_size=4)
    assert hf._takes_ready_masks(backend.model.config)  # sdpa, full causal attention: the fast path
    kw = {"n": 2, "max_new_tokens": 12, "temperature": 1.0, "seed": 5}
    ready = backend.generate(PROMPTS, **kw)  # prompts of different lengths: left padding in the masks
    monkeypatch.setattr(hf, "_takes_ready_masks", lambda config: False)
    assert_same(backend.generate(PROMPTS, **kw), ready)
    windowed = MistralConfig(sliding_window=16, attn_implementation="sdpa")
    assert not hf._takes_ready_masks(windowed)  # a sliding window: transformers builds the masks


def test_sample_i_uses_seed_plus_i_and_seed_lists_are_per_prompt(tiny_backend):
    kw = {"max_new_tokens": 10, "temperature": 1.0}
    pair = tiny_backend.generate(PROMPTS[:1], n=2, seed=40, **kw)[0]
    assert_same(tiny_backend.generate(PROMPTS[:1], n=1, seed=41, **kw), [pair[1:]])
    mixed = tiny_backend.generate([PROMPTS[0], PROMPTS[0]], n=1, seed=[40, 41], **kw)
    assert_same([[mixed[0][0], mixed[1][0]]], [pair])


def test_tiny_top_p_keeps_only_the_top_token(tiny_backend):
    sampled = tiny_backend.generate(PROMPTS, n=2, max_new_tokens=10, temperature=1.5, top_p=1e-6, seed=3)
    assert [[c.text for c in s] for s in sampled] == [
        [c.text] * 2 for c in greedy(tiny_backend, PROMPTS, max_new_tokens=10)
    ]


def test_logprobs_can_be_switched_off(make_tiny_backend):
    out = greedy(make_tiny_backend(logprobs=False), PROMPTS[:2], progress=True)
    assert [c.logprobs for c in out] == [None, None]


def test_bad_arguments_and_models_give_clear_errors(tiny_backend, tmp_path, make_tiny_backend):
    with pytest.raises(PrmkitError, match="list of prompts"):
        tiny_backend.generate("1+1=")
    with pytest.raises(PrmkitError, match="prompt 1 is empty"):
        tiny_backend.generate(["a", ""])
    with pytest.raises(ConfigError, match="temperature"):
        tiny_backend.generate(PROMPTS, temperature=-1)
    with pytest.raises(ConfigError, match="no chat template"):
        make_tiny_backend(chat_template=True)
    with pytest.raises(ConfigError, match="missing' not found: prmkit loads local model folders"):
        load_backend(GenerationConfig(model=str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PrmkitError, match="cannot load model"):
        load_backend(GenerationConfig(model=str(tmp_path / "empty")))
    with pytest.raises(ConfigError, match="needs model"):
        load_backend(GenerationConfig(model=""))


@pytest.fixture(scope="session")
def smollm2_hf():
    """SmolLM2-135M-Instruct dequantized from its GGUF file (loading takes ~30-40 s)."""
    return TransformersBackend(
        GenerationConfig(model=str(smollm2_gguf_path()), chat_template=True, batch_size=2)
    )


def test_smollm2_gguf_through_transformers_agrees_with_llama_cpp(smollm2_hf, smollm2_server):
    prompt = "What is 2+3?"
    ours = greedy(smollm2_hf, [prompt, "Name a color."], max_new_tokens=6)
    assert all(c.num_tokens <= 6 and len(c.logprobs) == c.num_tokens for c in ours)
    server = load_backend(GenerationConfig(backend="openai", base_url=smollm2_server.base_url, mode="chat"))
    theirs = greedy(server, [prompt], max_new_tokens=6)[0]
    # Same quantized weights, different kernels: the first greedy token and its probability agree.
    assert ours[0].text.split()[0] == theirs.text.split()[0]
    assert ours[0].logprobs[0] == pytest.approx(theirs.logprobs[0], abs=0.2)
