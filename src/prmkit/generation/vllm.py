"""The vLLM backend: offline batched generation with ``vllm.LLM`` on a GPU.

vllm is an optional extra (``pip install prmkit[vllm]``); it needs CUDA. Each prompt gets one
``SamplingParams(n=..., seed=...)``, so its ``n`` samples come from one seeded vLLM generator
(reproducible for the same prompt and seed, but not the same draws as the other backends).
Log-probabilities are vLLM's defaults (raw model log-probabilities of the sampled tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation.base import (
    BACKENDS,
    Completion,
    GenerationBackend,
    GenerationConfig,
    check_sampling,
    prompt_seeds,
)

INSTALL_HINT = "the vllm backend needs vllm and a CUDA GPU: pip install prmkit[vllm]"


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise PrmkitError(f"{INSTALL_HINT} (import failed: {exc})") from None
    return vllm


@BACKENDS.register("vllm")
class VLLMBackend(GenerationBackend):
    """Generation with ``vllm.LLM``; ``chat_template`` uses ``LLM.chat``."""

    name = "vllm"

    def __init__(self, cfg: GenerationConfig) -> None:
        self._vllm = _import_vllm()
        if not cfg.model:
            raise ConfigError("the vllm backend needs model: a model directory or a .gguf file")
        self.cfg = cfg
        model = f"{cfg.model.rstrip('/')}/{cfg.gguf_file}" if cfg.gguf_file else cfg.model
        self.llm = self._vllm.LLM(
            model=model,
            tokenizer=cfg.tokenizer,
            dtype=cfg.dtype,
            tensor_parallel_size=cfg.tensor_parallel_size,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
        )

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
        params = [
            self._vllm.SamplingParams(
                n=n,
                max_tokens=max_new_tokens,
                temperature=temperature,
                top_p=top_p,
                stop=list(stop) if stop else None,
                seed=prompt_seed,
                logprobs=0 if self.cfg.logprobs else None,
            )
            for prompt_seed in prompt_seeds(seed, len(prompts))
        ]
        if self.cfg.chat_template:
            messages = [[{"role": "user", "content": p}] for p in prompts]
            outputs = self.llm.chat(messages, sampling_params=params, use_tqdm=progress)
        else:
            outputs = self.llm.generate(list(prompts), sampling_params=params, use_tqdm=progress)
        return [[self._completion(out) for out in request.outputs] for request in outputs]

    def _completion(self, out: Any) -> Completion:
        logprobs = None
        if self.cfg.logprobs and out.logprobs is not None:
            logprobs = [step[token].logprob for token, step in zip(out.token_ids, out.logprobs)]
        return Completion(
            text=out.text,
            num_tokens=len(out.token_ids),
            finish_reason="length" if out.finish_reason == "length" else "stop",
            logprobs=logprobs,
            token_ids=list(out.token_ids),
        )

    def close(self) -> None:
        self.llm = None
