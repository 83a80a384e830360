"""The settings of loading a PRM, ``prmkit score`` and ``prmkit serve``, apart from the code that
runs them so that reading them (``--help``, configs) imports no torch."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from prmkit.errors import ConfigError
from prmkit.score.aggregate import check_aggregation

MIN_TOKEN_CHARS = 16
TOKEN_ENV = "PRMKIT_SERVER_TOKEN"


@dataclass
class ServedPRMConfig:
    """How to talk to a served PRM (``--prm http://HOST:PORT``): ``prmkit serve``, or vLLM's pooling API."""

    api: Literal["prmkit", "vllm"] = field(
        default="prmkit",
        metadata={"help": "prmkit: `prmkit serve`'s /score; vllm: vLLM's /pooling (token_classify), needs --served.tokenizer"},
    )
    tokenizer: str = field(
        default="",
        metadata={"help": "api vllm: the PRM's folder (tokenizer and config, weights optional); requests are encoded as its format requires"},
    )
    model: str = field(default="", metadata={"help": "api vllm: the served model's name (default: the first /v1/models lists)"})

    concurrency: int = field(default=4, metadata={"help": "requests in flight at once"})
    max_steps: int = field(
        default=512, metadata={"help": "most steps per request (the server's --max-steps)"}
    )
    timeout: float = field(default=120.0, metadata={"help": "seconds per request"})
    retries: int = field(
        default=3, metadata={"help": "retries of a request that fails to connect, times out or gets 429/5xx"}
    )
    token_env: str = field(
        default=TOKEN_ENV, metadata={"help": "environment variable holding the server's bearer token"}
    )

    def __post_init__(self) -> None:
        if min(self.concurrency, self.max_steps) < 1 or self.timeout <= 0 or self.retries < 0:
            raise ValueError("concurrency, max_steps and timeout must be positive, retries >= 0")
        if self.api not in ("prmkit", "vllm"):
            raise ValueError(f"unknown served api {self.api!r}; use prmkit or vllm")


def is_served(prm: str) -> bool:
    """Whether ``prm`` names a served PRM (a URL) rather than a folder."""
    return prm.startswith(("http://", "https://"))


@dataclass
class PRMConfig:
    """Which PRM to load and how to run it."""

    prm: str = field(
        default="",
        metadata={
            "help": "PRM folder (a local Hugging Face model directory), or the URL of `prmkit serve` "
            "(http://HOST:PORT)"
        },
    )
    format: str = field(
        default="auto",
        metadata={
            "help": "adapter: auto (detect from the folder), prmkit, math-shepherd, qwen-prm, value-head, sequence-classification, likelihood (any causal LM: each step's probability under it) or prmkit-likelihood (trained with --head likelihood)"
        },
    )
    device: str = field(
        default="auto", metadata={"help": "auto (cuda when available), cpu, cuda, cuda:1, ..."}
    )
    dtype: str = field(
        default="auto",
        metadata={"help": "auto (bfloat16 on cuda, float32 on cpu), float32, bfloat16 or float16"},
    )
    batch_size: int = field(default=16, metadata={"help": "most sequences per forward pass"})
    max_tokens: int = field(
        default=16384,
        metadata={"help": "most padded tokens per forward pass, and the longest sequence scored (later steps: NaN)"},
    )
    max_length: int | None = field(
        default=None,
        metadata={"help": "token limit per sequence (later steps score NaN); default: the contract's"},
    )
    separator: str | None = field(
        default=None,
        metadata={"help": "step separator; default: the folder's prmkit_prm.json, else the format's own"},
    )
    served: ServedPRMConfig = field(
        default_factory=ServedPRMConfig,
        metadata={"help": "a served PRM (--prm URL): batch_size is then the solutions per request"},
    )

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_tokens < 1:
            raise ValueError("batch_size and max_tokens must be positive")
        if self.max_length is not None and self.max_length < 2:
            raise ValueError(f"max_length must be at least 2 tokens, got {self.max_length}")


@dataclass
class ScoreConfig(PRMConfig):
    """Score every solution of a file with a PRM."""

    input: str = field(default="", metadata={"help": "solutions to score"})
    input_format: str = field(
        default="jsonl", metadata={"help": "format of the input (any prmkit data format with solutions)"}
    )
    problems: str | None = field(
        default=None,
        metadata={"help": "problems file (prmkit JSONL) when the input holds bare Solution records"},
    )
    output: str = field(default="scores.jsonl", metadata={"help": "where the step scores go (JSONL)"})
    aggregation: str = field(
        default="min", metadata={"help": "step aggregation: min, product, last, mean, geometric_mean"}
    )
    chunk_size: int = field(
        default=256, metadata={"help": "solutions per scoring call (progress granularity)"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_aggregation(self.aggregation)


@dataclass
class ServeConfig(PRMConfig):
    """The scoring server (see ``prmkit.score.server``)."""

    host: str = field(
        default="127.0.0.1", metadata={"help": "interface to bind; anything but loopback exposes the server"}
    )
    port: int = field(default=8000, metadata={"help": "TCP port"})
    token: str | None = field(
        default=None,
        metadata={
            "help": f"bearer token required on every route but /health (visible in ps: prefer --token-file "
            f"or ${TOKEN_ENV})"
        },
    )
    token_file: str | None = field(
        default=None, metadata={"help": "read the bearer token from this file (its first line)"}
    )
    aggregation: str = field(
        default="min", metadata={"help": "default step aggregation: min, product, last, mean, geometric_mean"}
    )
    batching: bool | None = field(
        default=None,
        metadata={
            "help": "score the requests that queued while the model was busy in one call (default: on an "
            "accelerator, where one request leaves most of it idle; off on CPU, where it gains nothing)"
        },
    )
    max_batch_size: int = field(
        default=32, metadata={"help": "most solutions gathered into one scoring call"}
    )
    max_wait_ms: float = field(
        default=0.0,
        metadata={
            "help": "how long a request the idle model could score at once waits for others to join it (0: "
            "not at all; batches form from what queues during a forward pass)"
        },
    )
    max_queue: int = field(
        default=256, metadata={"help": "requests waiting beyond this are refused with 503"}
    )
    max_body_bytes: int = field(
        default=1_000_000, metadata={"help": "larger request bodies are refused with 413"}
    )
    max_steps: int = field(
        default=512, metadata={"help": "most steps per request (all solutions together); more: 413"}
    )
    max_solutions: int = field(default=64, metadata={"help": "most solutions per request; more: 413"})
    max_request_tokens: int = field(
        default=16384,
        metadata={
            "help": "most tokens per request, all solutions as the PRM encodes them; more: 413 (bounds a request's cost)"
        },
    )
    lane_tokens: int = field(
        default=4096,
        metadata={
            "help": "requests of more tokens go to the bulk lane, scored this many tokens at a time in a thread of their own, so that smaller requests never wait behind them"
        },
    )
    bulk_shares_core: bool = field(
        default=True,
        metadata={
            "help": "on CPU, the bulk lane runs at idle priority on a core the interactive lane uses, taking only the time it leaves (off: on a core of its own, faster for bulk requests, but the two forward passes slow each other through shared caches and memory)"
        },
    )
    graceful_timeout: float = field(
        default=30.0, metadata={"help": "seconds to finish requests in flight on shutdown"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_aggregation(self.aggregation)
        if (
            min(self.max_batch_size, self.max_queue, self.max_body_bytes, self.max_steps, self.max_solutions,
                self.max_request_tokens, self.lane_tokens) < 1
        ):  # fmt: skip
            raise ValueError(
                "max_batch_size, max_queue, max_body_bytes, max_steps, max_solutions, max_request_tokens and "
                "lane_tokens must be positive"
            )
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must lie in 0..65535, got {self.port}")

    def resolved_token(self) -> str | None:
        """--token, else the first line of --token-file, else $PRMKIT_SERVER_TOKEN; one shorter than
        ``MIN_TOKEN_CHARS`` is refused (a guessable token is no lock)."""
        token, where = self.token, "--token"
        if not token and self.token_file:
            try:
                lines = Path(self.token_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"{self.token_file}: cannot read the token file: {exc.strerror}") from None
            if not lines or not lines[0].strip():
                raise ConfigError(f"{self.token_file}: the token file is empty")
            token, where = lines[0].strip(), self.token_file
        if not token:
            token, where = os.environ.get(TOKEN_ENV) or None, f"${TOKEN_ENV}"
        if token and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"{where}: the server token has {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
                "(python -c 'import secrets; print(secrets.token_urlsafe())' makes one)"
            )
        return token
