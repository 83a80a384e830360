"""Starting and stopping a real llama.cpp server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux-only")
@pytest.mark.parametrize("own_server", [False, True], ids=["llama-cpp-python", "llama-server"])
def test_a_kill_9_of_prmkit_leaves_no_server_behind(request, own_server):
    """The server child dies with its parent, even when the parent gets SIGKILL and cleans up nothing."""
    binary = request.getfixturevalue("llama_server_binary") if own_server else None
    script = (
        "import sys, time\n"
        "from prmkit.generation import LlamaCppServer, smollm2_gguf_path\n"
        f"server = LlamaCppServer(smollm2_gguf_path(), n_threads=1, binary={binary!r}).start()\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    server_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(server_pid):
        time.sleep(0.1)
    assert not _alive(server_pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
