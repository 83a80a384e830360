"""Reference solutions split into sentence steps, never inside math; answer text normalisation."""

from __future__ import annotations

import pytest

from prmkit.data.formats.text import number_text, split_reference, strip_dollars


@pytest.mark.parametrize(
    "text, steps",
    [
        # plain sentences, and a paragraph break
        ("First add. Then divide.\n\nSo done.", ["First add.", "Then divide.", "So done."]),
        # the period of 3.5 and the one inside $...$ are not sentence ends...
        ("We get $x = 3.5$ here. Next step.", ["We get $x = 3.5$ here.", "Next step."]),
        # ...but inline math that ends with a period ends the sentence (MATH style)
        ("So $r = 3.$  Also $s = 4.$", ["So $r = 3.$", "Also $s = 4.$"]),
        # display math followed by a capitalised word ends a step; a lowercase continuation does not
        ("Then\n\\[x = 1.\\]Hence ok \\[y\\]so fine.", ["Then\n\\[x = 1.\\]", "Hence ok \\[y\\]so fine."]),
        # environments and figures stay whole, even with blank lines inside
        (
            "[asy]\ndraw(A);\n\ndraw(B. C);\n[/asy]\n\nDone.",
            ["[asy]\ndraw(A);\n\ndraw(B. C);\n[/asy]", "Done."],
        ),
        ("So\n\\begin{align*}\na &= 1. B\n\\end{align*}", ["So\n\\begin{align*}\na &= 1. B\n\\end{align*}"]),
        # escaped dollars are text, abbreviations and closing brackets are handled
        (
            "It costs \\$5. Then e.g. Mr. Lee pays (all of it.) Fine.",
            ["It costs \\$5.", "Then e.g. Mr. Lee pays (all of it.)", "Fine."],
        ),
        ("  ", []),
    ],
)
def test_split_reference(text, steps):
    assert split_reference(text) == steps


@pytest.mark.parametrize(
    "value, text",
    [(27.0, "27"), (-1.0, "-1"), (0.5, "0.5"), ("025", "25"), ("1/2", "1/2"), (3, "3")],
)
def test_number_text(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize(
    "answer, text",
    [("$2n$", "2n"), ("2", "2"), ("$69$,$84$", "$69$,$84$"), (" $\\frac{1}{2}$ ", "\\frac{1}{2}")],
)
def test_strip_dollars(answer, text):
    assert strip_dollars(answer) == text
