"""Splitting solution text into steps and joining steps back into text."""

from __future__ import annotations

import itertools
import re
from typing import Literal

StepStyle = Literal["paragraph", "step", "newline"]
STEP_STYLES: tuple[str, ...] = ("paragraph", "step", "newline")

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_STEP_MARKER = re.compile(r"(?mi)^[ \t]*(?:#+[ \t]*)?Step[ \t]+\d+[ \t]*[:.)]")


def split_steps(text: str, style: StepStyle = "paragraph") -> list[str]:
    """Split a solution into non-empty, stripped steps.

    - ``paragraph`` (default): steps are separated by a blank line (``\\n\\n``), as in ProcessBench and
      the Qwen PRMs.
    - ``step``: each step starts with a ``Step k:`` marker, which stays part of the step; any text
      before the first marker joins the first step.
    - ``newline``: every non-blank line is a step.
    """
    if style == "paragraph":
        parts = _BLANK_LINE.split(text)
    elif style == "newline":
        parts = text.split("\n")
    elif style == "step":
        starts = [m.start() for m in _STEP_MARKER.finditer(text)]
        if not starts:
            parts = [text]
        else:
            bounds = [0, *starts[1:], len(text)]
            parts = [text[a:b] for a, b in itertools.pairwise(bounds)]
    else:
        raise ValueError(f"unknown step style {style!r}; use one of {', '.join(STEP_STYLES)}")
    return [p.strip() for p in parts if p.strip()]


def step_separator(style: StepStyle = "paragraph") -> str:
    """The text between two steps of a solution written in ``style`` (what a step-by-step search stops at)."""
    return "\n\n" if style == "paragraph" else "\n"


def join_steps(steps: list[str], style: StepStyle = "paragraph") -> str:
    """Render steps as text that ``split_steps`` with the same style splits back into ``steps``."""
    return step_separator(style).join(steps)
