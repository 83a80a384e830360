"""Shared pieces of the RL trainer tests: a tiny random policy folder and easy custom rewards."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from prmkit.generation.base import SamplingConfig
from prmkit.rl.rewards import RewardSet
from prmkit.synthetic.tokenizer import build_tokenizer
from prmkit.synthetic.world import WorldConfig

TINY_MAX_NEW_TOKENS = 12  # the rollout budget of the tiny policy (also what its generation config says)


def tiny_sampling(n: int, temperature: float = 0.7, seed: int = 0) -> SamplingConfig:
    """Rollout sampling for the tiny policy: ``n`` completions per prompt of at most 12 tokens."""
    return SamplingConfig(n=n, max_new_tokens=TINY_MAX_NEW_TOKENS, temperature=temperature, seed=seed)


def make_policy(
    folder: Path, hidden: int = 32, max_new_tokens: int = TINY_MAX_NEW_TOKENS, seed: int = 0
) -> Path:
    """A randomly initialised 2-layer Llama with the synthetic tokenizer and world.json, saved as a
    plain HF folder (what `prmkit train policy` writes, minus the training)."""
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, max_new_tokens=max_new_tokens,
    )  # fmt: skip
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "world.json").write_text(json.dumps(WorldConfig().to_dict()), encoding="utf-8")
    return folder


def digits(*, completions: list[str], **_: object) -> list[float | None]:
    """An easy reward with spread even for a random policy: the share of characters that are digits."""
    return [sum(ch.isdigit() for ch in text) / max(len(text), 1) for text in completions]


def chars(*, completions: list[str], **_: object) -> list[float | None]:
    """A reward that always has spread within a group: the completion's length in characters / 100."""
    return [len(text) / 100 for text in completions]


def digit_rewards() -> RewardSet:
    return RewardSet([digits])


def char_rewards() -> RewardSet:
    return RewardSet([chars])


def digits_factory() -> object:
    """``digits`` as a registry-style factory, for ``--reward rl_tiny:digits_factory`` (module:attr)."""
    return digits
