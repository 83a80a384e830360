"""A tiny random character-level Llama and its tokenizer, built locally (no hub): for tests,
benchmarks and smoke runs of anything that needs a causal LM."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")
CHARACTERS = string.ascii_letters + string.digits + string.punctuation + " \n"


def char_tokenizer() -> Any:
    """A ``PreTrainedTokenizerFast`` with one token per printable ASCII character (plus specials).

    Ids: ``<pad>`` 0, ``<s>`` 1, ``</s>`` 2 (EOS), ``<unk>`` 3; it adds no BOS/EOS when encoding.
    """
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate([*SPECIAL_TOKENS, *CHARACTERS])}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


def llama_config(
    vocab_size: int,
    hidden: int,
    layers: int,
    heads: int,
    intermediate: int,
    special_ids: tuple[int | None, int | None, int | None] = (0, 1, 2),
    max_positions: int = 1024,
    **overrides: Any,
) -> Any:
    """The ``LlamaConfig`` of every small Llama prmkit builds (test models, the synthetic policy):
    ``special_ids`` are the (pad, bos, eos) token ids; ``overrides`` go to ``LlamaConfig``."""
    from transformers import LlamaConfig

    pad, bos, eos = special_ids
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        pad_token_id=pad,
        bos_token_id=bos,
        eos_token_id=eos,
        **overrides,
    )


def special_ids(tokenizer: Any) -> tuple[int | None, int | None, int | None]:
    """A tokenizer's (pad, bos, eos) ids, as ``llama_config`` takes them."""
    return tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id


def generation_defaults(tokenizer: Any, **settings: Any) -> Any:
    """The ``GenerationConfig`` a small Llama is saved with: the tokenizer's special ids, plus ``settings``."""
    from transformers import GenerationConfig

    pad, bos, eos = special_ids(tokenizer)
    return GenerationConfig(bos_token_id=bos, eos_token_id=eos, pad_token_id=pad, **settings)


def tiny_llama(
    vocab_size: int, hidden: int = 128, layers: int = 2, heads: int = 4, seed: int = 0, **overrides: Any
) -> Any:
    """A randomly initialised ``LlamaForCausalLM`` (about 0.5M parameters at the defaults) for the
    character tokenizer; ``overrides`` go to ``LlamaConfig``."""
    import torch
    from transformers import LlamaForCausalLM

    config = llama_config(vocab_size, hidden, layers, heads, 4 * hidden, tie_word_embeddings=True, **overrides)
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()


def save_tiny_llama(path: str | Path, **kwargs: Any) -> Path:
    """Write a tiny model and its tokenizer to ``path`` (loadable with ``from_pretrained``)."""
    path = Path(path)
    tokenizer = char_tokenizer()
    tiny_llama(len(tokenizer), **kwargs).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
