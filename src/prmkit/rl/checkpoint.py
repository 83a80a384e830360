"""Atomic, resumable training checkpoints and the step log that must agree with them.

A checkpoint is one file, ``checkpoint.pt``: model and extra-module weights, optimizer and schedule
state, random-number states and the step it was taken after. It is written to a temporary file,
fsynced and renamed over the old one, so a kill -9 at any moment leaves either the old or the new
checkpoint, never a torn one. On resume the step log is cut back to that step, so the steps run again
after the kill are logged once: no duplicates, no gaps.
"""

from __future__ import annotations

import json
import os
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from prmkit.config import refuse_changed_settings
from prmkit.data.jsonl import write_jsonl
from prmkit.errors import PrmkitError
from prmkit.rl.config import RESUMABLE_FIELDS

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainState:
    """Everything that moves during training."""

    model: torch.nn.Module
    extra: dict[str, torch.nn.Module]  # e.g. {"value_head": ...}
    optimizer: torch.optim.Optimizer
    scheduler: Any


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: Path, step: int, state: TrainState) -> Path:
    """Write ``folder/checkpoint.pt`` atomically (temp file, fsync, rename)."""
    path = folder / CHECKPOINT
    tmp = path.with_name(path.name + ".tmp")
    payload = {
        "step": step,
        "model": state.model.state_dict(),
        "extra": {name: module.state_dict() for name, module in state.extra.items()},
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "rng": rng_state(),
    }
    with tmp.open("wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(folder: Path, state: TrainState) -> int:
    """Restore ``state`` from ``folder/checkpoint.pt``; return its step (0 when there is none)."""
    path = folder / CHECKPOINT
    if not path.is_file():
        return 0
    try:  # tensors and plain data only: a checkpoint never runs code when it is read
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise PrmkitError(
            f"{path}: not a prmkit checkpoint: it holds objects other than tensors and plain data ({first}); "
            "prmkit never unpickles code. Delete it to start over"
        ) from None
    state.model.load_state_dict(payload["model"])
    for name, module in state.extra.items():
        module.load_state_dict(payload["extra"][name])
    state.optimizer.load_state_dict(payload["optimizer"])
    state.scheduler.load_state_dict(payload["scheduler"])
    set_rng_state(payload["rng"])
    return int(payload["step"])


def trim_log(path: Path, step: int) -> list[dict[str, Any]]:
    """Keep the log records of steps ``<= step`` (rewritten atomically, a torn last line dropped)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data[: data.rfind(b"\n") + 1].splitlines()
    kept = [r for r in (json.loads(line) for line in lines if line.strip()) if int(r["step"]) <= step]
    write_jsonl(path, kept)
    return kept


def check_same_run(path: Path, cfg: Any) -> None:
    """Refuse to resume from a folder whose saved config differs (other than ``RESUMABLE_FIELDS``)."""
    refuse_changed_settings(cfg, path, RESUMABLE_FIELDS, "use another --output-dir, or --no-resume to start over there")
