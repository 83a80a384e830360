"""The optimizer and learning-rate schedule of the RL trainers."""

from __future__ import annotations

import functools
import math

import torch

from prmkit.rl.config import RLConfig


def make_optimizer(params: list[torch.nn.Parameter], cfg: RLConfig) -> torch.optim.AdamW:
    """AdamW with the fused kernel where the device has one (as transformers' Trainer picks)."""
    try:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(cfg: RLConfig, update: int) -> float:
    """The learning-rate multiplier before optimizer update ``update`` (0-based): linear warm-up, then
    constant or cosine decay to 0 at the last update."""
    if update < cfg.warmup_steps:
        return (update + 1) / (cfg.warmup_steps + 1)
    if cfg.lr_schedule == "constant":
        return 1.0
    total = cfg.steps * cfg.updates_per_step
    progress = (update - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: RLConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(lr_factor, cfg))
