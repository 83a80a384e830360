"""Where and in what precision models run: one reading of ``device`` and ``dtype`` settings for
generation, scoring, training and RL.

Precisions are spelled as torch dtypes everywhere (``float32``, ``bfloat16``, ``float16``); the old
``fp32``/``bf16``/``fp16`` of the ``precision`` settings still work for one release (``normalize_precision``).
Torch is imported where it is used, so configs can check their settings without loading it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prmkit.config import RenamedSetting
from prmkit.errors import ConfigError

if TYPE_CHECKING:
    import torch

# The old spellings of the precision settings -> the torch dtype names that replaced them.
OLD_PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def normalize_precision(value: str, allowed: Iterable[str], name: str = "precision") -> str:
    """The setting ``name`` = ``value`` in the torch vocabulary: an old spelling (``bf16``) becomes its
    dtype name (``bfloat16``) with a ``RenamedSetting`` warning; anything outside ``allowed`` is refused."""
    choices = tuple(allowed)
    if value in OLD_PRECISIONS:
        new = OLD_PRECISIONS[value]
        warnings.warn(
            f"{name} {value!r} is now {new!r}; the old name works until the next release", RenamedSetting, stacklevel=3
        )
        value = new
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def resolve_device(device: str) -> torch.device:
    """``auto`` means cuda when available, else cpu."""
    import torch

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
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)
