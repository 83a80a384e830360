"""A backend for OpenAI-compatible servers (llama.cpp, vLLM, SGLang, TGI, OpenAI) over httpx.

Requests run in a thread pool of ``max_concurrency`` and are retried ``retries`` times as
``prmkit.http.post_json`` says (connection errors, timeouts, 429 and 5xx, with backoff).

Samples: when ``supports_n`` is set, one request asks for all ``n`` samples with the prompt's seed
(vLLM honours ``n``), or, with ``max_n``, requests of at most ``max_n`` samples, the one starting at
sample ``i`` with seed ``seed + i``. Otherwise (the default) sample ``i`` is its own request with seed
``seed + i``, because llama-cpp-python's server silently answers ``n > 1`` with a single choice; a
server that returns fewer choices than asked is reported as an error rather than padded.

Seeds repeat a sample only as far as the server is deterministic. llama-cpp-python's server is not
quite: when a request repeats the previous prompt, its prompt cache re-evaluates only the last token,
which moves the first logits by ~0.05 nats, so the same seed can then give a different sample.

``num_tokens`` is what the server reports: llama-cpp-python's server leaves out the EOS token, which
llama.cpp's own llama-server and the transformers backend count.

llama.cpp's own ``llama-server`` honours ``n`` on ``/v1/completions`` up to its ``--parallel`` slots
(not on chat), so ``supports_n`` with ``max_n`` at most the slots fits it there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import httpx
from rich.progress import track

from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation.base import (
    BACKENDS,
    Completion,
    GenerationBackend,
    GenerationConfig,
    check_sampling,
    prompt_seeds,
    sample_seed,
)
from prmkit.http import post_json


def api_key(cfg: GenerationConfig) -> str | None:
    """The API key from the config, else from the environment variable it names."""
    return cfg.api_key or (os.environ.get(cfg.api_key_env) if cfg.api_key_env else None)


@BACKENDS.register("openai")
class OpenAIBackend(GenerationBackend):
    """Completions from an OpenAI-compatible ``/v1/completions`` or ``/v1/chat/completions``."""

    name = "openai"

    def __init__(self, cfg: GenerationConfig) -> None:
        if not cfg.base_url:
            raise ConfigError("the openai backend needs base_url, e.g. http://127.0.0.1:8080/v1")
        self.cfg = cfg
        key = api_key(cfg)
        self.client = httpx.Client(
            base_url=cfg.base_url.rstrip("/") + "/",
            timeout=cfg.timeout,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            limits=httpx.Limits(max_connections=cfg.max_concurrency),
        )
        self.endpoint = "completions" if cfg.mode == "completions" else "chat/completions"
        self.url = f"{cfg.base_url.rstrip('/')}/{self.endpoint}"

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | Sequence[int | None] | None = None,
        progress: bool = False,
    ) -> list[list[Completion]]:
        check_sampling(prompts, n, max_new_tokens, temperature, top_p)
        seeds = prompt_seeds(seed, len(prompts))
        sampling = {"max_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p}
        if stop:
            sampling["stop"] = list(stop)
        per_request = (self.cfg.max_n or n) if self.cfg.supports_n else 1
        jobs = [
            (p, first, min(per_request, n - first), sample_seed(seeds[p], first))
            for p in range(len(prompts))
            for first in range(0, n, per_request)
        ]
        results: list[list[Completion]] = [[] for _ in prompts]
        chunks: dict[tuple[int, int], list[Completion]] = {}
        pool = ThreadPoolExecutor(self.cfg.max_concurrency)
        try:
            futures = {
                pool.submit(self.request, prompts[p], count, job_seed, sampling): (p, first)
                for p, first, count, job_seed in jobs
            }
            for future in track(
                as_completed(futures), total=len(futures), description="requests", disable=not progress
            ):
                chunks[futures[future]] = future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for (p, _), chunk in sorted(chunks.items()):
            results[p].extend(chunk)
        return results

    def request(
        self, prompt: str, count: int, seed: int | None, sampling: dict[str, Any]
    ) -> list[Completion]:
        """One request for ``count`` completions of ``prompt``."""
        body: dict[str, Any] = {**sampling, "n": count}
        if self.cfg.model:
            body["model"] = self.cfg.model
        if seed is not None:
            body["seed"] = seed
        # Per-choice token counts come from logprobs when one answer holds several choices.
        want_logprobs = self.cfg.logprobs or count > 1
        # One top alternative, not 0: llama.cpp's llama-server reads 0 as "no logprobs".
        if self.cfg.mode == "completions":
            body["prompt"] = prompt
            if want_logprobs:
                body["logprobs"] = 1
        else:
            body["messages"] = [{"role": "user", "content": prompt}]
            if want_logprobs:
                body.update(logprobs=True, top_logprobs=1)
        data = self._post(body)
        try:
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            if len(choices) != count:
                hint = " (the server ignores n: set supports_n to false)" if count > 1 else ""
                raise PrmkitError(f"{self.url}: asked for {count} choices, got {len(choices)}{hint}")
            usage = (data.get("usage") or {}).get("completion_tokens")
            return [self._completion(choice, usage if count == 1 else None) for choice in choices]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise PrmkitError(
                f"{self.url}: unexpected answer ({type(exc).__name__}: {exc}): {str(data)[:200]}"
            ) from None

    def _completion(self, choice: dict[str, Any], usage: int | None) -> Completion:
        text = choice["text"] if self.cfg.mode == "completions" else choice["message"]["content"] or ""
        logprobs = _token_logprobs(choice.get("logprobs") or {})
        num_tokens = len(logprobs) if logprobs is not None else usage
        if num_tokens is None:
            raise PrmkitError(f"{self.url}: the answer reports neither logprobs nor usage.completion_tokens")
        return Completion(
            text=text,
            num_tokens=int(num_tokens),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            logprobs=logprobs if self.cfg.logprobs else None,
        )

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries; return the decoded JSON object."""
        return post_json(self.client, self.endpoint, body, self.cfg.retries, self.cfg.retry_backoff)

    def close(self) -> None:
        self.client.close()


def _token_logprobs(logprobs: dict[str, Any]) -> list[float] | None:
    """The sampled tokens' logprobs, from OpenAI's completions format (``token_logprobs``) or its chat
    format (``content``), which llama.cpp's llama-server also answers on ``/v1/completions``."""
    if logprobs.get("token_logprobs") is not None:
        return [float(x) for x in logprobs["token_logprobs"]]
    if logprobs.get("content") is not None:
        return [float(entry["logprob"]) for entry in logprobs["content"]]
    return None
