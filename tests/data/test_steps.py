"""Step splitting styles and their inverse."""

from __future__ import annotations

import pytest

from prmkit.data.steps import join_steps, split_steps


@pytest.mark.parametrize(
    "text, style, expected",
    [
        ("a\n\nb\n \nc", "paragraph", ["a", "b", "c"]),  # a line with only a space counts as blank
        ("a\nstill a\n\n\n\nb", "paragraph", ["a\nstill a", "b"]),  # single newlines stay inside a step
        ("Let's go.\nStep 1: x\nmore\nStep 2: y", "step", ["Let's go.\nStep 1: x\nmore", "Step 2: y"]),
        ("## Step 1: x\n## Step 2. y", "step", ["## Step 1: x", "## Step 2. y"]),  # markdown headings
        ("no markers here", "step", ["no markers here"]),
        ("a\n\n b \nc", "newline", ["a", "b", "c"]),
        ("", "paragraph", []),
    ],
)
def test_split_styles(text, style, expected):
    assert split_steps(text, style) == expected


@pytest.mark.parametrize("style", ["paragraph", "newline"])
def test_join_inverts_split(style):
    steps = ["Step 1: 2 + 2 = 4", "Step 2: 4 * 3 = 12", "The answer is \\boxed{12}."]
    assert split_steps(join_steps(steps, style), style) == steps


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown step style"):
        split_steps("x", "sentences")  # type: ignore[arg-type]
