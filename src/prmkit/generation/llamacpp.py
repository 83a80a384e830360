"""Start and stop a local llama.cpp server for the openai backend.

::

    with LlamaCppServer(smollm2_gguf_path()) as server:
        backend = load_backend(GenerationConfig(backend="openai", base_url=server.base_url))

Two servers speak the same API:

- **llama-cpp-python's** (``python -m llama_cpp.server``, the default; ``pip install prmkit[gguf]``)
  runs in a subprocess of the same interpreter. It decodes one request at a time.
- **llama.cpp's own** ``llama-server`` (``binary="llama-server"`` or a path to it) decodes up to
  ``parallel`` requests together in one batch. That raises throughput as far as the hardware decodes
  a batch faster than one request at a time: much on a GPU, little on a CPU (docs/scaling.md). Each
  slot gets ``n_ctx`` tokens of context.

Either listens on 127.0.0.1 unless told otherwise, dies with prmkit (``prmkit.processes``), and is
stopped (terminate, then kill) when the block exits, also on errors. Its output goes to a log file
whose tail is shown if it fails to start.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

from typing_extensions import Self

from prmkit.errors import PrmkitError
from prmkit.processes import python_child


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def launcher(binary: str | None = None) -> list[str]:
    """How to start ``llama_cpp.server``, or ``binary`` in its place: a child that dies with prmkit
    (``prmkit.processes``; the binary inherits that across exec), so even a kill -9 of prmkit leaves
    no server behind."""
    if binary is not None:
        return python_child(f"import os, sys\nos.execv({binary!r}, [{binary!r}, *sys.argv[1:]])\n")
    return python_child(
        "import runpy\nrunpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
    )


class LlamaCppServer:
    """A llama.cpp server subprocess serving one GGUF model; ``base_url`` ends in ``/v1``."""

    def __init__(
        self,
        model_path: str | Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        startup_timeout: float = 60.0,
        extra_args: list[str] | None = None,
        binary: str | Path | None = None,
        parallel: int = 1,
    ) -> None:
        if parallel < 1:
            raise PrmkitError(f"parallel must be at least 1, got {parallel}")
        if parallel > 1 and binary is None:
            raise PrmkitError(
                "llama-cpp-python's server decodes one request at a time: parallel slots need llama.cpp's "
                "own server (binary='llama-server')"
            )
        self.model_path = Path(model_path)
        self.binary = binary
        self.parallel = parallel
        self.host = host
        self.port = port or free_port(host)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> Self:
        """Launch the server and wait until ``/v1/models`` answers."""
        if not self.model_path.is_file():
            raise PrmkitError(f"{self.model_path}: GGUF model file not found")
        command = [*self._command(), *self.extra_args]
        fd, log_path = tempfile.mkstemp(prefix="llama-cpp-server-", suffix=".log")
        self.log_path = Path(log_path)
        with open(fd, "wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _command(self) -> list[str]:
        """The server's command line; the two servers name context and threads differently."""
        where = ["--model", str(self.model_path), "--host", self.host, "--port", str(self.port)]
        if self.binary is None:
            if find_spec("llama_cpp") is None:
                raise PrmkitError(
                    "the llama.cpp server needs `pip install 'llama-cpp-python[server]'` (or prmkit[gguf])"
                )
            command, threads = [*launcher(), *where, "--n_ctx", str(self.n_ctx)], "--n_threads"
        else:
            binary = shutil.which(str(self.binary))
            if binary is None:
                raise PrmkitError(f"{self.binary}: llama.cpp's server binary not found (build it: make llama-server)")
            slots = ["--ctx-size", str(self.n_ctx * self.parallel), "--parallel", str(self.parallel)]
            command, threads = [*launcher(binary), *where, *slots], "--threads"
        return command + ([threads, str(self.n_threads)] if self.n_threads else [])

    def _wait_ready(self) -> None:
        import httpx  # here, so that importing prmkit.generation stays light

        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrmkitError(
                    f"llama.cpp server exited with code {self.process.returncode}: {self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise PrmkitError(f"llama.cpp server not ready after {self.startup_timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server printed."""
        if self.log_path is None or not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the server, kill it if it lingers, and remove its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
