"""Starting and stopping a real llama.cpp server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from prmkit.errors import PrmkitError
from prmkit.generation import LlamaCppServer, smollm2_gguf_path


def test_serves_on_loopback_and_stops_even_when_the_block_fails():
    server = LlamaCppServer(smollm2_gguf_path(), n_threads=1)
    with pytest.raises(RuntimeError, match="boom"), server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert httpx.get(f"{server.base_url}/models", trust_env=False).json()["data"]
        raise RuntimeError("boom")
    assert server.process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/models", trust_env=False)
    assert server.log_path is None  # the log is removed


def test_missing_and_broken_model_files_give_clear_errors(tmp_path):
    with pytest.raises(PrmkitError, match="GGUF model file not found"):
        LlamaCppServer(tmp_path / "missing.gguf").start()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    server = LlamaCppServer(broken, startup_timeout=60)
    with pytest.raises(PrmkitError, match="exited with code"):
        server.start()
    assert server.process.poll() is not None
