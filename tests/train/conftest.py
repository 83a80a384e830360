"""Fixtures the PRM training tests share."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM

from prmkit.score import tiny


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    """A tiny random causal LM, as a policy checkpoint would be saved."""
    folder = tmp_path_factory.mktemp("backbone") / "lm"
    tok = tiny.byte_level_tokenizer()
    torch.manual_seed(0)
    LlamaForCausalLM(tiny.llama_config(tok, hidden=32)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)
