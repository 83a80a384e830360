"""Child processes that never outlive prmkit: servers, grading workers and background stages.

A child calls ``die_with_parent`` first thing. On Linux it asks the kernel for SIGKILL when the thread
that started it exits (``prctl(PR_SET_PDEATHSIG)``), so even a ``kill -9`` of prmkit leaves nothing
running; elsewhere it does nothing and the child relies on its pipes closing.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int | None = None) -> None:
    """Get SIGKILL when the parent exits; with ``parent_pid``, exit at once if it already has."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before prctl
        sys.exit(1)


def python_child(code: str) -> list[str]:
    """The command line of a fresh interpreter that sees this one's ``sys.path``, dies with this
    process, and then runs ``code``. Unlike multiprocessing's spawn, it does not re-import the
    caller's ``__main__``, so scripts without a ``__main__`` guard work."""
    boot = (
        "import json, sys\n"
        f"sys.path[:] = json.loads({json.dumps(json.dumps(sys.path))})\n"
        "from prmkit.processes import die_with_parent\n"
        f"die_with_parent({os.getpid()})\n"
        "from prmkit.console import inherit_console_policy\n"
        "inherit_console_policy()\n"
    )
    return [sys.executable, "-c", boot + code]
