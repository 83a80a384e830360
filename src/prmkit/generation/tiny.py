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


def tiny_llama(
    vocab_size: int, hidden: int = 128, layers: int = 2, heads: int = 4, seed: int = 0, **overrides: Any
) -> Any:
    """A randomly initialised ``LlamaForCausalLM`` (about 0.5M parameters at the defaults);
    ``overrides`` go to ``LlamaConfig``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        **overrides,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()


def save_tiny_llama(path: str | Path, **kwargs: Any) -> Path:
    """Write a tiny model and its tokenizer to ``path`` (loadable with ``from_pretrained``)."""
    path = Path(path)
    tokenizer = char_tokenizer()
    tiny_llama(len(tokenizer), **kwargs).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
