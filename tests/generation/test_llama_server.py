"""llama.cpp's own server (``llama-server``), whose parallel slots decode requests together.

It is built by ``make llama-server``; where it is not built, these tests skip and say so (annotation
through it is tested in tests/annotate/test_annotate_mc.py). How fast it goes with more requests in
flight is measured by ``benchmarks/server_concurrency.py``, not here.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from prmkit.errors import PrmkitError
from prmkit.generation import GenerationConfig, LlamaCppServer, load_backend, smollm2_gguf_path


def root_url(server: LlamaCppServer) -> str:
    return server.base_url.removesuffix("/v1")


def test_parallel_slots_need_llama_cpps_own_server(tmp_path):
    with pytest.raises(PrmkitError, match="one request at a time"):
        LlamaCppServer(smollm2_gguf_path(), parallel=2)
    with pytest.raises(PrmkitError, match="not found.*make llama-server"):
        LlamaCppServer(smollm2_gguf_path(), binary=tmp_path / "no-such-llama-server").start()


def test_requests_in_flight_are_decoded_in_separate_slots_at_once(llama_server):
    slots = llama_server.parallel
    assert slots > 1
    assert httpx.get(f"{root_url(llama_server)}/props", trust_env=False).json()["total_slots"] == slots
    gen = GenerationConfig(backend="openai", base_url=llama_server.base_url, max_concurrency=slots)
    backend = load_backend(gen)
    busy: list[int] = []
    done = threading.Event()

    def watch() -> None:
        with httpx.Client(trust_env=False) as client:
            while not done.is_set():
                states = client.get(f"{root_url(llama_server)}/slots").json()
                busy.append(sum(bool(state["is_processing"]) for state in states))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        samples = backend.generate(["Count to twenty:"], n=slots, max_new_tokens=48, seed=3)[0]
    finally:
        done.set()
        watcher.join()
    assert len(samples) == slots
    assert max(busy) >= 2, f"never two slots busy at once: {busy}"


def test_it_answers_n_up_to_its_slots_and_max_n_splits_more(llama_server):
    slots = llama_server.parallel
    base = {"backend": "openai", "base_url": llama_server.base_url, "supports_n": True}
    with pytest.raises(PrmkitError, match="HTTP 400"):
        load_backend(GenerationConfig(**base)).generate(["Count:"], n=2 * slots, max_new_tokens=4, seed=1)
    samples = load_backend(GenerationConfig(**base, max_n=slots)).generate(
        ["Count:"], n=2 * slots, max_new_tokens=4, seed=1
    )[0]
    assert len(samples) == 2 * slots
    assert all(len(c.logprobs) == c.num_tokens for c in samples)
