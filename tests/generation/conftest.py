"""Shared generation fixtures: a tiny random char-level Llama (built locally), and SmolLM2 served
by a real llama.cpp server on 127.0.0.1 (llama.cpp's own ``llama-server`` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from prmkit.generation import GenerationConfig, LlamaCppServer, smollm2_gguf_path
from prmkit.generation.hf import TransformersBackend
from prmkit.generation.tiny import save_tiny_llama


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    # A wide init makes greedy output vary from token to token instead of repeating one character.
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), hidden=64, initializer_range=0.2)


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    return TransformersBackend(GenerationConfig(model=str(tiny_model_dir), batch_size=3))


@pytest.fixture
def make_tiny_backend(tiny_backend):
    """A backend sharing the loaded tiny model, with its own config (``GenerationConfig`` fields)."""

    def make(**fields):
        cfg = GenerationConfig(model=tiny_backend.cfg.model, **fields)
        return TransformersBackend(cfg, model=tiny_backend.model, tokenizer=tiny_backend.tokenizer)

    return make


@pytest.fixture(scope="session")
def smollm2_server():
    with LlamaCppServer(smollm2_gguf_path(), n_threads=1) as server:
        yield server
