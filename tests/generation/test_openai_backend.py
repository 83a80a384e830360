"""The OpenAI-compatible backend against a scripted local HTTP server and a real llama.cpp server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation import GenerationConfig, load_backend
from prmkit.generation.llamacpp import free_port


def echo_answer(body: dict) -> dict:
    """A valid /v1/completions answer whose choice i reads ``seed=<seed> i=<i>``."""
    choices = [
        {
            "index": i,
            "text": f"seed={body.get('seed')} i={i}",
            "finish_reason": "length",
            "logprobs": {"token_logprobs": [-0.5, -0.25]} if "logprobs" in body else None,
        }
        for i in range(body.get("n", 1))
    ]
    return {"choices": choices, "usage": {"completion_tokens": 2 * len(choices)}}


class ScriptedServer(ThreadingHTTPServer):
    """Answers the first requests from ``script`` ((status, body, delay) tuples), then echoes."""

    def __init__(self, script: list[tuple[int, str, float]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = list(script)
        self.requests: list[tuple[dict, dict]] = []  # (headers, JSON body)
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests.append((dict(self.headers), body))
            status, text, delay = self.server.script.pop(0) if self.server.script else (200, "", 0.0)
        time.sleep(delay)
        payload = (text or json.dumps(echo_answer(body))).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted():
    servers = []

    def start(*script: tuple[int, str, float]) -> ScriptedServer:
        server = ScriptedServer(list(script))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def backend_for(url: str, **fields):
    return load_backend(GenerationConfig(backend="openai", base_url=url, retry_backoff=0.01, **fields))


def test_retries_5xx_and_429_then_succeeds(scripted):
    server = scripted((503, "overloaded", 0.0), (429, "slow down", 0.0))
    out = backend_for(server.base_url, retries=2).generate(["q"], seed=5)
    assert out[0][0].text == "seed=5 i=0"
    assert len(server.requests) == 3


def test_gives_up_after_the_last_retry(scripted):
    server = scripted(*[(503, "overloaded", 0.0)] * 3)
    with pytest.raises(PrmkitError, match=r"failed after 2 attempts.*HTTP 503: overloaded"):
        backend_for(server.base_url, retries=1).generate(["q"])
    assert len(server.requests) == 2


def test_timeouts_and_refused_connections_are_retried(scripted):
    server = scripted((200, "", 1.0))
    assert backend_for(server.base_url, timeout=0.2, retries=1).generate(["q"])[0][0].text == "seed=None i=0"
    with pytest.raises(PrmkitError, match="failed after 2 attempts.*ConnectError"):
        backend_for(f"http://127.0.0.1:{free_port()}/v1", retries=1).generate(["q"])


@pytest.mark.parametrize(
    "status, text, message",
    [
        (400, '{"error": "unknown model"}', "HTTP 400.*unknown model"),  # 4xx: not retried
        (200, "<html>oops</html>", "non-JSON"),
        (200, '{"object": "list"}', "unexpected answer.*KeyError"),
        (200, '{"choices": [{"index": 0}]}', "unexpected answer"),  # a choice without text
        (200, "[1, 2]", "expected a JSON object"),
    ],
)
def test_client_errors_and_garbage_fail_at_once(scripted, status, text, message):
    server = scripted((status, text, 0.0))
    with pytest.raises(PrmkitError, match=message):
        backend_for(server.base_url, retries=3).generate(["q"])
    assert len(server.requests) == 1


def test_n_samples_are_n_requests_with_seeds_seed_plus_i(scripted):
    server = scripted()
    out = backend_for(server.base_url, max_concurrency=3).generate(["a", "b"], n=3, seed=[10, 20])
    assert [[c.text for c in cs] for cs in out] == [
        ["seed=10 i=0", "seed=11 i=0", "seed=12 i=0"],
        ["seed=20 i=0", "seed=21 i=0", "seed=22 i=0"],
    ]
    assert sorted(body["seed"] for _, body in server.requests) == [10, 11, 12, 20, 21, 22]
    assert {body["n"] for _, body in server.requests} == {1}
    assert out[0][0].logprobs == [-0.5, -0.25] and out[0][0].num_tokens == 2


def test_supports_n_sends_one_request_and_refuses_short_answers(scripted):
    server = scripted((200, json.dumps(echo_answer({"n": 1})), 0.0))
    backend = backend_for(server.base_url, supports_n=True, logprobs=False)
    with pytest.raises(PrmkitError, match="asked for 3 choices, got 1.*supports_n"):
        backend.generate(["a"], n=3, seed=1)
    out = backend.generate(["a"], n=3, seed=1)  # the echo server honours n
    assert [c.text for c in out[0]] == ["seed=1 i=0", "seed=1 i=1", "seed=1 i=2"]
    assert [c.num_tokens for c in out[0]] == [2, 2, 2]  # per-choice counts via logprobs...
    assert out[0][0].logprobs is None  # ...which are not returned when not asked for
    assert server.requests[-1][1]["logprobs"] == 1  # one alternative: llama-server reads 0 as none


def test_max_n_splits_the_samples_into_requests_seeded_at_their_first_sample(scripted):
    server = scripted()
    backend = backend_for(server.base_url, supports_n=True, max_n=2, logprobs=False, max_concurrency=1)
    out = backend.generate(["a"], n=5, seed=10)[0]
    assert sorted((body["n"], body["seed"]) for _, body in server.requests) == [(1, 14), (2, 10), (2, 12)]
    assert [c.text for c in out] == ["seed=10 i=0", "seed=10 i=1", "seed=12 i=0", "seed=12 i=1", "seed=14 i=0"]
    with pytest.raises(ConfigError, match="max_n"):
        GenerationConfig(backend="openai", base_url=server.base_url, max_n=-1)


def test_api_key_comes_from_the_named_environment_variable(scripted, monkeypatch):
    server = scripted()
    monkeypatch.setenv("PRMKIT_TEST_KEY", "sk-test")
    backend_for(server.base_url, api_key_env="PRMKIT_TEST_KEY", model="m").generate(["q"])
    headers, body = server.requests[0]
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "m" and body["prompt"] == "q"


@pytest.mark.parametrize("server", ["smollm2_server", "llama_server"])
@pytest.mark.parametrize("mode", ["completions", "chat"])
def test_llama_cpp_server(request, server, mode):
    """llama-cpp-python's server, and llama.cpp's own (``llama_server``, several slots)."""
    backend = backend_for(request.getfixturevalue(server).base_url, mode=mode, max_concurrency=2)
    prompt = "Question: What is 2+3?\nAnswer:" if mode == "completions" else "What is 2+3?"
    samples = backend.generate([prompt], n=3, max_new_tokens=8, temperature=1.0, seed=7)[0]
    # llama.cpp ignores n, so these are 3 requests (seeds 7, 8, 9); a repeat of the same seed is not
    # asserted: llama.cpp's prompt cache shifts the first logits (~0.05 nats), which can change a sample.
    assert len(samples) == 3 and len({c.text for c in samples}) >= 2
    for c in samples:
        assert c.finish_reason in ("stop", "length") and 0 < c.num_tokens <= 8
        assert len(c.logprobs) == c.num_tokens and all(lp <= 0 for lp in c.logprobs)
    greedy = backend.generate([prompt], max_new_tokens=12, temperature=0, stop=["5"])[0][0]
    assert "5" not in greedy.text and greedy.finish_reason == "stop"
