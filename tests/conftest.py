"""Test-wide settings: one torch thread (see ENVIRONMENT.md: 2 threads on 2 shared cores can run
100x slower), the offline data folder, and the servers tests in several folders share."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import httpx
import pytest
import torch

from prmkit.generation import LlamaCppServer, smollm2_gguf_path
from prmkit.paths import shared_data_dir

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir():
    return shared_data_dir()


SERVER_TOKEN = "test-server-token"
LAUNCH_SERVER = (
    "from prmkit.cli.options import new_app; from prmkit.cli.score import register; "
    "app = new_app('prmkit'); register(app); app()"
)


class ServerProcess:
    """``prmkit serve`` in a subprocess on a free 127.0.0.1 port, with ``SERVER_TOKEN``."""

    def __init__(self, prm_dir, *flags: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PRMKIT_SERVER_TOKEN": SERVER_TOKEN, "OMP_NUM_THREADS": "1"}
        cmd = [
            sys.executable,
            "-c",
            LAUNCH_SERVER,
            "serve",
            "--prm",
            str(prm_dir),
            "--port",
            str(port),
            *flags,
        ]
        # The log goes to a file: a pipe nobody reads fills after ~800 access-log lines and blocks the server.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (read until the server ends)
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.url = f"http://127.0.0.1:{port}"
        self.token = SERVER_TOKEN
        self.headers = {"Authorization": f"Bearer {SERVER_TOKEN}"}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.proc.kill()
        raise AssertionError("server did not come up within 90 s")

    def stopped_gracefully(self) -> bool:
        """Wait for the server to exit; uvicorn re-raises SIGTERM after a clean shutdown, hence -15."""
        try:
            code = self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return code in (0, -signal.SIGTERM) and "Application shutdown complete" in self.output()

    def output(self) -> str:
        """Everything the server printed so far."""
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> bool:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.stopped_gracefully()


@pytest.fixture
def prmkit_server():
    """Start servers with ``prmkit_server(prm_dir, *flags)``; any still running at the end are killed."""
    started: list[ServerProcess] = []

    def start(prm_dir, *flags: str) -> ServerProcess:
        started.append(ServerProcess(prm_dir, *flags))
        return started[-1]

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture
def config_from_flags(monkeypatch):
    """``resolve(runner, argv)``: the config a CLI command builds from ``argv`` (``runner``, the library
    function the command hands it to, is stopped there), and the RenamedSetting messages on the way."""
    from typer.testing import CliRunner

    from prmkit.cli.main import app
    from prmkit.config import RenamedSetting
    from prmkit.errors import ConfigError

    def resolve(runner: str, argv: list[str]) -> tuple[object, set[str]]:
        seen = []

        def config_only(cfg: object) -> None:
            seen.append(cfg)
            raise ConfigError("the config is all this test needs")

        monkeypatch.setattr(runner, config_only)
        with pytest.warns(RenamedSetting) as caught:
            result = CliRunner().invoke(app, argv)
        assert len(seen) == 1, result.output
        return seen[0], {str(w.message).split(";")[0] for w in caught}

    return resolve


LLAMA_SERVER_SLOTS = 4


@pytest.fixture(scope="session")
def llama_server_binary() -> str:
    """llama.cpp's ``llama-server``: ``$PRMKIT_LLAMA_SERVER``, the one ``make llama-server`` built, or
    one on PATH (skipped where there is none)."""
    built = Path(__file__).resolve().parents[1] / ".cache" / "llama-server" / "llama-server"
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
