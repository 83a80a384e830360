"""The command line's console policy: prmkit's own warnings in one line, nothing from other libraries."""

from __future__ import annotations

import os
import subprocess
import sys

import prmkit

SCRIPT = f"""
import warnings
from prmkit.console import quiet_console
quiet_console()
warnings.warn_explicit("own note", UserWarning, {prmkit.__file__!r}, 1)
warnings.warn_explicit("own deprecation", DeprecationWarning, {prmkit.__file__!r}, 2)
warnings.warn_explicit("foreign note", UserWarning, "/site-packages/transformers/x.py", 3)
warnings.warn_explicit("foreign deprecation", FutureWarning, "/site-packages/transformers/x.py", 4)
from tqdm.auto import tqdm
list(tqdm(range(3), desc="a third-party bar"))
from prmkit.processes import python_child
import subprocess
child = 'import warnings; warnings.warn_explicit("child foreign", UserWarning, "/elsewhere/y.py", 5)'
subprocess.run(python_child(child), check=True)
"""


def run(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PRMKIT_QUIET_CONSOLE", "TQDM_DISABLE")}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env={**env, **env_extra}, check=True
    )
    return proc.stderr


def test_only_prmkit_own_warnings_reach_the_console_in_one_line():
    err = run({})
    assert err.strip().splitlines() == ["warning: own note"]  # no other warning, no tqdm bar


def test_pythonwarnings_turns_the_policy_off():
    err = run({"PYTHONWARNINGS": "always"})
    for message in ("own note", "own deprecation", "foreign note", "foreign deprecation", "child foreign"):
        assert message in err
