"""Shared generation fixtures: a tiny random char-level Llama (built locally), and SmolLM2 served
by a real llama.cpp server on 127.0.0.1: llama-cpp-python's, and llama.cpp's own ``llama-server``
with parallel slots where it is built (``make llama-server``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


LLAMA_SERVER_SLOTS = 4


@pytest.fixture(scope="session")
def llama_server_binary() -> str:
    """llama.cpp's ``llama-server``: ``$PRMKIT_LLAMA_SERVER``, the one ``make llama-server`` built, or
    one on PATH (skipped where there is none)."""
    built = Path(__file__).resolve().parents[2] / ".cache" / "llama-server" / "llama-server"
    for candidate in (os.environ.get("PRMKIT_LLAMA_SERVER"), built, "llama-server"):
        if candidate and (found := shutil.which(str(candidate))):
            return found
    pytest.skip("llama.cpp's llama-server is not built here (make llama-server)")


@pytest.fixture(scope="session")
def llama_server(llama_server_binary):
    """SmolLM2 behind llama.cpp's own server with ``LLAMA_SERVER_SLOTS`` slots."""
    server = LlamaCppServer(smollm2_gguf_path(), n_threads=1, binary=llama_server_binary, parallel=LLAMA_SERVER_SLOTS)
    with server:
        yield server
