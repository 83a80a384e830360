"""A cheap content fingerprint of a model's weights, so that a model retrained into the same folder
(or served anew behind the same URL) is told apart from the one a stored result came from."""

from __future__ import annotations

import hashlib
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
_CHUNK = 1 << 20


def weights_fingerprint(path: str) -> str | None:
    """A cheap content fingerprint of a local model: the name and size of each weight file and its
    first and last MiB (safetensors keep their header first, and a head such as ``score.*`` sorts
    last), so retraining into the same folder changes it; None unless ``path`` exists locally."""
    where = Path(path) if path else None
    if where is None or not where.exists():
        return None
    files = [where] if where.is_file() else sorted(f for f in where.iterdir() if f.suffix in WEIGHT_SUFFIXES)
    digest = hashlib.sha256()
    for file in files:
        size = file.stat().st_size
        digest.update(f"{file.name}:{size};".encode())
        with file.open("rb") as fh:
            digest.update(fh.read(_CHUNK))
            if size > 2 * _CHUNK:
                fh.seek(-_CHUNK, 2)
                digest.update(fh.read(_CHUNK))
    return digest.hexdigest()[:16]
