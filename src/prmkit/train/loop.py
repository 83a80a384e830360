"""The plain training loop shared by the from-scratch models (the tiny policy and the synthetic critic).

AdamW with linear warm-up and cosine decay, gradient clipping at 1.0, one fresh batch per step, a
progress bar with the running loss. PRM training uses the transformers Trainer instead (checkpoints,
evaluation during training); these models train in a few minutes and need neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import torch

from prmkit.progress import progress_bar


class OptimConfig(Protocol):
    """The optimisation fields a from-scratch model reads from its training config."""

    steps: int
    lr: float
    warmup_steps: int
    weight_decay: float


@dataclass
class LoopResult:
    losses: list[float]  # training loss of every step
    seconds: float
    cpu_seconds: float  # differs from seconds when other processes share the cores


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Use ``threads`` torch CPU threads inside the block (0: leave torch's setting)."""
    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_causal_lm(
    model: torch.nn.Module,
    optim: OptimConfig,
    make_batch: Callable[[int], dict[str, torch.Tensor]],
    description: str,
    progress: bool = True,
) -> LoopResult:
    """Train ``model`` for ``optim.steps`` steps on ``make_batch(step)`` (tensors already on the model's device).

    Each batch carries ``labels``, so the model computes its own loss. Leaves the model in eval mode.
    """
    from transformers import get_cosine_schedule_with_warmup

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    schedule = get_cosine_schedule_with_warmup(optimizer, optim.warmup_steps, optim.steps)
    losses: list[float] = []
    start, start_cpu = time.perf_counter(), time.process_time()
    with progress_bar(description, optim.steps, progress) as advance:
        for step in range(optim.steps):
            loss = model(**make_batch(step), use_cache=False).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            recent = losses[-10:]
            advance(f"loss {sum(recent) / len(recent):.3f}")
    model.eval()
    return LoopResult(losses, time.perf_counter() - start, time.process_time() - start_cpu)
