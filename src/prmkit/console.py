"""What a terminal user sees: prmkit's own messages, not third-party warnings or progress bars.

The library itself emits warnings through ``warnings`` and ``logging`` as usual. The ``prmkit`` command
(and the child processes it starts) call ``quiet_console``: prmkit's own warnings print as one line,
``warning: ...``; deprecations (the test suite turns those into errors) and other libraries' warnings
are dropped, and so are all tqdm bars (the hub's, transformers', datasets'), since prmkit draws its own
progress with rich. ``python -W ...`` or
``PYTHONWARNINGS`` turn the policy off, so every warning shows again.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import TextIO

QUIET_ENV = "PRMKIT_QUIET_CONSOLE"
PACKAGE_DIR = str(Path(__file__).resolve().parent)


def _show_own_warnings(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    if issubclass(category, (DeprecationWarning, FutureWarning)):
        return
    if str(Path(filename).resolve()).startswith(PACKAGE_DIR):
        print(f"warning: {message}", file=file or sys.stderr)


def quiet_console() -> None:
    """Show only prmkit's own warnings, as one line each; silence third-party progress bars and notes.

    Environment variables carry the policy to child processes and to libraries imported later."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # every tqdm bar, e.g. transformers' GGUF conversion
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if sys.warnoptions:  # the user asked for warnings explicitly
        return
    os.environ[QUIET_ENV] = "1"
    warnings.showwarning = _show_own_warnings


def inherit_console_policy() -> None:
    """In a child process: apply ``quiet_console`` when the parent did."""
    if os.environ.get(QUIET_ENV) == "1":
        quiet_console()
