"""The step-encoding contract: one function turns (question, steps) into token ids plus the position
where each step ends. PRM training, scoring and evaluation all call it, so a score is always read at
exactly the token the model was trained on.

Every piece is tokenized on its own and the separator's token ids are appended after the question and
after each step (never a joined string re-tokenized, where the separator can merge with its
neighbours). The score of step i is read at ``step_ends[i]``, the separator's last token; the step's own
tokens run from ``step_starts[i]`` to just before its separator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch


class Tokenizer(Protocol):
    bos_token_id: int | None
    pad_token_id: int | None
    eos_token_id: int | None

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


@dataclass(frozen=True)
class StepFormat:
    """How a (question, steps) pair becomes tokens. Saved beside every PRM as part of its contract."""

    separator: str = field(default="\n\n", metadata={"help": "text appended after each step; scores are read at its last token"})
    prompt_template: str = field(default="{question}", metadata={"help": "how the question is rendered before the steps"})
    question_separator: str | None = field(default=None, metadata={"help": "separator after the question (default: the step separator)"})
    add_bos: bool = field(default=True, metadata={"help": "prepend the tokenizer's BOS token when it has one"})
    max_length: int | None = field(default=None, metadata={"help": "drop trailing steps (then the question's start) beyond this many tokens"})

    def __post_init__(self) -> None:
        if not self.separator:
            raise ValueError("separator is empty: the scores are read at its last token")
        if self.max_length is not None and self.max_length < 2:
            raise ValueError(f"max_length must be at least 2 tokens, got {self.max_length}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepFormat:
        return cls(**data)


@dataclass
class EncodedSteps:
    input_ids: list[int]
    step_ends: list[int]  # index into input_ids of the last token of each kept step's separator
    num_steps: int  # steps that fit (may be fewer than given when max_length truncates)
    step_starts: list[int] = field(default_factory=list)  # index of each kept step's first token

    def __len__(self) -> int:
        return len(self.input_ids)


def _ids(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Each text's token ids, without special tokens. A fast Hugging Face tokenizer encodes them in
    one call that releases the GIL, so a long solution does not stall the threads beside it."""
    if getattr(tokenizer, "is_fast", False) and all(texts):
        return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return [list(tokenizer.encode(text, add_special_tokens=False)) if text else [] for text in texts]


def encode_steps(tokenizer: Tokenizer, question: str, steps: list[str], fmt: StepFormat = StepFormat()) -> EncodedSteps:
    """Encode a question and its steps; see the module docstring for the contract."""
    q_sep = fmt.separator if fmt.question_separator is None else fmt.question_separator
    sep_ids, prompt_ids, q_sep_ids, *step_ids = _ids(
        tokenizer, [fmt.separator, fmt.prompt_template.format(question=question), q_sep, *steps]
    )
    if not sep_ids:
        raise ValueError(f"separator {fmt.separator!r} encodes to no tokens")
    head = [tokenizer.bos_token_id] if fmt.add_bos and tokenizer.bos_token_id is not None else []
    question_ids = prompt_ids + q_sep_ids
    step_ids = [ids + sep_ids for ids in step_ids]

    if fmt.max_length is not None:
        budget = fmt.max_length - len(head)
        if budget <= 0:
            raise ValueError(f"max_length {fmt.max_length} leaves no room for any token")
        if len(question_ids) > budget:
            question_ids = question_ids[len(question_ids) - budget :]
        room = budget - len(question_ids)
        kept = []
        for ids in step_ids:
            if len(ids) > room:
                break
            kept.append(ids)
            room -= len(ids)
        step_ids = kept

    input_ids = head + question_ids
    step_starts, step_ends = [], []
    for ids in step_ids:
        step_starts.append(len(input_ids))
        input_ids.extend(ids)
        step_ends.append(len(input_ids) - 1)
    return EncodedSteps(input_ids, step_ends, len(step_ids), step_starts)


@dataclass
class StepBatch:
    input_ids: torch.Tensor  # (batch, length), right-padded
    attention_mask: torch.Tensor  # (batch, length)
    step_index: torch.Tensor  # (batch, max_steps) positions of step ends, -1 where a row has fewer steps
    labels: torch.Tensor | None = None  # (batch, length) targets at step ends, ignore_index elsewhere
    step_start: torch.Tensor | None = None  # (batch, max_steps) first token of each step, when every row has them


def collate(
    encoded: list[EncodedSteps],
    pad_token_id: int,
    step_labels: list[list[float]] | None = None,
    ignore_index: int = -100,
) -> StepBatch:
    """Right-pad a batch; optionally place each step's label at its step-end token (float targets)."""
    import torch
    length = max(len(e) for e in encoded)
    max_steps = max((e.num_steps for e in encoded), default=0)
    input_ids = torch.full((len(encoded), length), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(encoded), length), dtype=torch.long)
    step_index = torch.full((len(encoded), max(max_steps, 1)), -1, dtype=torch.long)
    labels = None if step_labels is None else torch.full((len(encoded), length), float(ignore_index))
    starts = all(len(e.step_starts) == e.num_steps for e in encoded)
    step_start = torch.full_like(step_index, -1) if starts else None
    for row, enc in enumerate(encoded):
        input_ids[row, : len(enc)] = torch.tensor(enc.input_ids)
        mask[row, : len(enc)] = 1
        if enc.step_ends:
            step_index[row, : enc.num_steps] = torch.tensor(enc.step_ends)
            if step_start is not None:
                step_start[row, : enc.num_steps] = torch.tensor(enc.step_starts)
        if labels is not None:
            assert step_labels is not None
            for pos, value in zip(enc.step_ends, step_labels[row][: enc.num_steps]):
                labels[row, pos] = float(value)
    return StepBatch(input_ids, mask, step_index, labels, step_start)
