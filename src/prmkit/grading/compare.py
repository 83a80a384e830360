"""Equivalence of two final answers with math-verify: ``grade`` (bool) and ``grade_status``.

Both sides may be bare answers (``"\\frac{1}{2}"``) or whole solution texts: ``extract_answer`` runs
first and, when it finds no marker, the string is used as it is. The answer is then wrapped as
``\\boxed{...}`` for math-verify, whose extraction takes the *first* box it sees. Unescaped ``$`` are
dropped, and a number followed only by words (``18 dollars``) becomes the number; math-verify itself
drops ``\\text{...}`` units, ``\\$``, degrees and thousands separators, and reads ``5\\%`` as equal to
both ``5`` and ``0.05``.

math-verify is not symmetric, and neither is ``grade``: pass the reference as ``gold``. For example a
gold inequality ``1 < x < 2`` accepts the predicted interval ``(1, 2)``, but a gold interval ``(1, 2)``
does not accept the predicted inequality; a prediction ``x = 5`` matches gold ``5`` either way.
"""

from __future__ import annotations

import re
import threading
from typing import Literal

from prmkit.data.answers import extract_answer, strip_math_delimiters

Status = Literal["correct", "wrong", "timeout", "error"]

_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
# "18 dollars", "\$5 each": a number followed only by words (not "pi") is the number
_NUMBER_THEN_WORDS = re.compile(r"^\s*(-?(?:\\?\$)?\d[\d,]*(?:\.\d+)?)\s+(?!pi\b)[A-Za-z]{2}[A-Za-z\s'.-]*$")


def as_answer(text: str) -> str:
    """The extracted final answer of ``text``, or ``text`` itself (stripped) when it has no marker."""
    return extract_answer(text) or strip_math_delimiters(text)


def trivial_status(prediction: object, gold: object) -> Status | None:
    """The status of a pair that needs no math-verify call, else None.

    A missing or blank gold is an ``error`` (nothing to grade against); a missing or blank prediction is
    ``wrong`` (the solution gave no answer).
    """
    if not isinstance(gold, str) or not gold.strip():
        return "error"
    if not isinstance(prediction, str) or not prediction.strip():
        return "wrong"
    return None


def grade_status(prediction: str | None, gold: str | None, timeout: int | None = None) -> Status:
    """``correct``, ``wrong`` or ``error`` for one pair; never raises. ``error``: the gold cannot be
    graded against (see ``readable_gold``) or math-verify raised.

    ``timeout`` is math-verify's own per-call limit, which uses ``signal.alarm`` and so works only in
    the main thread; None disables it (the caller then owns the deadline, as ``grade_batch`` does).
    A math-verify timeout reads as ``wrong`` (math-verify does not report it).
    """
    trivial = trivial_status(prediction, gold)
    if trivial is not None:
        return trivial
    from math_verify import parse, verify

    try:
        gold_parsed = _parsed_gold(gold, timeout)  # type: ignore[arg-type]
        if gold_parsed is None:
            return "error"
        pred_parsed = parse(_boxed(prediction), parsing_timeout=timeout)  # type: ignore[arg-type]
        return "correct" if verify(gold_parsed, pred_parsed, timeout_seconds=timeout) else "wrong"
    except Exception:  # noqa: BLE001 - any math-verify failure is this pair's "error", never the caller's
        return "error"


def readable_gold(gold: str, timeout: int | None = 5) -> bool:
    """Whether math-verify reads an expression in ``gold``. A malformed or non-mathematical gold
    (``\\frac{1}{``, ``?``) parses to its raw text alone, and every answer graded against it would
    read as wrong; ``grade_status`` calls such pairs ``error``. (A word such as ``twelve`` parses, as a
    product of letters, and matches only itself.)"""
    if threading.current_thread() is not threading.main_thread():
        timeout = None
    try:
        return _parsed_gold(gold, timeout) is not None
    except Exception:  # noqa: BLE001 - a gold math-verify cannot parse is unreadable
        return False


def _parsed_gold(gold: str, timeout: int | None) -> list | None:
    """math-verify's parse of ``gold``, or None when it holds only the raw text (no expression to
    compare an answer with)."""
    from math_verify import parse

    parsed = parse(_boxed(gold), parsing_timeout=timeout)
    return parsed if len(parsed) >= 2 else None


def grade(prediction: str | None, gold: str | None, timeout: int | None = 5) -> bool:
    """True when ``prediction`` is mathematically equivalent to ``gold`` (gold is the reference).

    Works in any thread. In the main thread math-verify's signal-based ``timeout`` (seconds per parse
    and per comparison) applies; in other threads it cannot, so it is switched off and a pathological
    input can hang the thread: use ``grade_batch``, which enforces hard deadlines in worker processes.
    Bad input (None, non-strings, unparsable text) gives False, never an exception.
    """
    if threading.current_thread() is not threading.main_thread():
        timeout = None
    return grade_status(prediction, gold, timeout) == "correct"


def _boxed(text: str) -> str:
    answer = as_answer(text)
    number = _NUMBER_THEN_WORDS.match(answer)
    if number is not None:
        answer = number.group(1)
    return "\\boxed{" + _UNESCAPED_DOLLAR.sub("", answer) + "}"
