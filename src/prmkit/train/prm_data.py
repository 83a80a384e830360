"""Labelled solutions -> PRM training examples: step targets placed at the contract's step ends.

Targets per step, by training mode:

- ``prm`` + ``hard``: 0/1 per step, trained with cross-entropy. With a ``hard_threshold`` t, a step
  with a soft label is correct iff ``soft > t`` (Lessons' threshold sweep; t = 0 is HE); otherwise the
  stored ``StepLabels.hard`` is used, else ``soft > 0``, else the labels implied by ``first_error``;
- ``prm`` + ``soft``: the MC probability per step (``StepLabels.soft``), trained with binary
  cross-entropy against that probability (never cast to int);
- ``orm``: only the last step carries a target, the final answer's correctness; the other steps are
  ignored (-100).

With a ``kind`` other than ``value`` the PRM targets are the progress each step made, computed from
the MC values (``prmkit.train.label_kinds``).

With ``drop_after_error`` (the default) the steps after the first wrong one are removed, as Lessons did
("we eliminated all steps subsequent to those labeled as incorrect"); Math-Shepherd's release trained
on every step's own label, which ``drop_after_error=False`` reproduces.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch

from prmkit.data.encoding import EncodedSteps, StepFormat, collate, encode_steps
from prmkit.data.records import LabeledSolution, Record
from prmkit.errors import DataError
from prmkit.grading.batch import final_correctness
from prmkit.train.label_kinds import NO_SOFT_LABELS, LabelKind, kind_targets, mc_values, root_values
from prmkit.train.pairs import prefix_keys, sibling_pairs

IGNORE = -100.0


def check_targets(
    example: LabeledSolution,
    labels: str = "hard",
    objective: str = "prm",
    threshold: float | None = None,
    kind: LabelKind = "value",
) -> None:
    """Refuse an example whose labels cannot give the asked targets (``DataError`` naming the field)."""
    if objective == "orm":
        return
    if example.labels is None:
        raise DataError("unlabelled solution; a PRM needs step labels", field=f"{example.solution.id}.labels")
    if kind != "value":
        mc_values(example, kind)
    elif example.labels.soft is None and (labels == "soft" or threshold):
        need = (
            "--labels soft trains on them" if labels == "soft" else f"--hard-threshold {threshold} reads them"
        )
        raise DataError(f"{NO_SOFT_LABELS}; {need}", field=f"{example.solution.id}.labels.soft")


def step_targets(
    example: LabeledSolution,
    labels: str,
    objective: str,
    threshold: float | None = None,
    correct: bool | None = None,
) -> list[float]:
    """The training target of every step (see the module docstring); IGNORE where none."""
    n = len(example.solution.steps)
    if objective == "orm":
        if correct is None:
            raise ValueError("an ORM target needs the final answer's correctness")
        return [IGNORE] * (n - 1) + [float(correct)]
    check_targets(example, labels, objective, threshold)
    assert example.labels is not None
    if labels == "soft":
        return [float(p) for p in example.labels.soft or []]
    return [float(v) for v in example.labels.hard_targets(threshold)]


def drop_after_first_error(
    steps: list[str], targets: list[float], hard: list[int]
) -> tuple[list[str], list[float]]:
    """Keep the steps up to and including the first wrong one."""
    if 0 not in hard:
        return steps, targets
    keep = hard.index(0) + 1
    return steps[:keep], targets[:keep]


class StepDataset(torch.utils.data.Dataset):
    """Encoded solutions with one target per step, as dicts (``input_ids``, ``step_ends``, ``targets``).

    Solutions with no labelled step left after ``max_length`` truncation are dropped (``dropped``).
    """

    def __init__(
        self,
        encoded: Sequence[EncodedSteps],
        targets: Sequence[list[float]],
        siblings: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.items = []
        self.sources: list[int] = []  # the index, among the inputs, of each kept item
        for i, (enc, target) in enumerate(zip(encoded, targets)):
            kept = target[: enc.num_steps]
            if any(v != IGNORE for v in kept):
                item = {
                    "input_ids": enc.input_ids, "step_starts": enc.step_starts, "step_ends": enc.step_ends,
                    "targets": kept,
                }  # fmt: skip
                if siblings is not None:  # what the collator needs to find sibling pairs
                    extra = siblings[i]
                    item.update(
                        problem=extra["problem"],
                        keys=extra["keys"][: len(kept)],
                        values=extra["values"][: len(kept)],
                    )
                self.items.append(item)
                self.sources.append(i)
        self.dropped = len(encoded) - len(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, list]:
        return self.items[index]


def build_dataset(
    examples: Sequence[LabeledSolution],
    tokenizer: Any,
    fmt: StepFormat,
    labels: str = "hard",
    objective: str = "prm",
    threshold: float | None = None,
    drop_after_error: bool = True,
    kind: LabelKind = "value",
    progress_threshold: float = 0.8,
    siblings: bool = False,
) -> StepDataset:
    """Encode labelled solutions with the step contract and attach their targets (and, with
    ``siblings``, what the collator needs to pair sibling steps: ``prmkit.train.pairs``)."""
    value_targets = objective == "prm" and kind == "value"
    correct = [None] * len(examples) if value_targets else final_correctness(examples)
    roots = {} if value_targets else root_values(examples, correct)
    encoded, targets = [], []
    for example in examples:
        check_targets(example, labels, objective, threshold, kind)
    for example, ok in zip(examples, correct):
        steps = list(example.solution.steps)
        if objective == "prm" and kind != "value":
            target = kind_targets(example, roots[example.problem.id], kind, labels, progress_threshold)
        else:
            target = step_targets(example, labels, objective, threshold, ok)
        if drop_after_error and example.labels is not None and objective == "prm":
            steps, target = drop_after_first_error(steps, target, example.labels.hard_targets(threshold))
        encoded.append(encode_steps(tokenizer, example.problem.question, steps, fmt))
        targets.append(target)
    return StepDataset(encoded, targets, [sibling_info(e) for e in examples] if siblings else None)


def sibling_info(example: LabeledSolution) -> dict[str, Any]:
    """The problem, prefix keys and MC values (soft labels, else hard ones) of a solution's steps."""
    labels = example.labels
    values = labels.soft if labels is not None and labels.soft is not None else None
    if values is None:
        values = labels.hard_targets() if labels is not None else []
    return {
        "problem": example.problem.id,
        "keys": prefix_keys(example.solution.steps),
        "values": list(values),
    }


def step_collator(
    pad_token_id: int, step_positions: bool = False
) -> Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]]:
    """Right-pad a batch and place each step's target at its step end (IGNORE elsewhere); items with
    sibling information also give ``pairs``: (better row, its step end, worse row, its step end).
    With ``step_positions`` the batch also carries ``step_index`` and ``step_start`` (batch, steps),
    for heads that read each step's own tokens."""

    def collate_fn(batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        encoded = [
            EncodedSteps(x["input_ids"], x["step_ends"], len(x["step_ends"]), x["step_starts"]) for x in batch
        ]
        out = collate(
            encoded, pad_token_id, step_labels=[x["targets"] for x in batch], ignore_index=int(IGNORE)
        )
        assert out.labels is not None
        inputs = {"input_ids": out.input_ids, "attention_mask": out.attention_mask, "labels": out.labels}
        if step_positions:
            inputs.update(step_index=out.step_index, step_start=out.step_start)
        if batch and "keys" in batch[0]:
            pairs = [
                (a, batch[a]["step_ends"][ka], b, batch[b]["step_ends"][kb])
                for a, ka, b, kb in sibling_pairs(batch)
            ]
            inputs["pairs"] = torch.tensor(pairs, dtype=torch.long).reshape(-1, 4)
        return inputs

    return collate_fn


def split_by_problem(
    examples: Sequence[LabeledSolution], fraction: float, seed: int
) -> tuple[list[LabeledSolution], list[LabeledSolution]]:
    """Hold out about ``fraction`` of the *problems* (all their solutions), so no problem is in both."""
    problem_ids = sorted({e.problem.id for e in examples})
    random.Random(seed).shuffle(problem_ids)
    held = set(problem_ids[: max(1, round(fraction * len(problem_ids)))]) if fraction > 0 else set()
    train = [e for e in examples if e.problem.id not in held]
    return train, [e for e in examples if e.problem.id in held]


def load_labelled(
    path: str,
    data_format: str = "jsonl",
    flag: str = "--data",
    check: Callable[[LabeledSolution], None] | None = None,
) -> list[LabeledSolution]:
    """Labelled solutions from a file in any ``prmkit.data.formats`` format, each passed to ``check``;
    an unlabelled record or a ``check`` error is refused naming the file, line and field."""
    from prmkit.data.formats import load_dataset_records
    from prmkit.errors import ConfigError

    if not path:
        raise ConfigError(f"no training data given: pass {flag} FILE")

    def labelled(record: Record) -> None:
        if not isinstance(record, LabeledSolution) or record.labels is None:
            raise DataError(f"not a labelled solution ({type(record).__name__} without step labels)")
        if check is not None:
            check(record)

    return load_dataset_records(data_format, path=path, check=labelled)  # type: ignore[return-value]
