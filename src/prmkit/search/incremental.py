"""Scoring a growing solution one step at a time, for step-level search.

A ``StepScorer`` turns a question into a ``PrefixState`` (``start``) and scores candidate next steps
of a state (``extend``, one child state per step, all in one batch). Two implementations:

- ``IncrementalScorer`` keeps each prefix's key/value cache, so a new step costs one forward pass
  over the new step's tokens only. It relies on the step-encoding contract
  (``prmkit.data.encoding``): every piece is tokenized on its own, so the ids of a prefix are exactly
  the first ids of any longer solution, and the step's score is read at its separator's last token,
  as full one-pass scoring reads it. It applies to PRMs whose head reads a causal backbone's hidden
  states (formats in ``INCREMENTAL_HEADS``: prmkit/TRL token classification and qwen-prm) and whose
  attention is full (no sliding window).
- ``FullPrefixScorer`` rescores the whole prefix with ``PRM.score`` for every new step: the cost of
  a PRM without a cache (a k-step solution costs about k²/2 step-lengths of tokens); any PRM works.

Both count ``forward_passes``, ``tokens`` (tokens fed to the model) and ``seconds``, for the benchmark.
"""

from __future__ import annotations

import abc
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from prmkit.registry import Registry
from prmkit.score.prm import PRM
from prmkit.score.served import HTTPPRM

KVCache = tuple[tuple[torch.Tensor, torch.Tensor], ...]
Head = Callable[[torch.Tensor], torch.Tensor]  # hidden states (k, hidden) -> P(correct) (k,)
INCREMENTAL_HEADS: Registry[Callable[[PRM], tuple[Any, Head]]] = Registry("incremental PRM head")


@dataclass(frozen=True)
class PrefixState:
    """A question, the steps so far and their scores; ``cache`` holds the incremental scorer's keys and
    values (None for the full-prefix scorer, or once a prefix no longer fits ``max_length``)."""

    question: str
    steps: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    num_tokens: int = 0
    cache: KVCache | None = field(default=None, repr=False, compare=False)


class StepScorer(abc.ABC):
    """Scores candidate next steps of a prefix; see the module docstring. Counts the forward passes,
    the tokens fed to the model and the seconds spent."""

    mode: str = ""

    def __init__(self, prm: PRM | HTTPPRM) -> None:
        self.prm = prm
        self.forward_passes = 0
        self.tokens = 0
        self.seconds = 0.0

    def start(self, question: str) -> PrefixState:
        """The empty prefix of ``question``."""
        began = time.perf_counter()
        try:
            return self._start(question)
        finally:
            self.seconds += time.perf_counter() - began

    def extend(self, state: PrefixState, steps: Sequence[str]) -> list[PrefixState]:
        """One child of ``state`` per candidate step, with that step's score appended."""
        began = time.perf_counter()
        try:
            return self._extend(state, steps)
        finally:
            self.seconds += time.perf_counter() - began

    @abc.abstractmethod
    def _start(self, question: str) -> PrefixState: ...

    @abc.abstractmethod
    def _extend(self, state: PrefixState, steps: Sequence[str]) -> list[PrefixState]: ...


class FullPrefixScorer(StepScorer):
    """Rescores the full prefix (question and every step) for each candidate step."""

    mode = "full-prefix"

    def _start(self, question: str) -> PrefixState:
        return PrefixState(question)

    def _extend(self, state: PrefixState, steps: Sequence[str]) -> list[PrefixState]:
        if not steps:
            return []
        solutions = [[*state.steps, step] for step in steps]
        rows, lengths, passes = self.prm.score_counted([state.question] * len(solutions), solutions)
        self.tokens += sum(lengths)
        self.forward_passes += passes
        return [
            PrefixState(state.question, tuple(s), tuple(r), n) for s, r, n in zip(solutions, rows, lengths)
        ]


class IncrementalScorer(StepScorer):
    """Scores each new step on top of the cached keys and values of its prefix."""

    mode = "incremental"

    def __init__(self, prm: PRM, backbone: Any, head: Head) -> None:
        super().__init__(prm)
        self.backbone, self.head = backbone, head
        fmt = prm.step_format
        self.sep_ids = list(prm.tokenizer.encode(fmt.separator, add_special_tokens=False))
        self.max_length = fmt.max_length

    def step_ids(self, step: str) -> list[int]:
        """The ids the contract appends for one step: the step's own tokens, then the separator's."""
        return list(self.prm.tokenizer.encode(step, add_special_tokens=False)) + self.sep_ids

    @torch.inference_mode()
    def _start(self, question: str) -> PrefixState:
        ids = self.prm.encode(question, []).input_ids
        _, cache = self._forward([ids], None, 0)
        return PrefixState(question, num_tokens=len(ids), cache=cache[0])

    @torch.inference_mode()
    def _extend(self, state: PrefixState, steps: Sequence[str]) -> list[PrefixState]:
        pieces = [self.step_ids(step) for step in steps]
        fits = [
            state.cache is not None
            and (self.max_length is None or state.num_tokens + len(p) <= self.max_length)
            for p in pieces
        ]
        rows = [i for i, ok in enumerate(fits) if ok]
        probs, caches = (
            self._forward([pieces[i] for i in rows], state.cache, state.num_tokens) if rows else ([], [])
        )
        scored = {i: (p, c) for i, p, c in zip(rows, probs, caches)}
        out = []
        for i, (step, piece) in enumerate(zip(steps, pieces)):
            prob, cache = scored.get(i, (math.nan, None))
            out.append(
                PrefixState(
                    state.question,
                    (*state.steps, step),
                    (*state.scores, prob),
                    state.num_tokens + len(piece),
                    cache,
                )
            )
        return out

    def _forward(
        self, pieces: list[list[int]], past: KVCache | None, past_len: int
    ) -> tuple[list[float], list[KVCache]]:
        """One batched pass over right-padded ``pieces`` after a shared cached prefix; returns the score
        at each piece's last token and each piece's own cache (prefix plus piece, no padding)."""
        from transformers import DynamicCache

        k, width = len(pieces), max(len(p) for p in pieces)
        device = self.prm.device
        input_ids = torch.full((k, width), self.prm.pad_token_id, dtype=torch.long)
        mask = torch.zeros((k, past_len + width), dtype=torch.long)
        mask[:, :past_len] = 1
        for r, piece in enumerate(pieces):
            input_ids[r, : len(piece)] = torch.tensor(piece)
            mask[r, past_len : past_len + len(piece)] = 1
        positions = torch.arange(past_len, past_len + width).expand(k, -1)
        # Every row continues the same prefix: its keys and values are shared, expanded to k rows.
        shared = [(key.expand(k, -1, -1, -1), value.expand(k, -1, -1, -1)) for key, value in past or ()]
        cache = DynamicCache(ddp_cache_data=shared) if shared else DynamicCache()
        out = self.backbone(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            cache=cache,
            use_cache=True,
        )
        self.forward_passes += 1
        self.tokens += sum(len(p) for p in pieces)
        last = torch.tensor([len(p) - 1 for p in pieces], device=device)
        hidden = out.last_hidden_state[torch.arange(k, device=device), last]
        probs = self.head(hidden).float().cpu().tolist()
        layers = out.cache.layers
        caches = [
            tuple(
                (
                    layer.keys[r : r + 1, :, : past_len + len(p)].clone(),
                    layer.values[r : r + 1, :, : past_len + len(p)].clone(),
                )
                for layer in layers
            )
            for r, p in enumerate(pieces)
        ]
        return probs, caches


@INCREMENTAL_HEADS.register("prmkit")
def token_classification_head(prm: PRM) -> tuple[Any, Head]:
    """``*ForTokenClassification``: the base model, then the ``score`` head's class probability."""
    from prmkit.score.adapters.token_classification import class_probability

    model = prm.model
    head = model.score
    positive = getattr(prm, "positive_label", 1)
    return getattr(model, model.base_model_prefix), lambda hidden: class_probability(head(hidden), positive)


@INCREMENTAL_HEADS.register("qwen-prm")
def qwen_head(prm: PRM) -> tuple[Any, Head]:
    """Qwen2.5-Math-PRM: the backbone, then the two-layer head's softmax class 1."""
    head = prm.head  # type: ignore[attr-defined]
    return prm.model, lambda hidden: head(hidden).float().softmax(-1)[..., 1]


def incremental_unsupported(prm: PRM | HTTPPRM) -> str | None:
    """Why ``prm`` cannot be scored incrementally, or None when it can."""
    if isinstance(prm, HTTPPRM):
        return "the PRM is served, so no key-value cache of a prefix is kept here"
    if prm.format not in INCREMENTAL_HEADS:
        return (
            f"format {prm.format!r} has no incremental head (known: {', '.join(INCREMENTAL_HEADS.names())})"
        )
    if type(prm).encode is not PRM.encode:
        return f"format {prm.format!r} encodes solutions its own way, not with the per-piece step contract"
    layer_types = getattr(prm.model.config, "layer_types", None) or []
    if any(t != "full_attention" for t in layer_types):
        return "the backbone has sliding-window or non-attention layers"
    return None


def step_scorer(prm: PRM | HTTPPRM, incremental: bool = True) -> StepScorer:
    """An ``IncrementalScorer`` when asked for and supported (else a warning), or a ``FullPrefixScorer``."""
    if incremental:
        reason = incremental_unsupported(prm)
        if reason is None:
            return IncrementalScorer(prm, *INCREMENTAL_HEADS.get(prm.format)(prm))  # type: ignore[arg-type]
        warnings.warn(
            f"incremental step scoring unavailable ({reason}); rescoring full prefixes", stacklevel=2
        )
    return FullPrefixScorer(prm)
