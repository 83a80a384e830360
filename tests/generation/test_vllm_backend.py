"""The vLLM backend: a clear error without vllm; real generation only with vllm and CUDA."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from prmkit.errors import PrmkitError
from prmkit.generation import GenerationConfig, load_backend

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vllm is installed")
def test_without_vllm_the_error_says_how_to_install(tmp_path):
    with pytest.raises(PrmkitError, match=r"pip install prmkit\[vllm\]"):
        load_backend(GenerationConfig(backend="vllm", model=str(tmp_path)))


@pytest.mark.gpu
@pytest.mark.skipif(not (HAS_VLLM and torch.cuda.is_available()), reason="needs vllm and a CUDA GPU")
def test_vllm_generates_seeded_samples_with_logprobs(tiny_model_dir):
    backend = load_backend(GenerationConfig(backend="vllm", model=str(tiny_model_dir), dtype="float32"))
    kw = {"n": 3, "max_new_tokens": 8, "temperature": 1.0, "seed": 3, "stop": ["\n"]}
    first = backend.generate(["1+1=", "x"], **kw)
    assert [len(cs) for cs in first] == [3, 3]
    for c in first[0] + first[1]:
        assert "\n" not in c.text and len(c.logprobs) == c.num_tokens == len(c.token_ids) <= 8
    assert [[c.text for c in cs] for cs in backend.generate(["1+1=", "x"], **kw)] == [
        [c.text for c in cs] for cs in first
    ]
