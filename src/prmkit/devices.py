"""Where and in what precision models run: one reading of ``device`` and ``dtype`` settings for
generation, scoring, training and RL."""

from __future__ import annotations

import torch

from prmkit.errors import ConfigError


def resolve_device(device: str) -> torch.device:
    """``auto`` means cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"device {device!r}: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: torch sees no CUDA device here; use --device cpu (or auto)")
    return resolved


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` means float32 on cpu and bfloat16 on cuda."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)
