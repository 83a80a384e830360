"""Test helper: a small labelled training file of one-step sums, every step right."""

from __future__ import annotations

from pathlib import Path

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
