"""Where prmkit finds the offline benchmark data (``../shared/data`` beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

from prmkit.errors import PrmkitError

ENV_VAR = "PRMKIT_DATA_DIR"


def shared_data_dir() -> Path:
    """The offline data folder: ``$PRMKIT_DATA_DIR``, else the first ``shared/data`` found beside the
    current directory or the source checkout (searching upwards)."""
    if os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
        if not path.is_dir():
            raise PrmkitError(f"${ENV_VAR} points to {path}, which is not a directory")
        return path
    for start in (Path.cwd(), Path(__file__).resolve()):
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "data"
            if candidate.is_dir():
                return candidate
    raise PrmkitError(f"cannot find the offline data folder shared/data; set ${ENV_VAR}")
