"""Test helpers: a small labelled training file of one-step sums (every step right), and a real tmpfs."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from prmkit.data.jsonl import write_jsonl


def write_sums(path: Path, n: int) -> Path:
    """``n`` labelled solutions (`i + 1 = i+1`, then the boxed answer) in prmkit's JSONL, at ``path``."""
    write_jsonl(path, [
        {"problem": {"id": f"p{i}", "question": f"{i} + 1?", "answer": str(i + 1)},
         "solution": {"id": f"s{i}", "problem_id": f"p{i}", "steps": [f"{i} + 1 = {i + 1}", f"\\boxed{{{i + 1}}}"]},
         "labels": {"solution_id": f"s{i}", "num_steps": 2, "first_error": -1, "hard": [1, 1], "source": "mc"}}
        for i in range(n)
    ])  # fmt: skip
    return path


@contextlib.contextmanager
def tmpfs(mount: Path, options: str) -> Iterator[Path]:
    """A real tmpfs mounted at ``mount`` with ``options`` (``size=64k``, ``ro,...``) for the block;
    the test is skipped where this process may not mount one."""
    mount.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
