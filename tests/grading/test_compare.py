"""grade(): equivalence rows in the Math-Verify style, ``(gold, prediction, expected)`` with a reason."""

from __future__ import annotations

import threading

import pytest

from prmkit.grading import grade, grade_status, readable_gold

EQUIVALENCE_CASES = [
    # -- fractions and decimals --
    ("\\frac{1}{2}", "0.5", True),  # fraction vs decimal
    ("0.5", "\\frac{1}{2}", True),  # decimal gold, fraction prediction
    ("\\dfrac{3}{4}", "\\frac34", True),  # \dfrac and brace-less \frac
    ("\\tfrac{3}{4}", "0.75", True),  # \tfrac
    ("1/3", "\\frac{1}{3}", True),  # slash fraction
    ("\\frac{1}{3}", "0.3333333", True),  # close enough at math-verify's 6-digit rounding
    ("\\frac{1}{3}", "0.333", False),  # too coarse
    ("1.5", "\\frac{3}{2}", True),  # improper fraction
    ("6", "6.0", True),  # trailing zero
    ("6", "5.99", False),  # near miss
    ("7", "\\frac{7}{1}", True),  # trivial fraction
    # -- thousands separators --
    ("2125", "2,125", True),  # separator in the prediction
    ("2,125", "2125", True),  # separator in the gold (GSM8K style)
    ("1000000", "1,000,000", True),  # several separators
    # -- units, currency, text --
    ("10", "10 \\text{ cm}", True),  # \text unit dropped
    ("10 \\text{ cm}", "10", True),  # unit in the gold
    ("10", "10 cm", True),  # bare unit
    ("18", "18 dollars", True),  # a number followed by words is the number
    ("1000", "1,000 dollars", True),  # ... also with a separator
    ("5", "\\$5", True),  # escaped dollar sign
    ("\\$5.00", "5", True),  # currency in the gold
    ("90^\\circ", "90", True),  # degrees
    ("864 \\mbox{ inches}^2", "864", True),  # \mbox unit (a MATH-500 gold)
    ("\\text{(C)}", "C", True),  # multiple-choice letter
    ("\\text{Evelyn}", "Evelyn", True),  # text answer
    ("\\text{Evelyn}", "Devon", False),  # different text answer
    # -- percentages: math-verify accepts both readings --
    ("5\\%", "5", True),  # percent sign dropped
    ("5\\%", "0.05", True),  # ... or read as a fraction
    ("0.5", "50\\%", True),  # percent prediction of a fractional gold
    # -- sets and intervals --
    ("\\{1,2\\}", "\\{2,1\\}", True),  # sets ignore order
    ("\\{1,2\\}", "\\{1,3\\}", False),  # different element
    ("\\{1,2\\}", "\\{1,2,3\\}", False),  # extra element
    ("1,2", "2,1", True),  # bare comma lists are sets
    ("(1,2)", "(2,1)", False),  # ... but a tuple/interval is ordered
    ("(1,2]", "(1, 2]", True),  # interval, spacing
    ("(1,2]", "(1,2)", False),  # open vs half-open
    ("(-\\infty,3)\\cup(4,\\infty)", "(4,\\infty)\\cup(-\\infty,3)", True),  # union order
    # -- negatives --
    ("-3", "-3", True),  # same negative
    ("-3", "3", False),  # sign matters
    ("3", "-3", False),  # ... both ways
    ("-\\frac{1}{2}", "-0.5", True),  # negative fraction vs decimal
    # -- expressions --
    ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", True),  # radical forms
    ("2\\sqrt{2}", "\\sqrt{8}", True),  # simplified radical
    ("x^2+2x+1", "(x+1)^2", True),  # symbolic equality
    ("3+4i", "4i+3", True),  # complex numbers
    ("\\pi", "3.14", False),  # pi is not 3.14
    ("x=3", "3", True),  # assignment in the gold
    ("3", "x=3", True),  # assignment in the prediction
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True),  # matrix
    # -- asymmetry (gold first) --
    ("1 < x < 2", "(1,2)", True),  # gold inequality accepts an interval
    ("(1,2)", "1 < x < 2", False),  # gold interval refuses an inequality
    # -- whole texts on either side --
    ("42", "$42$", True),  # math delimiters
    ("42", "The answer is 42.", True),  # phrase extracted
    ("5", "\\boxed{4} no wait, \\boxed{5}", True),  # last box, not math-verify's first
    ("Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 72", "72", True),  # GSM8K gold solution
    # -- clearly wrong --
    ("7", "8", False),  # off by one
    ("2", "two", False),  # words are not numbers
    ("\\frac{1}{2}", "\\frac{1}{3}", False),  # different fractions
    ("1e3", "1000", False),  # scientific notation is not parsed
]


@pytest.mark.parametrize(("gold", "prediction", "expected"), EQUIVALENCE_CASES)
def test_grade_equivalence(gold: str, prediction: str, expected: bool) -> None:
    assert grade(prediction, gold) is expected


BAD_INPUT_CASES = [
    ("4", None, "wrong"),  # no prediction
    ("4", "", "wrong"),  # blank prediction
    ("4", 4, "wrong"),  # not a string
    (None, "4", "error"),  # no gold to grade against
    ("  ", "4", "error"),  # blank gold
    ("\\frac{1}{0}", "1", "wrong"),  # gold math-verify cannot evaluate
    ("1", "}}}{{", "wrong"),  # garbage prediction
    ("\\frac{1}{", "1", "error"),  # a gold math-verify reads no expression in: ungradable, not wrong
    ("?", "?", "error"),
]


def test_a_gold_is_readable_when_math_verify_reads_an_expression_in_it() -> None:
    assert not readable_gold("\\frac{1}{") and not readable_gold("?") and not readable_gold("")
    assert readable_gold("\\frac{1}{2}") and readable_gold("(1, 2)") and readable_gold("\\text{Evelyn}")
    assert readable_gold("twelve") and grade("twelve", "twelve") and not grade("12", "twelve")  # a word: itself only


@pytest.mark.parametrize(("gold", "prediction", "status"), BAD_INPUT_CASES)
def test_bad_input_never_raises(gold: object, prediction: object, status: str) -> None:
    assert grade_status(prediction, gold) == status  # type: ignore[arg-type]
    assert grade(prediction, gold) is False  # type: ignore[arg-type]


def test_grade_in_a_non_main_thread() -> None:
    """math-verify raises ValueError with signal timeouts outside the main thread; grade must not."""
    results: list[object] = []

    def work() -> None:
        try:
            results.extend([grade("0.5", "\\frac{1}{2}"), grade("0.4", "\\frac{1}{2}")])
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    assert results == [True, False]
