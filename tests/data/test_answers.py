"""extract_answer / last_boxed: one row per case, with the reason in a comment."""

from __future__ import annotations

import time

import pytest

from prmkit.grading import extract_answer, last_boxed

EXTRACT_CASES = [
    # -- boxed --
    ("so $\\boxed{5}$.", "5"),  # plain box
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
    ("\\boxed{\\frac{\\sqrt{3}}{2^{x+1}}}", "\\frac{\\sqrt{3}}{2^{x+1}}"),  # deeper nesting
    ("first \\boxed{3}, then \\boxed{4}", "4"),  # several boxes: the last one
    ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),  # escaped braces are content
    ("\\boxed{\\left\\{ x \\right.}", "\\left\\{ x \\right."),  # an unbalanced escaped brace is fine
    ("\\fbox{7}", "7"),  # \fbox
    ("\\boxed {8}", "8"),  # space before the brace
    ("$\\boxed 9$", "9"),  # \boxed without braces, up to the $
    ("\\boxed{1} ... \\boxed{2", "1"),  # an unclosed last box is skipped
    ("\\boxed{} The answer is 6.", "6"),  # an empty box counts as nothing found
    ("#### 3\nThe answer is \\boxed{12}", "12"),  # boxed beats the other forms
    # -- GSM8K --
    ("She pays 2,125 + 0 = <<2125>>2,125\n#### 2,125", "2125"),  # thousands separator dropped
    ("#### 1,234,567.5", "1234567.5"),  # several separators, decimals kept
    ("#### $12.", "12"),  # dollar sign and period stripped
    ("The answer is 3\n#### 4", "4"),  # #### beats "the answer is"
    ("#### 3, 4", "3, 4"),  # a comma that is no thousands separator stays
    # -- "The answer is" --
    ("The answer is $\\frac{3}{4}$.", "\\frac{3}{4}"),  # $...$ and period stripped
    ("so the answer is 3.5.", "3.5"),  # a decimal point survives, the final period does not
    ("The answer is 5. Let me check: the answer is 7. Done", "7"),  # last occurrence
    ("The final answer is \\(x^2\\)", "x^2"),  # \(...\) stripped
    ("The answer is: **42**", "42"),  # colon and markdown bold stripped
    ("Final Answer: The final answer is $-2$. I hope it is correct.", "-2"),  # Minerva format
    ("Start 7. *6 -8\nAnswer: 39", "39"),  # "Answer:" (prmkit's synthetic world)
    ("The answer is 10 cm\nmore text", "10 cm"),  # stops at the line end
    # -- nothing --
    ("I do not know.", None),  # no marker
    ("", None),  # empty text
    ("The answer is", None),  # marker without an answer
    ("#### ", None),  # empty GSM8K line
]


@pytest.mark.parametrize(("text", "expected"), EXTRACT_CASES)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_last_boxed_deep_nesting_and_none() -> None:
    inner = "{" * 1000 + "1" + "}" * 1000
    assert last_boxed(f"\\boxed{{{inner}}}") == inner
    assert last_boxed("no box here") is None


@pytest.mark.parametrize(
    "text",
    [
        "\\boxed{" * 15_000,  # 100 kB of unclosed boxes: quadratic rescanning would take minutes
        "the answer is " * 8_000,  # 100 kB of markers
        "{" * 100_000,
    ],
)
def test_extraction_is_linear_on_100kb(text: str) -> None:
    start = time.perf_counter()
    extract_answer(text)
    assert time.perf_counter() - start < 1.0
