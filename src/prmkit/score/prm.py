"""The PRM scoring API: ``load_prm(dir).score(problems, solutions) -> list[list[float]]``.

Every adapter turns a public PRM convention into one probability of correctness per step. Adapters
register in ``ADAPTERS`` and share one pipeline: encode each solution with the step-encoding
contract (``prmkit.data.encoding``), sort by length, pack batches under ``batch_size`` sequences and
``max_tokens`` padded tokens, run one forward pass per batch and read every step's score at its
step-end position. Steps cut off by ``max_length`` get NaN.

Loading and format detection: ``prmkit.score.load``. Models load from local folders, from
safetensors weights only, and never with ``trust_remote_code``.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import torch

from prmkit.data.encoding import EncodedSteps, StepBatch, StepFormat, collate, encode_steps
from prmkit.data.records import Problem, Solution
from prmkit.errors import PrmkitError
from prmkit.registry import Registry
from prmkit.score.config import PRMConfig
from prmkit.score.contract import PRMContract

ProblemLike = str | Problem
StepsLike = Sequence[str] | Solution


MAX_CHARS = 1_000_000  # per solution with its question: far past any model's context, short of a tokenizer's limits


def questions_and_steps(
    problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]
) -> tuple[list[str], list[list[str]]]:
    if len(problems) != len(solutions):
        raise ValueError(f"{len(problems)} problems for {len(solutions)} solutions")
    questions = [p.question if isinstance(p, Problem) else p for p in problems]
    steps = [list(s.steps) if isinstance(s, Solution) else list(s) for s in solutions]
    for i, (question, solution) in enumerate(zip(questions, steps)):
        if not solution:
            raise ValueError(f"solution {i} has no steps")
        size = len(question) + sum(map(len, solution))
        if size > MAX_CHARS:
            name = solutions[i].id if isinstance(solutions[i], Solution) else str(i)  # type: ignore[union-attr]
            raise PrmkitError(
                f"solution {name} has {size:,} characters; a PRM scores at most {MAX_CHARS:,} per solution"
            )
    return questions, steps


class Scored(NamedTuple):
    """Step scores with what they cost: tokens read per solution, and forward passes (a served PRM:
    requests)."""

    scores: list[list[float]]
    tokens: list[int]
    passes: int


def length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped longest first, each group under ``batch_size`` rows and ``max_tokens`` padded tokens.

    A single sequence longer than ``max_tokens`` still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        current = batches[-1] if batches else None
        if current and len(current) < batch_size and (len(current) + 1) * lengths[current[0]] <= max_tokens:
            current.append(i)
        else:
            batches.append([i])
    return batches


def gather_steps(values: torch.Tensor, step_index: torch.Tensor) -> torch.Tensor:
    """``values[b, step_index[b, s]]`` for a (batch, length, ...) tensor; rows of -1 read position 0."""
    index = step_index.clamp(min=0).to(values.device)
    if values.dim() == 2:
        return torch.gather(values, 1, index)
    expanded = index.unsqueeze(-1).expand(*index.shape, values.shape[-1])
    return torch.gather(values, 1, expanded)


class PRM(abc.ABC):
    """A process reward model: one probability of correctness per step.

    Subclasses implement ``from_folder`` and ``step_probabilities``; override ``encode`` when the
    score is read somewhere other than the separator's last token.
    """

    format: ClassVar[str]

    def __init__(self, model: Any, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.step_format = step_format
        self.cfg = cfg
        self.device = next(model.parameters()).device
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_token_id = 0 if pad is None else pad

    @property
    def predicts_class(self) -> bool:
        """Whether the scores are a classifier's probability of the correct class, so that 0.5 marks its
        predicted class (False for scalar heads, whose scores need a tuned threshold)."""
        return getattr(self.model.config, "num_labels", 2) >= 2

    @classmethod
    @abc.abstractmethod
    def from_folder(cls, folder: Path, cfg: PRMConfig, contract: PRMContract | None) -> PRM:
        """Load the model, tokenizer and step format from a local folder."""

    @abc.abstractmethod
    def step_probabilities(self, batch: StepBatch) -> torch.Tensor:
        """P(correct) at each ``batch.step_index`` position: a (batch, max_steps) float tensor."""

    def encode(self, question: str, steps: list[str], cut: bool = True) -> EncodedSteps:
        """Token ids and the position where each step's score is read; with no ``max_length`` in the
        step format, a sequence stops at ``max_tokens`` (the steps after it score NaN), so that one
        huge solution cannot take all memory. ``cut=False``: the whole text, to count what it costs."""
        fmt = self.capped_format if cut else dataclasses.replace(self.step_format, max_length=None)
        return encode_steps(self.tokenizer, question, steps, fmt)

    @property
    def max_length(self) -> int:
        """The longest sequence scored: the step format's ``max_length``, else ``max_tokens``."""
        return self.step_format.max_length or self.cfg.max_tokens

    @functools.cached_property
    def capped_format(self) -> StepFormat:
        """The step format with ``max_length`` set to the longest sequence scored (built once)."""
        return dataclasses.replace(self.step_format, max_length=self.max_length)

    def score(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> list[list[float]]:
        """One probability of correctness per step of each solution, all steps in one forward pass."""
        return self.score_counted(problems, solutions).scores

    def score_counted(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> Scored:
        """``score``, with the tokens read per solution and the forward passes it took."""
        questions, steps = questions_and_steps(problems, solutions)
        encoded = [self.encode(q, s) for q, s in zip(questions, steps)]
        lengths = [len(e) for e in encoded]
        passes = len(length_batches(lengths, self.cfg.batch_size, self.cfg.max_tokens))
        return Scored(self.score_encoded(encoded, [len(s) for s in steps]), lengths, passes)

    @torch.inference_mode()
    def score_encoded(self, encoded: Sequence[EncodedSteps], num_steps: Sequence[int]) -> list[list[float]]:
        """Score pre-encoded sequences; steps beyond ``encoded[i].num_steps`` get NaN."""
        out = [[math.nan] * n for n in num_steps]
        for rows in length_batches([len(e) for e in encoded], self.cfg.batch_size, self.cfg.max_tokens):
            batch = collate([encoded[i] for i in rows], self.pad_token_id)
            probs = self.step_probabilities(self.to_device(batch)).float().cpu().tolist()
            for row, i in enumerate(rows):
                kept = encoded[i].num_steps
                out[i][:kept] = probs[row][:kept]
        return out

    def to_device(self, batch: StepBatch) -> StepBatch:
        return StepBatch(
            input_ids=batch.input_ids.to(self.device),
            attention_mask=batch.attention_mask.to(self.device),
            step_index=batch.step_index.to(self.device),
            step_start=None if batch.step_start is None else batch.step_start.to(self.device),
        )


ADAPTERS: Registry[type[PRM]] = Registry("PRM format")


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PrmkitError(f"{path}: cannot read JSON: {exc}") from None


def safetensors_keys(folder: Path) -> list[str]:
    """Every tensor name in the folder's safetensors weights (single file or sharded)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        return list(read_json(index).get("weight_map", {}))
    single = folder / "model.safetensors"
    if not single.is_file():
        return []
    from safetensors import safe_open

    with safe_open(str(single), framework="pt") as fh:
        return list(fh.keys())


def read_tensors(folder: Path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix`` (prefix removed), from safetensors files only."""
    from safetensors import safe_open

    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = read_json(index).get("weight_map", {})
        files = sorted({f for k, f in weight_map.items() if k.startswith(prefix)})
    else:
        files = ["model.safetensors"] if (folder / "model.safetensors").is_file() else []
    out = {}
    for name in files:
        with safe_open(str(folder / name), framework="pt") as fh:
            names = [k for k in fh.keys() if k.startswith(prefix)]  # noqa: SIM118 (safe_open is not iterable)
            out.update({k[len(prefix) :]: fh.get_tensor(k) for k in names})
    if not out:
        raise PrmkitError(
            f"{folder}: no safetensors weights named {prefix}* (prmkit loads heads from safetensors only)"
        )
    return out


def load_options(cfg: PRMConfig) -> tuple[torch.device, torch.dtype]:
    """Device and dtype for ``from_pretrained``."""
    from prmkit.devices import resolve_device, resolve_dtype

    device = resolve_device(cfg.device)
    return device, resolve_dtype(cfg.dtype, device)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars: adapters load backbones without their
    heads on purpose, so "unexpected keys" there are expected, not news."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def from_pretrained(auto_cls: Any, folder: Path, **kwargs: Any) -> Any:
    """``auto_cls.from_pretrained`` from safetensors, never running code shipped with the model."""
    try:
        with quiet_transformers():
            return auto_cls.from_pretrained(str(folder), trust_remote_code=False, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PrmkitError(f"{folder}: cannot load with {auto_cls.__name__}: {first_line}") from None


def load_model(auto_cls: Any, folder: Path, cfg: PRMConfig, **kwargs: Any) -> Any:
    """A model from safetensors weights on the configured device and dtype."""
    device, dtype = load_options(cfg)
    return from_pretrained(auto_cls, folder, dtype=dtype, use_safetensors=True, **kwargs).to(device)


def load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return from_pretrained(AutoTokenizer, folder)


def resolve_step_format(
    contract: PRMContract | None, cfg: PRMConfig, default: StepFormat | None = None
) -> StepFormat:
    """The folder's step format (its contract's, else the format's ``default``) with the config's
    overrides applied."""
    fmt = contract.step_format if contract is not None else default or StepFormat()
    overrides = {"max_length": cfg.max_length, "separator": cfg.separator}
    return StepFormat.from_dict({**fmt.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})


def fit_head(
    head: torch.nn.Module, weights: dict[str, torch.Tensor], backbone: Any, folder: Path
) -> torch.nn.Module:
    """``head`` with ``weights`` loaded, on the backbone's device and dtype, in eval mode."""
    try:
        head.load_state_dict(weights)
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or ["mismatch"])[0]
        raise PrmkitError(f"{folder}: the head's weights do not fit it: {first}") from None
    return head.to(device=backbone.device, dtype=backbone.dtype).eval()


class HeadPRM(PRM):
    """A backbone (``AutoModel``) and a separate head applied to its hidden state at each step end."""

    def __init__(
        self, model: Any, head: torch.nn.Module, tokenizer: Any, step_format: StepFormat, cfg: PRMConfig
    ) -> None:
        super().__init__(model, tokenizer, step_format, cfg)
        self.head = head.eval()

    @staticmethod
    def load_backbone(folder: Path, cfg: PRMConfig, prefix: str) -> tuple[Any, dict[str, torch.Tensor]]:
        """The backbone, and the head's weights (names under ``prefix``, prefix removed)."""
        from transformers import AutoModel

        return load_model(AutoModel, folder, cfg), read_tensors(folder, prefix)

    def head_at_steps(self, batch: StepBatch) -> torch.Tensor:
        """The head's outputs at each ``batch.step_index`` position, in float32."""
        hidden = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        return self.head(gather_steps(hidden, batch.step_index)).float()
