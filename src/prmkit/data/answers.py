"""Final-answer extraction from solution text.

``extract_answer`` looks for three forms and takes the first form that is present, in this order:

1. the last ``\\boxed{...}`` (also ``\\fbox{...}`` and ``\\boxed 5``): the most explicit marker, and what
   prompts usually ask for;
2. the last GSM8K line ``#### 2,125`` (thousands separators and ``$`` removed): a machine-format marker;
3. the last "The answer is ...", "Final answer: ..." or "Answer: ..." phrase (surrounding ``$...$``,
   ``\\(...\\)`` and a trailing period removed): natural language, so the weakest signal.

Every scan is a single linear pass (no backtracking regexes), so 100 kB inputs stay cheap.
"""

from __future__ import annotations

import re

_BRACE_TOKEN = re.compile(r"(?P<box>\\(?:boxed|fbox)\s*\{)|\\[{}]|(?P<open>\{)|(?P<close>\})")
_BOX_SPACE = re.compile(r"\\boxed[ \t]+(?=[^\s{])([^$\n]*)")
_GSM8K = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_IS = re.compile(r"\b(?:the\s+(?:final\s+)?answer\s+is|(?:final\s+)?answer\s*:)[ \t:]*", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces allowed; escaped ``\\{``
    ``\\}`` are content, not structure) or ``\\boxed 5`` in ``text``, or None."""
    stack: list[int] = []  # per open brace: start of the box content, or -1 for a plain brace
    best_start, best = -1, None
    for m in _BRACE_TOKEN.finditer(text):
        if m.group("box") is not None:
            stack.append(m.end())
        elif m.group("open") is not None:
            stack.append(-1)
        elif m.group("close") is not None and stack:
            start = stack.pop()
            if start > best_start:
                best_start, best = start, text[start : m.start()].strip()
    spaced = None
    for spaced in _BOX_SPACE.finditer(text):
        pass
    if spaced is not None and spaced.start() > best_start:
        return _strip_period(spaced.group(1))
    return best


def extract_answer(text: str) -> str | None:
    """The final answer in ``text`` (boxed > ``####`` > "the answer is"; see the module doc), or None."""
    boxed = last_boxed(text)
    if boxed:
        return boxed
    gsm8k = _last(_GSM8K, text)
    if gsm8k is not None:
        answer = _THOUSANDS.sub("", _strip_period(gsm8k.group(1).replace("$", "")))
        if answer:
            return answer
    phrase = _last(_ANSWER_IS, text)
    if phrase is not None:
        return _answer_after(text[phrase.end() :]) or None
    return None


def strip_math_delimiters(answer: str) -> str:
    """Drop one pair of surrounding ``$...$``, ``$$...$$``, ``\\(...\\)`` or ``\\[...\\]``."""
    answer = answer.strip()
    for left, right in _DELIMITERS:
        if len(answer) > len(left) + len(right) - 1 and answer.startswith(left) and answer.endswith(right):
            return answer[len(left) : len(answer) - len(right)].strip()
    return answer


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    match = None
    for match in pattern.finditer(text):
        pass
    return match


def _strip_period(answer: str) -> str:
    return answer.strip().rstrip(".").strip()


def _answer_after(tail: str) -> str:
    """The answer that starts ``tail``: a delimited math span, else the rest of the sentence."""
    tail = tail.lstrip().removeprefix("**").lstrip()
    for left, right in _DELIMITERS:
        if tail.startswith(left):
            end = tail.find(right, len(left))
            if end != -1:
                return tail[len(left) : end].strip()
            break
    line = tail.split("\n", 1)[0]
    end = _SENTENCE_END.search(line)
    if end is not None:
        line = line[: end.start()]
    return strip_math_delimiters(_strip_period(line.replace("**", "")))
