"""The transformers backend: batched, left-padded, KV-cached sampling from a local model or GGUF file.

Each (prompt, sample) pair is one row with its own random stream, seeded by ``seed + i`` (see
``prmkit.generation.base``). Sampling draws one uniform number per row and step from that stream and
inverts the row's CDF, so a row's tokens do not depend on the other rows in its batch, on
``batch_size`` or on the device's RNG.

Determinism: same model weights, prompts, seeds, sampling arguments, device and dtype give identical
completions. Batch composition changes only the padding, which moves logits by float rounding
(~1e-7 in float32); that could flip a token only at an exact near-tie. Across devices, dtypes or
torch versions, outputs may differ.

Log-probabilities are *raw*: ``log_softmax`` of the model's logits at the sampled token, before
temperature and top-p (as vLLM reports by default), so they score the model itself, not the sampler.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
from rich.progress import track

from prmkit.devices import resolve_device, resolve_dtype
from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation.base import (
    BACKENDS,
    Completion,
    GenerationBackend,
    GenerationConfig,
    check_sampling,
    cut_at_stop,
    prompt_seeds,
    resolve_model_path,
    sample_seed,
)


def as_plain_weights(model: Any) -> Any:
    """A model loaded from a GGUF file holds dequantized float weights but stays marked as quantized,
    which makes the transformers Trainer refuse it and ``save_pretrained`` write a quantization config.
    Drop the marks: the weights are plain tensors."""
    method = getattr(model, "quantization_method", None)
    if getattr(method, "value", method) == "gguf":
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model, "quantization_method"):
            del model.quantization_method
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return model


def load_model_and_tokenizer(cfg: GenerationConfig, device: torch.device) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from a directory, or from a GGUF file (dequantized)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not cfg.model:
        raise ConfigError("the transformers backend needs model: a model directory or a .gguf file")
    model_dir, gguf_file = resolve_model_path(cfg.model, cfg.gguf_file)
    gguf = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        if cfg.tokenizer:
            tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer)
        else:
            tokenizer = AutoTokenizer.from_pretrained(model_dir, **gguf)
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=resolve_dtype(cfg.dtype, device), **gguf
        )
    except (OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PrmkitError(f"cannot load model {cfg.model!r}: {first_line}") from None
    return as_plain_weights(model).to(device).eval(), tokenizer


@BACKENDS.register("transformers")
class TransformersBackend(GenerationBackend):
    """Generation with a transformers causal LM; pass ``model``/``tokenizer`` to reuse loaded ones.

    ``eos_token_ids`` (from the generation config and the tokenizer) end a sequence with
    finish_reason "stop"; the EOS token counts in ``num_tokens`` but not in the text.
    """

    name = "transformers"

    def __init__(self, cfg: GenerationConfig, model: Any = None, tokenizer: Any = None) -> None:
        self.cfg = cfg
        if model is None or tokenizer is None:
            self.device = resolve_device(cfg.device)
            model, tokenizer = load_model_and_tokenizer(cfg, self.device)
        else:
            self.device = model.device
        self.model, self.tokenizer = model, tokenizer
        if cfg.chat_template and not getattr(tokenizer, "chat_template", None):
            raise ConfigError(f"chat_template is on but the tokenizer of {cfg.model!r} has no chat template")
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
        self.eos_token_ids: set[int] = {i for i in eos_ids if i is not None}
        pad = (
            tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else min(self.eos_token_ids, default=0)
        )
        self.pad_token_id: int = pad

    def encode(self, prompt: str) -> list[int]:
        """Token ids of a prompt, after the chat template when ``chat_template`` is on."""
        if self.cfg.chat_template:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self.tokenizer(prompt)["input_ids"]

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
        encoded = [self.encode(p) for p in prompts]
        empty = [i for i, ids in enumerate(encoded) if not ids]
        if empty:
            raise PrmkitError(f"prompt {empty[0]} is empty after tokenization; give it at least one token")
        rows = [(p, i) for p in range(len(prompts)) for i in range(n)]
        # Similar lengths share a batch (less padding); results do not depend on the grouping.
        order = sorted(range(len(rows)), key=lambda r: len(encoded[rows[r][0]]))
        size = self.cfg.batch_size
        batches = [order[k : k + size] for k in range(0, len(order), size)]
        sampler = _Sampler(temperature, top_p)
        results: list[list[Completion | None]] = [[None] * n for _ in prompts]
        for batch in track(batches, description="generating", disable=not progress):
            rngs = [random.Random(sample_seed(seeds[rows[r][0]], rows[r][1])) for r in batch]
            ids = [encoded[rows[r][0]] for r in batch]
            for r, completion in zip(
                batch, self._decode(ids, rngs, sampler, max_new_tokens, list(stop or []))
            ):
                p, i = rows[r]
                results[p][i] = completion
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def _decode(
        self,
        ids: list[list[int]],
        rngs: list[random.Random],
        sampler: _Sampler,
        max_new_tokens: int,
        stop: list[str],
    ) -> list[Completion]:
        """Decode one left-padded batch with a KV cache until every row has finished.

        Rows with the same prompt (the ``n`` samples of one prompt) share one prefill: the prompt runs
        once and its KV cache is copied to each of them."""
        firsts: dict[tuple[int, ...], int] = {}
        for x in ids:
            firsts.setdefault(tuple(x), len(firsts))
        unique = [list(x) for x in firsts]
        expand = torch.tensor([firsts[tuple(x)] for x in ids], device=self.device)
        width = max(len(x) for x in unique)
        input_ids = torch.full((len(unique), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(unique), width), dtype=torch.long)
        for j, x in enumerate(unique):
            input_ids[j, width - len(x) :] = torch.tensor(x, dtype=torch.long)
            mask[j, width - len(x) :] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1
        )
        cache, logits = out.cache, out.logits[:, -1, :]
        if len(unique) < len(ids):
            cache.reorder_cache(expand)
            logits, mask, positions = logits[expand], mask[expand], positions[expand]
        rows = [_Row() for _ in ids]
        positions = positions[:, -1:]
        # With sdpa over plain causal layers, hand the model its 4D mask for each step (a view of one
        # tensor) instead of a 2D mask it would turn into one at every token.
        steps_mask = None
        if _takes_ready_masks(self.model.config):
            steps_mask = torch.cat([mask, mask.new_ones((len(ids), max_new_tokens))], dim=1)
            steps_mask = steps_mask.bool()[:, None, None]
        for _ in range(max_new_tokens):
            tokens, logprobs = sampler(logits.float(), rngs)
            for row, token, logprob in zip(rows, tokens.tolist(), logprobs.tolist()):
                if row.finish is None:
                    self._step(row, token, logprob, max_new_tokens, stop)
            if all(row.finish is not None for row in rows):
                break
            # finished rows run on (as in HF generate); their tokens are dropped
            if steps_mask is None:
                mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            else:
                mask = steps_mask[..., : mask.shape[-1] + 1]
            positions = positions + 1
            out = self.model(
                input_ids=tokens[:, None],
                attention_mask=mask,
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            cache, logits = out.cache, out.logits[:, -1, :]
        return [self._completion(row, stop) for row in rows]

    def _step(self, row: _Row, token: int, logprob: float, max_new_tokens: int, stop: list[str]) -> None:
        row.tokens.append(token)
        row.logprobs.append(logprob)
        ended = token in self.eos_token_ids
        if ended or (
            stop and cut_at_stop(self.tokenizer.decode(row.tokens, skip_special_tokens=True), stop)[1]
        ):
            row.finish = "stop"
        elif len(row.tokens) >= max_new_tokens:
            row.finish = "length"

    def _completion(self, row: _Row, stop: list[str]) -> Completion:
        text_ids = row.tokens[:-1] if row.tokens and row.tokens[-1] in self.eos_token_ids else row.tokens
        text, _ = cut_at_stop(self.tokenizer.decode(text_ids, skip_special_tokens=True), stop)
        return Completion(
            text=text,
            num_tokens=len(row.tokens),
            finish_reason=row.finish or "length",
            logprobs=list(row.logprobs) if self.cfg.logprobs else None,
            token_ids=list(row.tokens),
        )

    def close(self) -> None:
        self.model = self.tokenizer = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _takes_ready_masks(config: Any) -> bool:
    """Whether the model attends with sdpa over full causal attention in every layer, so that a
    boolean ``[batch, 1, 1, keys]`` mask (True: attend) is exactly what transformers would build."""
    layer_types = set(getattr(config, "layer_types", None) or ["full_attention"])
    return (
        getattr(config, "_attn_implementation", None) == "sdpa"
        and not getattr(config, "sliding_window", None)
        and not getattr(config, "attention_chunk_size", None)
        and layer_types == {"full_attention"}
    )


class _Row:
    """The growing state of one sequence."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self.finish: str | None = None


class _Sampler:
    """Greedy (temperature 0) or temperature/top-p sampling with one random stream per row."""

    def __init__(self, temperature: float, top_p: float) -> None:
        from transformers.generation.logits_process import TopPLogitsWarper

        self.temperature = temperature
        self.top_p = TopPLogitsWarper(top_p) if top_p < 1 else None

    def __call__(self, logits: torch.Tensor, rngs: list[random.Random]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (token per row, raw log-probability of that token)."""
        logprobs = torch.log_softmax(logits, dim=-1)
        if self.temperature == 0:
            tokens = logits.argmax(dim=-1)
        else:
            scaled = logits / self.temperature
            if self.top_p is not None:
                scaled = self.top_p(None, scaled)
            cdf = torch.softmax(scaled.double(), dim=-1).cumsum(dim=-1)
            # Scaling by the total keeps the draw inside the kept tokens despite rounding in cumsum.
            u = torch.tensor([rng.random() for rng in rngs], dtype=torch.float64, device=logits.device)
            tokens = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None], right=True).squeeze(-1)
            tokens = tokens.clamp(max=logits.shape[-1] - 1)
        return tokens, logprobs.gather(-1, tokens[:, None]).squeeze(-1)
